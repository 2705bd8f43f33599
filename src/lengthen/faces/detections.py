"""Faces per frame, found once and read by everyone: the pipeline's source scores, the engine's
face supervision and rigid faces, and the reranker.

:class:`FrameFaces` wraps a run of frames (a shot's context) and a backend: ``get(i)`` detects,
aligns and embeds the faces of frame ``i`` the first time it is asked and keeps them, so each
frame of a shot is looked at once however many readers need it. ``known`` pre-fills frames whose
faces another pass already found (the shot scan that built the banks). ``track`` ids link a
frame's faces to the faces of the frame before it (box overlap and embedding similarity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FaceObs:
    """One face in one frame: where it is and who it looks like."""

    box: tuple[float, float, float, float]  # left, top, right, bottom (frame pixels)
    score: float
    landmarks: np.ndarray = field(repr=False)  # (5, 2) float, the backend's order
    embedding: np.ndarray = field(repr=False)  # (D,) float32, L2-normalised
    track: int | None = None  # same id = the same face in neighbouring looked-at frames

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def iou(a, b) -> float:
    """Intersection over union of two ``(left, top, right, bottom)`` boxes (0 when apart)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class FrameFaces:
    """The faces of ``frames`` (uint8 (T, H, W, 3)), each frame detected at most once."""

    def __init__(self, frames: np.ndarray, backend, settings=None, known: dict | None = None) -> None:
        from .scan import ScanSettings

        self.frames = frames
        self.backend = backend
        self.settings = settings or ScanSettings()
        self.found: dict[int, list[FaceObs]] = dict(known or {})
        self.known = set(self.found)  # frames found by an earlier pass
        self.detected = 0  # frames this object ran the detector on (not counting ``known``)
        self.reused: set[int] = set()  # known frames that a reader asked for
        self._next_track = 0

    @property
    def backend_name(self) -> str:
        return getattr(self.backend, "name", "")

    def get(self, i: int) -> list[FaceObs]:
        """The faces of frame ``i`` (detected now if nobody asked before)."""
        i = int(i)
        if i in self.known:
            self.reused.add(i)
        if i not in self.found:
            self.found[i] = self._link(i, self._detect(self.frames[i]))
            self.detected += 1
        return self.found[i]

    def reversed(self, frames: np.ndarray) -> "FrameFaces":
        """The same detections over ``frames`` = these frames in reverse order (a head's frames are
        made away from the cut and handed over in time order)."""
        n = len(self.frames)
        return FrameFaces(frames, self.backend, self.settings, known={n - 1 - i: f for i, f in self.found.items()})

    def recolored(self, frames: np.ndarray) -> "FrameFaces":
        """The same detections over ``frames``: these frames after a per-channel colour gain and
        offset (the seam match), which moves no face; frames not looked at yet are detected anew."""
        return FrameFaces(frames, self.backend, self.settings, known=self.found)

    def detect(self, picks, progress=None, stage: str = "faces") -> dict[int, list[FaceObs]]:
        """The faces of every frame in ``picks``, reporting ``stage`` progress and honouring cancel."""
        picks = [int(i) for i in picks]
        for k, i in enumerate(picks):
            if progress is not None:
                progress.check()
                progress.report(stage, k, len(picks))
            self.get(i)
        if progress is not None and picks:
            progress.report(stage, len(picks), len(picks))
        return {i: self.found[i] for i in picks}

    def _detect(self, image: np.ndarray) -> list[FaceObs]:
        from .scan import detect_faces

        dets = detect_faces(self.backend, image, self.settings)
        if not dets:
            return []
        emb = np.asarray(self.backend.embed(self.backend.align(image, dets)), dtype=np.float32)  # F D
        return [
            FaceObs(tuple(float(v) for v in d.box), float(d.score), np.asarray(d.landmarks), e)
            for d, e in zip(dets, emb)
        ]

    def _link(self, i: int, faces: list[FaceObs]) -> list[FaceObs]:
        """Track ids: a face continues the track of the most alike face (overlapping box, similar
        embedding) in the nearest earlier looked-at frame; otherwise it starts a new one."""
        from dataclasses import replace

        earlier = [j for j in self.found if j < i]
        prev = self.found[max(earlier)] if earlier else []
        out, taken = [], set()
        for f in faces:
            best, track = 0.0, None
            for p in prev:
                if p.track is None or p.track in taken:
                    continue
                overlap = iou(f.box, p.box)
                alike = overlap + float(f.embedding @ p.embedding)
                if overlap > 0.1 and alike > best:
                    best, track = alike, p.track
            if track is None:
                track, self._next_track = self._next_track, self._next_track + 1
            taken.add(track)
            out.append(replace(f, track=track))
        return out
