"""Face verification on shared/testdata/identities: accuracy over every same / different pair.

    python benchmarks/verification.py [--backend dlib] [--readme /tmp/readme_faces_scan.md]

Every photo's largest face is detected, aligned and embedded. Identity = folder name, except
``meds_distractors`` where each photo is its own person. Every pair of photos is a trial: "same"
if the cosine similarity of the normalised embeddings reaches the threshold. Printed: accuracy
(all pairs), balanced accuracy (mean of the same-pair and different-pair rates, comparable with
LFW's 50/50 protocol), and for dlib also dlib's published rule (Euclidean distance < 0.6 on the
raw descriptors). dlib's own LFW figure for this model is 99.38 %.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def shared_identities() -> Path:
    import os

    env = os.environ.get("LENGTHEN_SHARED")
    root = Path(env) / "testdata" if env else REPO.parent / "shared" / "testdata"
    return root / "identities"


def embed_folder(root: Path, backend) -> tuple[list[str], list[str], np.ndarray, np.ndarray | None]:
    """(files, identity labels, normalised embeddings (N, D), raw dlib descriptors or None)."""
    from PIL import Image

    files, labels, chips = [], [], []
    for path in sorted(root.glob("*/*.jpg")):
        image = np.asarray(Image.open(path).convert("RGB"))
        dets = backend.detect(image)
        if not dets:
            print(f"  no face found in {path.name}", file=sys.stderr)
            continue
        best = max(dets, key=lambda d: d.width * d.height)
        chips.append(backend.align(image, [best])[0])
        files.append(path.name)
        folder = path.parent.name
        labels.append(path.name.split("-")[0] if folder == "meds_distractors" else folder)
    chips = np.stack(chips)  # n s s 3
    emb = backend.embed(chips)
    raw = backend.descriptors(chips) if hasattr(backend, "descriptors") else None
    return files, labels, emb, raw


def pair_scores(labels: list[str], emb: np.ndarray, raw: np.ndarray | None):
    pairs = list(itertools.combinations(range(len(labels)), 2))
    same = np.array([labels[i] == labels[j] for i, j in pairs])
    cos = np.array([float(emb[i] @ emb[j]) for i, j in pairs])
    dist = None if raw is None else np.array([float(np.linalg.norm(raw[i] - raw[j])) for i, j in pairs])
    return same, cos, dist


def rates(same: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float, float]:
    """accuracy, balanced accuracy, true-accept rate, true-reject rate."""
    tar = float(np.mean(predicted[same])) if same.any() else float("nan")
    trr = float(np.mean(~predicted[~same])) if (~same).any() else float("nan")
    return float(np.mean(predicted == same)), (tar + trr) / 2, tar, trr


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", default="dlib")
    ap.add_argument("--readme", type=Path, default=None, help="append the result table to this markdown file")
    args = ap.parse_args(argv)

    from lengthen.faces.backends.registry import get_backend
    from lengthen.faces.cluster import same_person_threshold

    root = shared_identities()
    backend = get_backend(args.backend)
    t0 = time.perf_counter()
    files, labels, emb, raw = embed_folder(root, backend)
    elapsed = time.perf_counter() - t0
    same, cos, dist = pair_scores(labels, emb, raw)
    chosen = same_person_threshold(backend.name)
    print(
        f"{len(files)} photos, {len(set(labels))} identities, {int(same.sum())} same pairs, "
        f"{int((~same).sum())} different pairs ({elapsed:.1f} s to embed)"
    )
    print(
        f"same-pair cosine: min {cos[same].min():.3f} mean {cos[same].mean():.3f}; "
        f"different-pair cosine: max {cos[~same].max():.3f} mean {cos[~same].mean():.3f}"
    )
    rows = []
    for t in sorted({0.80, 0.82, 0.85, 0.88, 0.89, 0.90, 0.91, 0.92, chosen}):
        rows.append((f"cosine >= {t:.2f}" + ("  (chosen)" if t == chosen else ""), *rates(same, cos >= t)))
    if dist is not None:
        rows.append(("dlib rule: raw distance < 0.60", *rates(same, dist < 0.6)))
    header = "| rule | accuracy | balanced | same accepted | different rejected |\n|---|---|---|---|---|"
    lines = [header] + [f"| {r} | {a:.2%} | {b:.2%} | {tar:.2%} | {trr:.2%} |" for r, a, b, tar, trr in rows]
    table = "\n".join(lines)
    print(table)
    if args.readme:
        with open(args.readme, "a", encoding="utf-8") as fh:
            fh.write(
                f"\nVerification on the shared identity photos ({len(files)} photos, "
                f"{len(set(labels))} people, {int(same.sum())} same / {int((~same).sum())} "
                f"different pairs, backend `{backend.name}`):\n\n{table}\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
