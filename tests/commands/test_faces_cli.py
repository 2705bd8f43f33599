"""`lengthen faces`: scan form and edit form through the real CLI entry point."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from lengthen.cli import main


def run(capsys, *argv):
    code = main(["faces", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scanned(testdata, tmp_path_factory):
    """One real scan (the 1-second party clip: 3 sampled frames) plus an unreadable input."""
    out = tmp_path_factory.mktemp("banks") / "cast"
    bad = out.parent / "bad.mov"
    bad.write_bytes(b"\x00" * 100)
    clip = testdata / "video" / "openmpf__video_01_h265_aac.mp4"
    code = main(["faces", str(clip), str(bad), "-o", str(out), "--json"])
    return code, out


def test_scan_writes_banks_and_reports_the_bad_input(scanned, capsys):
    code, out = scanned
    assert code == 1  # one input failed, the other was scanned
    index = json.loads((out / "characters.json").read_text())
    assert index["schema"] == "lengthen.characters" and len(index["characters"]) == 3
    for c in index["characters"]:
        assert (out / c["folder"] / "bank.json").is_file()
        assert (out / c["folder"] / "embeddings.safetensors").is_file()
    assert (out / "contact_sheet.png").stat().st_size > 1000


def test_json_output_and_edit_form(scanned, capsys, tmp_path, testdata):
    _, src = scanned
    cast = tmp_path / "cast"
    shutil.copytree(src, cast)
    code, out, err = run(capsys, "--rename", "char_001", "Maria", "--json", cast)
    assert code == 0, err
    chars = json.loads(out)["characters"]
    assert [c["name"] for c in chars][0] == "Maria"
    c = chars[0]
    assert set(c) == {"id", "name", "faces", "references", "appearances"}
    assert c["faces"] >= 2 and c["appearances"][0]["first_frame"] == 0
    assert c["appearances"][0]["media"].endswith("openmpf__video_01_h265_aac.mp4")

    faces = {c["id"]: c["faces"] for c in chars}
    code, out, err = run(capsys, "--merge", "Maria", "char_002", "--json", cast)
    chars = json.loads(out)["characters"]
    assert code == 0 and [c["id"] for c in chars] == ["char_001", "char_003"]
    assert chars[0]["faces"] == faces["char_001"] + faces["char_002"]
    assert not (cast / "char_002").exists()

    photo = testdata / "images" / "skimage__astronaut.png"
    code, out, err = run(capsys, "--add-ref", f"Eileen={photo}", "--json", cast)
    chars = json.loads(out)["characters"]
    assert code == 0 and chars[-1]["name"] == "Eileen" and chars[-1]["faces"] == 1

    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (120, 120), (90, 90, 90)).save(blank)
    code, out, err = run(capsys, "--add-ref", f"Eileen={blank}", cast)
    assert code == 1 and "blank.png" in err and "no face" in err


def test_corrupt_bank_dir_is_not_overwritten(scanned, capsys, tmp_path, testdata):
    _, src = scanned
    cast = tmp_path / "cast"
    shutil.copytree(src, cast)
    (cast / "char_002" / "bank.json").write_text("{oops")
    before = snapshot(cast)
    code, out, err = run(capsys, "--rename", "char_001", "X", cast)
    assert code == 2 and "char_002/bank.json" in err
    (cast / "characters.json").write_text('{"schema": "lengthen.characters", "version": 7}')
    before = snapshot(cast)
    code, out, err = run(capsys, testdata / "images" / "skimage__astronaut.png", "-o", cast)
    assert code == 2 and "characters.json" in err and "version 7" in err
    assert snapshot(cast) == before


def test_timeline_input_without_faces_gives_an_empty_set(tmp_path, capsys):
    import av
    import opentimelineio as otio

    media = tmp_path / "media"
    media.mkdir()
    clip_path = media / "grey.mov"
    with av.open(str(clip_path), "w") as container:
        stream = container.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 100 + i, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    timeline = otio.schema.Timeline(name="t")
    track = otio.schema.Track()
    timeline.tracks.append(track)
    ref = otio.schema.ExternalReference(target_url="media/grey.mov")
    track.append(
        otio.schema.Clip(
            name="grey",
            media_reference=ref,
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(12, 24)
            ),
        )
    )
    otio.adapters.write_to_file(timeline, str(tmp_path / "cut.otio"))
    out = tmp_path / "cast"
    code, stdout, err = run(capsys, tmp_path / "cut.otio", "-o", out, "--json")
    assert code == 0 and "no faces found" in err
    assert json.loads(stdout) == {"characters": []}
    assert json.loads((out / "characters.json").read_text())["characters"] == []
    assert (out / "contact_sheet.png").is_file()
    # the only input cannot be read: nothing readable, exit 2 (issue 15's policy), nothing written
    code, stdout, err = run(capsys, tmp_path / "missing.otio", "-o", tmp_path / "other")
    assert code == 2 and "missing.otio" in err and not (tmp_path / "other").exists()


def test_usage_errors(capsys, tmp_path):
    assert run(capsys, tmp_path / "a.mov")[0] == 2  # no -o
    assert run(capsys, "--merge", "a", "b", tmp_path, tmp_path)[0] == 2  # two DIRs
    assert run(capsys, "--add-ref", "nobody", tmp_path)[0] == 2  # no characters.json here


def test_insightface_without_models(capsys, tmp_path, monkeypatch):
    from lengthen.faces.backends import registry

    assert "insightface" in registry.BACKENDS
    monkeypatch.setenv("LENGTHEN_INSIGHTFACE_ROOT", str(tmp_path / "none"))
    from lengthen.media.synthetic import stamped_clip

    clip = stamped_clip(tmp_path / "a.mp4", 4, rate="24", size=(64, 96))  # inputs are checked before the backend
    code, out, err = run(capsys, clip, "-o", tmp_path / "o", "--backend", "insightface")
    assert code == 2 and "buffalo_l" in err and "non-commercial" in err
    assert str(tmp_path / "none" / "models" / "buffalo_l") in err and not (tmp_path / "o").exists()
