"""``builtin``: continue each shot the way its own last frames prove best; adapt a model only when it can win.

The CPU engine that needs no downloaded weights. Self-validation (``engines.candidates``) hides the
shot's last known frames and scores every candidate on them: freeze, the raw, damped and slowed
flow extrapolations (the baseline engines' own frames), rigid faces on or off per character, and,
only when the cheap ones leave room (they are further than ``skip_margin_db`` from the held-out
frames' own measured motion), the learned correction at several scales. The winner continues the
shot; ``info["selection"]`` (in ``report.json``) is the table of candidates and why.

The learned candidate: a small motion diffusion transformer adapted to the shot generates
optical-flow fields for the new frames with flow matching (a correction on the smoothed, damped
extrapolation of the shot's motion, ``BuiltinSettings.prior``), and the real edge frame is warped at
full resolution by the composed flows. Identity acts on it through identity tokens the model
cross-attends to and an identity preservation loss on the warped faces while adapting (each can be
switched off: ``identity_attention``, ``identity_loss``); rigid faces act on every moving candidate.

The adapted weights are cached per shot (media, shot range, direction, settings and banks; not the
length), so a re-render with another length starts at once.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from .base import EngineSettings, GenerateRequest, GenerateResult
from .builtin_settings import BuiltinSettings

FACE_STRIDE = {"draft": 8, "normal": 4, "high": 2}


class BuiltinEngine:
    name = "builtin"
    min_context = 3
    max_frames = None

    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings()
        self._shared: tuple = (None, None)  # (FrameFaces of the context, engine frame -> context frame)
        self._guard: tuple | None = None  # the identity guard's motion-prior side, shared by candidates
        # the last adaptation, in memory: best-of-N candidates (same shot, direction and base seed,
        # another sampling seed) reuse its flows and weights without reading the disk cache
        self._memo: tuple | None = None

    # -- settings ------------------------------------------------------------------------------
    def preset(self, request: GenerateRequest) -> BuiltinSettings:
        """The adaptation's settings: seeded by the base seed, so every best-of-N candidate shares
        them (and the cache); a candidate's own seed (``request.seed``) only drives sampling."""
        s = request.settings
        changes = {"seed": s.seed, "identity_strength": s.identity_strength}
        if s.steps:
            changes["sample_steps"] = s.steps
        for key in ("adapt_seconds", "adapt_steps"):  # tests and benchmarks bound adaptation exactly
            if getattr(s, key) is not None:
                changes[key] = getattr(s, key)
        if s.adapt_steps is not None and s.adapt_seconds is None:  # a step budget alone: load-independent
            changes["adapt_seconds"] = None
        return BuiltinSettings.preset(s.quality, **changes)

    # -- identity ------------------------------------------------------------------------------
    @staticmethod
    def _bank_tensors(banks):
        import torch

        return [torch.from_numpy(np.asarray(b.reference_embeddings(), dtype=np.float32)) for b in banks if len(b)]

    @staticmethod
    def _usable(banks, preset: BuiltinSettings):
        if preset.identity_strength <= 0:
            return []
        return [b for b in banks if len(b) and b.backend == "dlib"]

    def _detect(self, frames: np.ndarray, usable, picks, found: dict, progress) -> dict:
        """Detect the characters' faces in ``frames[i]`` for ``i`` in ``picks`` (skipping frames in
        ``found``): ``found[i] = {slot: chip affine (2, 3)}``, slot = index into ``usable``, each
        face assigned to the closest bank above the same-person threshold. The faces come from
        the pipeline's detections of the context (``GenerateRequest.context_faces``, found once
        per shot) when it has them; only without them does the engine detect."""
        from ..faces.backends.registry import get_backend
        from ..faces.detections import FrameFaces
        from .rerank import present_threshold, scoring_settings

        todo = [i for i in picks if i not in found]
        if not usable or not todo:
            return found
        shared, index = self._shared
        if shared is None:
            shared, index = FrameFaces(frames, get_backend("dlib"), scoring_settings(usable)), (lambda i: i)
        backend = shared.backend
        centroids = np.stack([b.centroid for b in usable])  # B D
        threshold = present_threshold(backend)
        for k, i in enumerate(todo):
            if progress is not None:
                progress.report("faces in context", k, len(todo))
                progress.check()
            found[i] = {}
            faces = shared.get(index(i))
            if not faces:
                continue
            emb = np.stack([f.embedding for f in faces])  # F D
            sims = emb @ centroids.T  # F B
            for b in range(len(usable)):
                f = int(sims[:, b].argmax())
                if sims[f, b] >= threshold and int(sims[f].argmax()) == b:
                    landmarks = np.asarray(faces[f].landmarks, np.float64)[None]
                    found[i][b] = backend.chip_affines(landmarks)[0]
        return found

    def _share_context_faces(self, request: GenerateRequest, needed: int) -> None:
        """Read the pipeline's context faces (dlib ones) for this request's engine frames: the
        engine's frame ``i`` (the last ``needed`` context frames, reversed for a head) is context
        frame ``T - needed + i`` (tail) or ``needed - 1 - i`` (head)."""
        shared = request.context_faces
        if shared is None or getattr(shared, "backend_name", "") != "dlib":
            self._shared = (None, None)
            return
        t = len(request.context)
        if request.direction == "tail":
            self._shared = (shared, lambda i: t - needed + i)
        else:
            self._shared = (shared, lambda i: needed - 1 - i)

    def _faces(self, frames: np.ndarray, usable, preset: BuiltinSettings, found: dict, progress):
        """FaceSupervision for the frames nearest the cut (every few frames), None without faces."""
        import torch

        from ..faces.backends.registry import get_backend
        from .adapt import FaceSupervision

        if not usable:
            return None
        t = len(frames)
        stride = FACE_STRIDE.get(preset.quality, 4)
        picks = sorted({*range(t - 1, max(-1, t - 1 - preset.window_span), -stride)})
        self._detect(frames, usable, picks, found, progress)
        affines = torch.zeros((t, len(usable), 2, 3))
        present = torch.zeros((t, len(usable)), dtype=torch.bool)
        for i in picks:
            for b, a in found.get(i, {}).items():
                affines[i, b] = torch.from_numpy(np.asarray(a)).float()
                present[i, b] = True
        if not bool(present.any()):
            return None
        return FaceSupervision(
            frames=frames,
            affines=affines,
            present=present,
            characters=torch.arange(len(usable)),
            embed_fn=get_backend("dlib").embedder,
            chip_size=150,
        )

    @staticmethod
    def _regions(found: dict, i: int, frame_size: tuple[int, int], work_size: tuple[int, int]) -> dict:
        """``{slot: (cx, cy, r)}`` in working px of each character's face in frame ``i`` (its chip
        square: the face plus dlib's 25% padding), for ``flow.rigid_faces``."""
        import torch

        from ..identity.loss import face_regions

        out = {}
        for slot, a in found.get(i, {}).items():
            a = torch.from_numpy(np.asarray(a, dtype=np.float64))[None]
            out[slot] = face_regions(a, frame_size, (work_size[1], work_size[0]), 150)[0]
        return out

    @staticmethod
    def _worst_identity(frames: np.ndarray, usable) -> float | None:
        """The lowest similarity of any character's face to its bank over every 2nd frame (a
        frame where a character seen at the cut has no face counts as -1); None without faces."""
        return BuiltinEngine._worst_identity_faces(frames, usable)[0]

    @staticmethod
    def _worst_identity_faces(frames: np.ndarray, usable) -> tuple[float | None, object]:
        """(:meth:`_worst_identity`, the FrameFaces of ``frames`` it found, for the pipeline's
        identity scores to read instead of detecting the same frames again)."""
        from ..faces.backends.registry import get_backend
        from ..faces.detections import FrameFaces
        from .rerank import identity_scores, scoring_settings

        backend = get_backend("dlib")
        faces = FrameFaces(frames, backend, scoring_settings(usable))
        scores = identity_scores(frames, usable, backend, stride=2, faces=faces)
        worst = [(-1.0 if s["missing"] else s["min"]) for s in scores.values() if s["min"] is not None]
        return (round(min(worst), 4) if worst else None), faces

    # -- cache ---------------------------------------------------------------------------------
    @staticmethod
    def _cache_folder(request: GenerateRequest, preset: BuiltinSettings, banks):
        from ..paths import cache_dir

        key = json.dumps(
            {
                "shot": request.cache_key or "",
                "settings": preset.to_dict(),
                "banks": [[b.id, len(b)] for b in banks],
                "v": 3,
            },
            sort_keys=True,
        )
        return cache_dir("builtin", hashlib.sha1(key.encode()).hexdigest()[:20])

    def _adapted(self, request, preset, frames, banks, usable, found, progress, timings):
        """The context and the model adapted to the shot: ``(context, model, identity tokens or None,
        steps, seconds, source)``, source "adapted", "disk cache" or "memory" (an earlier best-of-N
        candidate's adaptation of the same frames)."""
        from ..flow import work_size_for
        from .sample import HEAD, TAIL, MotionContext

        folder = self._cache_folder(request, preset, banks)
        key = (str(folder), request.direction, hashlib.sha1(frames.tobytes()).hexdigest())
        if self._memo is not None and self._memo[0] == key:
            return (*self._memo[1:], "memory")
        t0 = time.perf_counter()
        context = MotionContext.from_frames(
            frames,
            work_size_for(frames.shape[2], frames.shape[1], preset.work_width, preset.patch_size),
            TAIL if request.direction == "tail" else HEAD,
            preset.flow_source_width,
        )
        timings["flows"] = round(timings.get("flows", 0.0) + time.perf_counter() - t0, 3)
        model, tokens, steps, seconds, cached = self._adapt_model(
            request, preset, frames, context, folder, banks, usable, found, progress, timings
        )
        self._memo = (key, context, model, tokens, steps, seconds)
        return context, model, tokens, steps, seconds, "disk cache" if cached else "adapted"

    def _adapt_model(self, request, preset, frames, context, folder, banks, usable, found, progress, timings):
        """``(model, identity tokens or None, steps, seconds, cached)``: from the disk cache when this
        shot was adapted before, else adapted now (and cached)."""
        import torch

        from .adapt import adapt, build_models

        face_dim = usable[0].embedding_dim if usable else 128
        cached = (folder / "model" / "config.json").is_file()
        tokens_banks = self._bank_tensors(usable)
        if cached:  # no fresh model (nor a read of the pretrained prior) only to be replaced
            from ..identity.encoder import IdentityEncoder
            from ..models.motion_transformer import MotionTransformer

            model = MotionTransformer.from_pretrained(folder / "model")
            if (folder / "identity").is_dir():
                encoder = IdentityEncoder.from_pretrained(folder / "identity")
            else:  # the encoder is only read below, for identity tokens
                encoder = (
                    build_models(preset, face_dim=face_dim)[1] if tokens_banks and preset.identity_attention else None
                )
            meta = json.loads((folder / "adapt.json").read_text())
            steps, seconds = meta["steps"], meta["seconds"]
        else:
            model, encoder = build_models(preset, face_dim=face_dim)
            t1 = time.perf_counter()
            faces = self._faces(frames, usable, preset, found, progress) if preset.identity_loss else None
            timings["faces"] = round(timings.get("faces", 0.0) + time.perf_counter() - t1, 3)
            attend = bool(tokens_banks) and preset.identity_attention
            if faces is not None and not tokens_banks:
                faces = None
            result = adapt(
                model,
                encoder if (attend or faces is not None) else None,
                context,
                preset,
                progress,
                banks=(tokens_banks or None) if (attend or faces is not None) else None,
                faces=faces,
            )
            steps, seconds = result.steps, result.seconds
            self._save(folder, result, steps, seconds, faces is not None)
        tokens = None
        if tokens_banks and preset.identity_attention:
            with torch.no_grad():
                encoder.eval()
                tokens = encoder(tokens_banks)[None]
        return model, tokens, steps, seconds, cached

    # -- generate ------------------------------------------------------------------------------
    def generate(self, request: GenerateRequest, progress) -> GenerateResult:
        from ..flow import compose_and_warp, context_flows, hedged_warp, work_size_for
        from .candidates import (
            Selection,
            cheap_flows,
            cheap_recipes,
            hedge_hypotheses,
            hedge_stack,
            learned_recipes,
            psnr,
        )
        from .sample import sample

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        preset = self.preset(request)
        frames = request.context if request.direction == "tail" else request.context[::-1]
        frames = np.ascontiguousarray(frames[-preset.context_needed :])
        self._share_context_faces(request, len(frames))
        t_len = len(frames)
        h, w = frames.shape[1:3]
        size = work_size_for(w, h, preset.work_width, preset.patch_size)
        held = preset.holdout_frames if preset.validate and t_len >= preset.holdout_frames + 3 else 0
        # the cheap candidates read the last 8 flows (flow.extrapolate_flows), before the held-out frames too
        span = min(t_len, 9 + held)
        history = context_flows(frames[-span:], size, preset.flow_source_width)
        timings["flows"] = round(time.perf_counter() - t0, 3)

        banks = list(request.banks)
        usable = self._usable(banks, preset)
        found: dict = {}
        origin_i, last_i = t_len - held - 1, t_len - 1
        t1 = time.perf_counter()
        if usable:  # faces: tried rigid (rigid_faces), kept sharp by the hedge, checked by the guard
            self._detect(frames, usable, [origin_i, last_i] if held else [last_i], found, progress)
        timings["faces"] = round(time.perf_counter() - t1, 3)
        names = {slot: (b.name or b.id) for slot, b in enumerate(usable)}

        def warp(origin, flows, recipe, regions, keep=()):
            """``regions``: faces that move rigidly; ``keep``: faces the ``hedged`` mean keeps sharp."""
            if not recipe.moving:  # zero flow: exact copies of the edge frame, no warp needed
                return np.repeat(origin[None], len(flows), axis=0)
            faces = list(regions)
            if recipe.kind == "hedge":
                # faces are the motion prior's crisp warp (the last flows), whatever the hedge's centre
                crisp = (flows[-1], recipe.blur, faces, preset.rigid_face_radius)
                hypotheses, cap = hedge_hypotheses(flows, preset), preset.hedge_spread_cap * size[0]
                keep = [(cx, cy, r * preset.hedge_face_radius) for cx, cy, r in keep]
                return hedged_warp(origin, hypotheses, spread_cap=cap, keep=crisp, keep_regions=keep)
            return compose_and_warp(
                origin, flows, blur_sigma=recipe.blur, faces=faces, face_radius=preset.rigid_face_radius
            )

        sel = Selection(held_out=held)
        recipes = {r.name: r for r in cheap_recipes(preset)}
        rigid_slots: set[int] = set()
        t2 = time.perf_counter()
        if held:
            origin, truth = frames[origin_i], frames[t_len - held :]
            before = history[:-held]
            at_origin = self._regions(found, origin_i, (w, h), size)
            keep_origin = list(at_origin.values())  # every character's face, kept sharp by a hedge
            sel.oracle_psnr = max(
                psnr(truth, compose_and_warp(origin, history[-held:], blur_sigma=b))
                for b in sorted({0.0, preset.warp_blur_sigma})
            )
            outs, made = {}, {}  # per candidate: its frames, its flows (the rigid-face pass warps them again)
            for r in recipes.values():
                tc = time.perf_counter()
                made[r.name] = cheap_flows(r, before, held)
                outs[r.name] = warp(origin, made[r.name], r, (), keep_origin)
                sel.rows.append(
                    {"candidate": r.name, "psnr": psnr(truth, outs[r.name]), "seconds": time.perf_counter() - tc}
                )
            if at_origin and preset.rigid_faces:  # rigid faces per character, decided in the face's own box
                from .candidates import face_box

                mover, _ = sel.best([n for n, r in recipes.items() if r.moving and r.crisp])
                r, flows = recipes[mover], made[mover]
                for slot, region in at_origin.items():
                    box = face_box(region, (w, h), size)
                    if box is None:
                        continue
                    free = psnr(truth, outs[mover], box)
                    rigid = psnr(truth, warp(origin, flows, r, [region]), box)
                    sel.rigid[names[slot]] = {"free": round(free, 3), "rigid": round(rigid, 3), "kept": rigid > free}
                    if rigid > free:
                        rigid_slots.add(slot)
                if rigid_slots:  # score the moving candidates as they will be made
                    regions = [at_origin[s] for s in sorted(rigid_slots)]
                    for row in sel.rows:
                        r = recipes[row["candidate"]]
                        if r.moving:
                            tc = time.perf_counter()
                            row["psnr"] = psnr(truth, warp(origin, made[r.name], r, regions, keep_origin))
                            row["seconds"] += time.perf_counter() - tc
                            row["rigid_faces"] = [names[s] for s in sorted(rigid_slots)]
        timings["candidates"] = round(time.perf_counter() - t2, 3)

        # adapt only when a model can still win
        learned_forced = preset.force in {r.name for r in learned_recipes(preset)}
        budget = preset.adapt_steps != 0 and (preset.adapt_seconds is None or preset.adapt_seconds > 0)
        if not preset.validate:
            want, sel.adaptation = True, "no self-validation (validate off): the learned correction is used"
        elif not held:
            want = False
            sel.adaptation = f"skipped: {t_len} context frames are too few to hold out {preset.holdout_frames}"
        else:
            best_name, best_psnr = sel.best()
            gap = sel.oracle_psnr - best_psnr
            if preset.always_adapt or learned_forced:
                want, sel.adaptation = True, "forced (always_adapt / force)"
            elif not budget:
                want, sel.adaptation = False, "skipped: no adaptation budget"
            elif best_psnr >= preset.still_psnr_db:
                want = False
                sel.adaptation = f"skipped: {best_name} already fits the held-out frames ({best_psnr:.2f} dB)"
            elif gap <= preset.skip_margin_db:
                want = False
                fits = f"is within {gap:.2f} dB of" if gap > 0 else "fits them at least as well as"
                sel.adaptation = (
                    f"skipped: {best_name} {fits} the held-out frames' own measured motion "
                    f"({sel.oracle_psnr:.2f} dB); a model cannot do better than that"
                )
            else:
                want = True
                sel.adaptation = f"ran: {best_name} is {gap:.2f} dB below the held-out frames' own measured motion"

        model = tokens = context = None
        steps, seconds, source = 0, 0.0, "none"
        if want:
            context, model, tokens, steps, seconds, source = self._adapted(
                request, preset, frames, banks, usable, found, progress, timings
            )
            timings["adapt"] = round(seconds, 3)
            learned = {r.name: r for r in learned_recipes(preset)}
            recipes.update(learned)
            if held:
                origin, truth = frames[origin_i], frames[t_len - held :]
                regions = [r for s, r in self._regions(found, origin_i, (w, h), size).items() if s in rigid_slots]
                val = context.truncated(held)
                sampled = {}
                for r in learned.values():
                    tc = time.perf_counter()
                    if r.scale not in sampled:
                        sampled[r.scale] = sample(
                            model, val, held, preset, identity_tokens=tokens, seed=request.seed, residual_scale=r.scale
                        ).numpy()
                    flows = sampled[r.scale]
                    if r.kind == "hedge":
                        flows = hedge_stack(made["flow-raw"], flows, made["motion"])
                    row = {"candidate": r.name, "psnr": psnr(truth, warp(origin, flows, r, regions, keep_origin))}
                    row["seconds"] = time.perf_counter() - tc
                    if regions:
                        row["rigid_faces"] = [names[s] for s in sorted(rigid_slots)]
                    sel.rows.append(row)

        # the winner
        if preset.force is not None:
            if preset.force not in recipes:
                raise ValueError(f"force={preset.force!r} is not a candidate: {', '.join(recipes)}")
            sel.chosen, sel.why = preset.force, "forced by the settings (force)"
        elif not held:
            sel.chosen = "learned x1" if want else "hedged"
            sel.why = "no held-out frames to score on: " + (
                "the learned correction in full" if want else "the hedge, the best guess over many real shots"
            )
        else:
            sel.chosen, score = sel.best()
            ranked = sorted(sel.rows, key=lambda r: -r["psnr"])
            runner = next((r for r in ranked if r["candidate"] != sel.chosen), None)
            sel.why = f"{sel.chosen}: best PSNR on the {held} held-out frames ({score:.2f} dB" + (
                f"; next {runner['candidate']} {runner['psnr']:.2f} dB)" if runner else ")"
            )
            still, hedge = sel.score("freeze"), sel.score("hedged")
            if (
                still is not None
                and score - still <= preset.skip_margin_db
                and (still >= preset.still_psnr_db or sel.oracle_psnr - still <= preset.skip_margin_db)
            ):
                sel.chosen = "freeze"
                sel.why = (
                    f"freeze: the shot is still over the {held} held-out frames ({still:.2f} dB; their own "
                    f"measured motion {sel.oracle_psnr:.2f} dB)"
                )
            elif hedge is not None and recipes[sel.chosen].crisp:
                hedge_name, hedge = sel.best([n for n, r in recipes.items() if not r.crisp])
                if score - hedge <= preset.hedge_margin_db:
                    sel.why = (
                        f"{hedge_name}: {sel.chosen} beat it by {score - hedge:.2f} dB on the {held} held-out "
                        f"frames ({score:.2f} against {hedge:.2f}), within the {preset.hedge_margin_db:g} dB that "
                        f"{held} frames cannot tell from noise"
                    )
                    sel.chosen = hedge_name
        chosen = recipes[sel.chosen]
        if not held and preset.rigid_faces:
            rigid_slots = set(found.get(last_i, {}))

        t4 = time.perf_counter()
        if chosen.learned:
            flows = sample(
                model,
                context,
                request.frames,
                preset,
                identity_tokens=tokens,
                progress=progress,
                seed=request.seed,
                residual_scale=chosen.scale,
            ).numpy()
            if chosen.kind == "hedge":
                raw, motion = cheap_flows(recipes["hedged"], history, request.frames)
                flows = hedge_stack(raw, flows, motion)
        else:
            flows = cheap_flows(chosen, history, request.frames)
        timings["sample"] = round(time.perf_counter() - t4, 3)
        t5 = time.perf_counter()
        at_last = self._regions(found, last_i, (w, h), size)
        regions = [r for s, r in at_last.items() if s in rigid_slots]
        out = warp(frames[-1], flows, chosen, regions, list(at_last.values()))
        timings["warp"] = round(time.perf_counter() - t5, 3)
        out_faces = None  # the faces found in ``out`` (by the identity guard), for the pipeline's scores
        if preset.identity_guard and usable and chosen.name not in ("motion", "freeze"):
            # faces the same person first: the winner may not make a face's worst frame worse than
            # the motion prior does (scored as the quality harness scores it, every 2nd frame)
            t6 = time.perf_counter()
            motion = recipes["motion"]
            # the motion prior's side is the same for every best-of-N candidate: made and scored once
            guard_key = (hashlib.sha1(frames.tobytes()).hexdigest(), request.frames, repr(regions))
            if self._guard is None or self._guard[0] != guard_key:
                alt = warp(frames[-1], cheap_flows(motion, history, request.frames), motion, regions)
                self._guard = (guard_key, alt, self._worst_identity_faces(alt, usable))
            _, alt, (theirs, alt_faces) = self._guard
            mine, out_faces = self._worst_identity_faces(out, usable)
            sel.identity_guard = {"chosen": mine, "motion": theirs}
            if theirs is not None and (mine is None or mine < theirs - preset.identity_guard_tolerance):
                sel.why += (
                    f"; but its faces' worst frame ({mine}) fell below the motion prior's ({theirs}): "
                    "motion kept (faces first)"
                )
                sel.chosen, chosen, out, out_faces = "motion", motion, alt, alt_faces
            timings["identity_guard"] = round(time.perf_counter() - t6, 3)
        timings["total"] = round(time.perf_counter() - t0, 3)
        if request.direction == "head":
            out = out[::-1].copy()
            out_faces = out_faces.reversed(out) if out_faces is not None else None
        model_name = (
            f"MotionTransformer {preset.quality} (width {preset.width}, {preset.num_blocks} blocks), "
            "adapted to the shot"
            if chosen.learned
            else f"{chosen.name} (chosen by self-validation)"
        )
        return GenerateResult(
            frames=out,
            faces=out_faces,
            info={
                "engine": self.name,
                "model": model_name,
                "seed": request.seed,
                "quality": preset.quality,
                "prior": preset.prior,
                "work_size": list(size),
                "chosen": sel.chosen,
                "selection": sel.to_dict(),
                "adapt_steps": steps,
                # False: this call adapted the model (the pipeline counts adaptations); None: nothing adapted
                "adapt_cached": None if source == "none" else source != "adapted",
                "adapt_source": source,  # adapted | disk cache | memory (an earlier candidate's) | none
                "residual_scale": chosen.scale if chosen.learned else None,
                "rigid_faces": len(regions) if chosen.moving else 0,
                "identity_tokens": 0 if tokens is None else int(tokens.shape[1]),
                "seconds": timings,
            },
        )

    @staticmethod
    def _save(folder, result, steps: int, seconds: float, identity_loss: bool) -> None:
        """Save the adapted weights atomically (a cancelled run never leaves a half cache)."""
        from ..fsutil import atomic_dir

        with atomic_dir(folder, record=False) as tmp:  # a cache: kept when the run fails
            result.model.save_pretrained(tmp / "model")
            if result.identity_encoder is not None:
                result.identity_encoder.save_pretrained(tmp / "identity")
            (tmp / "adapt.json").write_text(
                json.dumps(
                    {
                        "steps": steps,
                        "seconds": seconds,
                        "identity_loss": identity_loss,
                    }
                )
            )
