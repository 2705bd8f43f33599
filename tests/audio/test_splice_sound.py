"""--splice media carry the sound of every part and a manifest listing the generated frames (issue 20)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from lengthen.audio import read_audio
from lengthen.config import ExtendRequest
from lengthen.credentials import read_credentials
from lengthen.media.probe import probe
from lengthen.pipeline import render_shot, splice_media
from lengthen.shots import ShotSpec


def test_spliced_media_has_sound_in_sync_and_credentials(testdata, tmp_path):
    media = testdata / "video" / "openmpf__video_01_h265_aac.mp4"  # 31 frames, AAC stereo 44.1 kHz
    rate = Fraction(30000, 1001)
    spec = ShotSpec(clip="party", media=str(media), rate=rate, first=4, last=25, head_frames=3, tail_frames=6)
    request = ExtendRequest(engine="freeze", scan_faces=False, output_dir=tmp_path / "media")
    outcome = render_shot(spec, request)
    path = splice_media(spec, outcome, tmp_path / "media", request=request)
    assert probe(path).frames == 3 + 22 + 6
    src = read_audio(media, 4, 25, rate)
    joined = read_audio(path, 0, 30, rate, margin_s=0.1)
    total = src.frame_sample(32) - src.frame_sample(1)  # head from frame 1 to the tail's end (frame 31)
    assert np.abs(joined.samples[:, total:]).max() == 0  # nothing after the picture ends
    got = joined.slice(0, total)
    head = src.frame_sample(4) - src.frame_sample(1)
    body = src.slice(src.frame_sample(4), src.frame_sample(26))
    # the source's own sound, sample for sample (24-bit PCM of the decoded AAC), right after the head
    assert np.abs(got[:, head : head + body.shape[1]] - body).max() < 2e-7
    assert np.abs(got[:, head - 1] - body[:, 0]).max() < 1e-6  # the head ends on the source's first sample
    creds = read_credentials(path)
    assert creds["valid"]
    action = creds["manifest"]["actions"][0]
    assert action["digitalSourceType"].endswith("compositeWithTrainedAlgorithmicMedia")
    splice = creds["manifest"]["lengthen"]["org.lengthen.splice"]
    ranges = {r["direction"]: r["frames"] for r in splice["generated_ranges"]}
    assert ranges == {"head": {"first": 0, "last": 2}, "tail": {"first": 25, "last": 30}}
    assert splice["source_frames"] == {"first": 3, "last": 24}
    titles = {i["title"]: i["relationship"] for i in creds["manifest"]["ingredients"]}
    assert titles == {media.name: "componentOf", **{g.path.name: "componentOf" for g in outcome.generated}}
