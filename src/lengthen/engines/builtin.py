"""``builtin``: adapt a small motion diffusion transformer to the shot, then generate.

The CPU engine that needs no downloaded weights (see the README and
``docs``-level notes in :mod:`lengthen.engines.flow`): it learns how *this* shot moves, generates
optical-flow fields for the new frames with flow matching (by default a correction on the smoothed,
damped extrapolation of the shot's motion, ``BuiltinSettings.prior``), and warps the real edge frame
at full resolution by the composed flows. Identity acts three times: the characters' banks become
identity tokens the model cross-attends to; an identity preservation loss on the warped faces
(through our differentiable dlib embedder) shapes the motion while adapting; and each character's
face found near the cut moves as one rigid piece in the warp (``flow.rigid_faces``), which keeps the
face detectable where a free warp stretches it.

The adapted weights are cached per shot (media, shot range, direction, quality, seed and identity
strength; not the length), so a re-render with another length, or the next candidate of a
best-of-N run, starts at once.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from .base import EngineSettings, GenerateRequest, GenerateResult
from .builtin_settings import BuiltinSettings

FACE_STRIDE = {"tiny": 2, "draft": 8, "normal": 4, "high": 2}


class BuiltinEngine:
    name = "builtin"
    min_context = 3
    max_frames = None

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        # the last adaptation, in memory: best-of-N candidates (same shot, direction and base seed,
        # another sampling seed) reuse its flows and weights without reading the disk cache
        self._adapted: tuple | None = None

    # -- settings ------------------------------------------------------------------------------
    def preset(self, request: GenerateRequest) -> BuiltinSettings:
        """The adaptation's settings: seeded by the base seed, so every candidate shares them
        (and the cache); a candidate's own seed (``request.seed``) only drives sampling."""
        s = request.settings
        changes = {"seed": s.seed, "identity_strength": s.identity_strength}
        if s.steps:
            changes["sample_steps"] = s.steps
        for key in ("adapt_seconds", "adapt_steps"):  # tests and benchmarks bound adaptation exactly
            if getattr(s, key) is not None:
                changes[key] = getattr(s, key)
        return BuiltinSettings.preset(s.quality, **changes)

    # -- identity ------------------------------------------------------------------------------
    @staticmethod
    def _bank_tensors(banks):
        import torch

        return [torch.from_numpy(np.asarray(b.reference_embeddings(), dtype=np.float32)) for b in banks if len(b)]

    def _faces(self, frames: np.ndarray, banks, preset: BuiltinSettings, progress):
        """FaceSupervision for the frames nearest the cut: one slot per bank, detected every few
        frames with the dlib backend and assigned to the closest bank. None without faces."""
        import torch

        from ..faces.backends.registry import get_backend
        from .adapt import FaceSupervision

        usable = [b for b in banks if len(b) and b.backend == "dlib"]
        if not usable or preset.identity_strength <= 0:
            return None, usable
        backend = get_backend("dlib")
        t = len(frames)
        stride = FACE_STRIDE.get(preset.quality, 4)
        picks = sorted({*range(t - 1, max(-1, t - 1 - preset.window_span), -stride)})
        from ..faces.scan import detect_faces
        from .rerank import present_threshold, scoring_settings

        settings = scoring_settings(usable)
        centroids = np.stack([b.centroid for b in usable])  # B D
        threshold = present_threshold(backend)
        affines = torch.zeros((t, len(usable), 2, 3))
        present = torch.zeros((t, len(usable)), dtype=torch.bool)
        for k, i in enumerate(picks):
            if progress is not None:
                progress.report("faces in context", k, len(picks))
                progress.check()
            dets = detect_faces(backend, frames[i], settings)
            if not dets:
                continue
            emb = backend.embed(backend.align(frames[i], dets))  # F D
            sims = emb @ centroids.T  # F B
            for b in range(len(usable)):
                f = int(sims[:, b].argmax())
                if sims[f, b] >= threshold and int(sims[f].argmax()) == b:
                    affines[i, b] = torch.from_numpy(
                        backend.chip_affines(dets[f].landmarks[None].astype(np.float64))[0]
                    ).float()
                    present[i, b] = True
        if not bool(present.any()):
            return None, usable
        return FaceSupervision(
            frames=frames,
            affines=affines,
            present=present,
            characters=torch.arange(len(usable)),
            embed_fn=backend.embedder,
            chip_size=150,
        ), usable

    @staticmethod
    def _face_regions(faces, frame_size: tuple[int, int], work_size: tuple[int, int]) -> list[list[float]]:
        """``(cx, cy, r)`` in working px of each character's face nearest the cut (its chip square:
        the face plus dlib's 25% padding), for ``flow.rigid_faces``."""
        from ..identity.loss import face_regions

        if faces is None:
            return []
        regions = []
        for slot in range(faces.present.shape[1]):
            seen = np.nonzero(faces.present[:, slot].numpy())[0]
            if len(seen):
                a = faces.affines[int(seen[-1]), slot][None]
                regions += face_regions(a, frame_size, (work_size[1], work_size[0]), faces.chip_size)
        return regions

    # -- cache ---------------------------------------------------------------------------------
    @staticmethod
    def _cache_folder(request: GenerateRequest, preset: BuiltinSettings, banks):
        from ..paths import cache_dir

        key = json.dumps(
            {
                "shot": request.cache_key or "",
                "settings": preset.to_dict(),
                "banks": [[b.id, len(b)] for b in banks],
                "v": 2,
            },
            sort_keys=True,
        )
        return cache_dir("builtin", hashlib.sha1(key.encode()).hexdigest()[:20])

    def _adapt(self, request, preset, frames, context, folder, banks, progress):
        """(model, encoder, cached, (steps, seconds, regions, residual_scale, validation)): the
        weights adapted to this shot, from the disk cache or adapted now (and cached)."""
        from .adapt import adapt, build_models
        from .flow import work_size_for

        h, w = frames.shape[1:3]
        size = work_size_for(w, h, preset.work_width, preset.patch_size)
        face_dim = banks[0].embedding_dim if banks else 128
        model, encoder = build_models(preset, face_dim=face_dim)
        self._faces_seconds = 0.0
        if (folder / "model" / "config.json").is_file():
            from ..identity.encoder import IdentityEncoder
            from ..models.motion_transformer import MotionTransformer

            model = MotionTransformer.from_pretrained(folder / "model")
            if (folder / "identity").is_dir():
                encoder = IdentityEncoder.from_pretrained(folder / "identity")
            meta = json.loads((folder / "adapt.json").read_text())
            adapted = (
                meta["steps"],
                meta["seconds"],
                meta.get("face_regions", []),
                meta.get("residual_scale", 1.0),
                meta.get("validation", {}),
            )
            return model, encoder, True, adapted
        t1 = time.perf_counter()
        faces, _ = self._faces(frames, banks, preset, progress)
        self._faces_seconds = round(time.perf_counter() - t1, 3)
        regions = self._face_regions(faces, (w, h), size)
        tokens_banks = self._bank_tensors(banks)
        result = adapt(model, encoder, context, preset, progress, banks=tokens_banks or None, faces=faces)
        self._save(folder, result, result.steps, result.seconds, faces is not None, regions)
        adapted = (result.steps, result.seconds, regions, result.residual_scale, result.validation)
        return model, encoder, False, adapted

    # -- generate ------------------------------------------------------------------------------
    def generate(self, request: GenerateRequest, progress) -> GenerateResult:
        import torch

        from .flow import compose_and_warp, work_size_for
        from .sample import HEAD, TAIL, MotionContext, sample

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        preset = self.preset(request)
        frames = request.context if request.direction == "tail" else request.context[::-1]
        frames = np.ascontiguousarray(frames[-preset.context_needed :])
        h, w = frames.shape[1:3]
        size = work_size_for(w, h, preset.work_width, preset.patch_size)
        banks = list(request.banks)
        folder = self._cache_folder(request, preset, banks)
        memo_key = (str(folder), request.direction, hashlib.sha1(frames.tobytes()).hexdigest())
        tokens_banks = self._bank_tensors(banks)
        if self._adapted is not None and self._adapted[0] == memo_key:
            _, context, model, encoder, adapted = self._adapted
            cached, source = True, "memory"
            timings["flows"] = 0.0
        else:
            context = MotionContext.from_frames(
                frames, size, TAIL if request.direction == "tail" else HEAD, preset.flow_source_width
            )
            timings["flows"] = round(time.perf_counter() - t0, 3)
            model, encoder, cached, adapted = self._adapt(request, preset, frames, context, folder, banks, progress)
            source = "disk cache" if cached else "adapted"
            timings["faces"] = self._faces_seconds
            self._adapted = (memo_key, context, model, encoder, adapted)
        steps, seconds, regions, residual_scale, validation = adapted
        timings["adapt"] = round(seconds, 3)
        t2 = time.perf_counter()
        tokens = None
        if tokens_banks and preset.identity_strength > 0:
            with torch.no_grad():
                encoder.eval()
                tokens = encoder(tokens_banks)[None]
        flows = sample(
            model,
            context,
            request.frames,
            preset,
            identity_tokens=tokens,
            progress=progress,
            seed=request.seed,
            residual_scale=residual_scale,
        )
        timings["sample"] = round(time.perf_counter() - t2, 3)
        t3 = time.perf_counter()
        out = compose_and_warp(
            frames[-1],
            flows.numpy(),
            blur_sigma=preset.warp_blur_sigma,
            faces=regions if preset.rigid_faces else (),
            face_radius=preset.rigid_face_radius,
        )
        timings["warp"] = round(time.perf_counter() - t3, 3)
        if request.direction == "head":
            out = out[::-1].copy()
        return GenerateResult(
            frames=out,
            info={
                "engine": self.name,
                "model": f"MotionTransformer {preset.quality} (width {preset.width}, {preset.num_blocks} blocks), "
                "adapted to the shot",
                "seed": request.seed,
                "quality": preset.quality,
                "prior": preset.prior,
                "work_size": list(size),
                "adapt_steps": steps,
                "adapt_cached": cached,  # False: this call adapted the model
                "adapt_source": source,  # adapted | disk cache | memory (an earlier candidate's)
                "residual_scale": residual_scale,
                "validation_flow_error": validation,
                "rigid_faces": len(regions) if preset.rigid_faces else 0,
                "identity_tokens": 0 if tokens is None else int(tokens.shape[1]),
                "seconds": timings,
            },
        )

    @staticmethod
    def _save(folder, result, steps: int, seconds: float, identity_loss: bool, regions=()) -> None:
        """Save the adapted weights atomically (a cancelled run never leaves a half cache)."""
        import os
        import shutil
        import uuid

        tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:6]}"
        try:
            result.model.save_pretrained(tmp / "model")
            if result.identity_encoder is not None:
                result.identity_encoder.save_pretrained(tmp / "identity")
            (tmp / "adapt.json").write_text(
                json.dumps(
                    {
                        "steps": steps,
                        "seconds": seconds,
                        "identity_loss": identity_loss,
                        "face_regions": list(regions),
                        "residual_scale": result.residual_scale,
                        "validation": result.validation,
                    }
                )
            )
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
