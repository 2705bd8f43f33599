"""render_shot with faces on: the shot is scanned into banks, source and generated frames are
scored against them, and best-of-N keeps the best-scoring candidate. Real dlib models, real media."""

from __future__ import annotations

import pytest

from lengthen.config import ExtendRequest
from lengthen.engines.base import EngineSettings
from lengthen.media.probe import probe
from lengthen.media.synthetic import pan_zoom_clip
from lengthen.pipeline import render_shot
from lengthen.shots import ShotSpec


@pytest.fixture(scope="module")
def astronaut_clip(tmp_path_factory, testdata):
    folder = tmp_path_factory.mktemp("astro")
    # 448x448 of the 512x512 photo: her face stays whole and about 80 px tall
    return pan_zoom_clip(
        testdata / "images" / "skimage__astronaut.png",
        folder / "astro.mov",
        frames=24,
        rate=24,
        codec="prores",
        size=(448, 448),
        start_timecode="00:00:01:00",
        zoom=1.05,
        pan=0.02,
    )


def _spec(path, tail=6):
    info = probe(path)
    return ShotSpec(
        clip="astro",
        media=str(path),
        rate=info.rate,
        first=0,
        last=info.frames - 1,
        tail_frames=tail,
        start_timecode=info.start_timecode,
    )


def test_faces_scanned_scored_and_best_candidate_kept(astronaut_clip, tmp_path):
    request = ExtendRequest(
        engine="motion", settings=EngineSettings(quality="draft", candidates=2, seed=5), output_dir=tmp_path
    )
    outcome = render_shot(_spec(astronaut_clip), request)
    report = outcome.report
    assert len(report["characters"]) == 1  # one astronaut, one bank
    tail = report["directions"]["tail"]
    char = report["characters"][0]["id"]
    source, generated = tail["identity"]["source"][char], tail["identity"]["generated"][char]
    assert source["mean"] > 0.9 and source["missing"] == 0  # her own frames are her
    assert generated["mean"] > 0.9 and generated["missing"] == 0  # a warp keeps her face
    assert abs(generated["mean"] - source["mean"]) < 0.05
    # the report gives the same-person threshold and the faces that matched nobody (issue 22)
    assert tail["identity"]["threshold"] == 0.9
    assert tail["identity"]["unknown"]["generated"] == {"faces": 0, "frames": 0, "nearest": {}}
    seeds = [c["seed"] for c in tail["candidates"]]
    assert seeds == [5, 6]
    best = max(tail["candidates"], key=lambda c: c["score"])
    assert tail["seed"] == best["seed"]
    assert outcome.generated[0].metadata["banks"][0]["id"] == char


def test_reference_photo_starts_a_named_character(astronaut_clip, tmp_path, testdata):
    request = ExtendRequest(
        engine="freeze",
        scan_faces=False,
        output_dir=tmp_path,
        refs=(("Eileen", str(testdata / "images" / "skimage__astronaut.png")),),
    )
    outcome = render_shot(_spec(astronaut_clip, tail=3), request)
    assert [c["name"] for c in outcome.report["characters"]] == ["Eileen"]
    scores = outcome.report["directions"]["tail"]["identity"]["generated"]
    assert next(iter(scores.values()))["mean"] > 0.9


def test_faces_of_the_context_are_found_once_for_scores_and_engine(astronaut_clip, tmp_path, monkeypatch):
    """The built-in engine reads the pipeline's detections of the context frames (one FrameFaces
    per direction, shared; the engine makes none of its own), and scoring reports its progress."""
    import lengthen.faces.detections as det
    from lengthen.progress import SilentProgress

    made: list[int] = []
    real_init = det.FrameFaces.__init__

    def counting(self, frames, *a, **k):
        made.append(len(frames))
        real_init(self, frames, *a, **k)

    monkeypatch.setattr(det.FrameFaces, "__init__", counting)
    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path / "cache"))
    request = ExtendRequest(
        settings=EngineSettings(quality="tiny", candidates=2, adapt_steps=4), output_dir=tmp_path / "out"
    )
    progress = SilentProgress()
    outcome = render_shot(_spec(astronaut_clip, tail=4), request, progress)
    tail = outcome.report["directions"]["tail"]
    # one for the context (source scores + engine: the engine made none over context frames); the
    # others are over new frames (4 per candidate: the pipeline's scores, the engine's identity guard)
    assert made[0] == tail["context_frames"] and set(made[1:]) == {4} and len(made) >= 3
    # the source scores look at 3 frames (every 8th from the cut); the engine's picks near the cut joined them
    assert tail["context_frames_face_scanned"] > 3
    assert tail["engine_info"]["rigid_faces"] >= 1  # it found her face in the shared detections
    assert tail["context_frames_from_scan"] == 2  # frames 0 and 12 (2 fps): the bank scan's faces, reused
    stages = {e[0] for e in progress.events}
    assert {"score", "faces in context"} <= stages
