"""lengthen models: the video-model presets, where their weights are on this machine, and the
command that downloads them (``--allow-download`` fetches them now)."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list video-model presets, where their weights are, how to download them",
        description="List the video-model presets (wan-vace, ltx, skyreels-df, ... and the built-in "
        "engines), where each one's weights are found locally (--model-path, "
        "$LENGTHEN_MODELS, lengthen's download folder, the Hugging Face cache; never the "
        "network) and the exact command that downloads them.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--model-path", metavar="P", help="a diffusers folder, or a folder of preset-named folders")
    p.add_argument(
        "--allow-download",
        action="store_true",
        help="download missing weights now (safetensors, JSON and text files only)",
    )
    p.add_argument("--preset", action="append", metavar="NAME", help="only these presets (repeatable)")


def rows(model_path=None, allow_download: bool = False, only=None) -> list[dict]:
    from ..engines import presets

    out = []
    for p in presets.load_presets():
        if only and p["name"] not in only:
            continue
        if p.get("builtin"):
            out.append(
                {
                    "name": p["name"],
                    "engine": p["engine"],
                    "status": "built in, no weights needed",
                    "description": p.get("description", ""),
                }
            )
            continue
        where = presets.locate(p, model_path)
        if where is None and allow_download:
            where = presets.download(p)
        out.append(
            {
                "name": p["name"],
                "engine": p["engine"],
                "repo": p["repo"],
                "revision": p.get("revision") or "main",
                "pipeline": p["pipeline"],
                "status": "found" if where else "missing",
                "path": str(where) if where else None,
                "searched": None if where else presets.searched_places(p, model_path),
                "download": presets.download_command(p),
                "native_fps": f"clip rate up to {p['follow_rate_up_to']}"
                if p.get("follow_rate_up_to")
                else p.get("native_fps"),  # None: not a video model (the optional captioner)
                "frame_grid": f"{p['frame_multiple']}k+1 frames, sizes divisible by {p['spatial_multiple']}"
                if "frame_multiple" in p
                else None,
                "gpu_gb": {o or "none": presets.estimate_gb(p, *p["vram"]["at"], offload=o) for o in presets.OFFLOADS},
                "licence": p.get("licence"),
                "description": p.get("description", ""),
            }
        )
    return out


def run(args) -> int:
    from pathlib import Path

    from ..errors import UsageError

    if args.model_path and not Path(args.model_path).is_dir():
        raise UsageError("--model-path must be a folder (of diffusers weights, or of preset-named folders)",
                         path=args.model_path)  # fmt: skip
    table = rows(args.model_path, args.allow_download, args.preset)
    if args.preset and len(table) < len(set(args.preset)):
        known = ", ".join(r["name"] for r in rows())
        raise UsageError(f"unknown preset in {args.preset}; known presets: {known}")
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    for r in table:
        if r["status"].startswith("built in"):
            print(f"{r['name']:<14} {r['status']}")
            continue
        gb = r["gpu_gb"]
        what = (
            f"{r['native_fps']} fps, {r['frame_grid']}; ~{gb['none']:g} GB, {gb['model']:g} GB with --offload model"
            if r["native_fps"] is not None
            else r["description"]
        )
        print(f"{r['name']:<14} {r['status']:<8} {r['repo']}@{r['revision']}  ({what})")
        if r["path"]:
            print(f"{'':<14} at {r['path']}")
        else:
            print(f"{'':<14} download: {r['download']}")
    return 0
