"""C2PA Content Credentials (issue 20), read back with the C2PA reference library's own reader."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import av
import c2pa
import opentimelineio as otio
import pytest

from lengthen.cli import main
from lengthen.credentials import read_credentials, resolve_signer
from lengthen.credentials.identity import _make_test_identity
from lengthen.errors import UsageError

IPTC_TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@pytest.fixture(scope="module")
def extended(testdata, tmp_path_factory):
    """The acceptance run: `lengthen extend openmpf__video_01.mp4 --tail 2s` (motion engine)."""
    out = tmp_path_factory.mktemp("extend") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LENGTHEN_CACHE", str(out.parent / "cache"))  # the test identity is made once here
        mp.setenv("LENGTHEN_CONFIG", str(out.parent / "config"))  # no user settings
        mp.delenv("LENGTHEN_C2PA_CERT", raising=False)
        clip = testdata / "video" / "openmpf__video_01.mp4"
        args = ["extend", str(clip), "--tail", "2s", "--engine", "motion", "--no-faces", "-o", str(out)]
        assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    return clip, out, report, Path(report["directions"]["tail"]["media"])


def test_extend_writes_a_mov_with_sound_as_long_as_the_picture(extended):
    _, _, report, media = extended
    with av.open(str(media)) as c:
        (v,), (a,) = c.streams.video, c.streams.audio
        frames = sum(1 for _ in c.demux(v) if _.size)
    with av.open(str(media)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    assert frames == 60 and a.codec_context.name == "pcm_s24le" and a.codec_context.sample_rate == 44100
    assert samples == 88288  # floor(150 * 1471.47) - floor(90 * 1471.47) on the source's sample line
    assert abs(samples / 44100 - 60 * 1001 / 30000) < 1 / 44100


def test_manifest_validates_with_the_library_reader_and_names_the_source(extended):
    clip, _, report, media = extended
    reader = c2pa.Reader(str(media))  # the reference library, not our summary
    assert reader.get_validation_state() == "Valid"  # intact, signer not on a trust list
    failures = reader.get_validation_results()["activeManifest"].get("failure", [])
    assert [f["code"] for f in failures] == ["signingCredential.untrusted"]
    manifest = reader.get_active_manifest()
    (ingredient,) = manifest["ingredients"]
    digest = hashlib.sha256(clip.read_bytes()).hexdigest()
    assert ingredient["title"] == clip.name and ingredient["instance_id"] == f"sha256:{digest}"
    assert ingredient["relationship"] == "inputTo"
    by_label = {a["label"]: a["data"] for a in manifest["assertions"]}
    (action,) = by_label["c2pa.actions.v2"]["actions"]
    assert action["action"] == "c2pa.created" and action["digitalSourceType"] == IPTC_TRAINED
    ours = by_label["org.lengthen.generation"]
    assert ours["engine"] == "motion" and ours["seed"] == 0 and ours["identity_banks"] == []
    assert ours["source_frame_range"] == {"first": 90, "last": 149}
    assert (ours["timecode_in"], ours["timecode_out"]) == ("00:00:03:00", "00:00:04:29")
    assert ours["model"] and ours["sound"] == {"method": "ambience", "sample_rate": 44100, "samples": 88288}
    assert ours["source_sha256"] == digest
    assert manifest["signature_info"]["common_name"].endswith("(NOT a trusted identity)")
    assert (
        report["credentials"]["trusted_identity"] is False
        and "not a trusted identity" in report["credentials"]["note"]
    )
    creds = report["directions"]["tail"]["credentials"]
    assert creds["written"] and creds["trusted_identity"] is False and "not a trusted identity" in creds["note"]


def test_verify_prints_the_credentials(extended, capsys):
    clip, _, _, media = extended
    capsys.readouterr()
    assert main(["verify", str(media)]) == 0
    text = capsys.readouterr().out
    assert "credentials: VALID" in text and "signer NOT a trusted identity" in text
    assert "action: c2pa.created (trainedAlgorithmicMedia)" in text
    assert f"ingredient: {clip.name} [inputTo] sha256:" in text
    assert "source_frame_range" in text
    assert main(["verify", str(clip)]) == 1  # a file without credentials (the camera original)
    assert "no Content Credentials" in capsys.readouterr().out


def test_a_tampered_file_fails_validation(extended, tmp_path, capsys):
    _, _, _, media = extended
    data = bytearray(media.read_bytes())
    at = data.find(b"mdat") + 4000  # a byte of picture or sound
    data[at] ^= 0x55
    bad = tmp_path / "tampered.mov"
    bad.write_bytes(bytes(data))
    result = read_credentials(bad)
    assert result["has_credentials"] and not result["valid"] and result["validation_state"] == "Invalid"
    assert any(f["code"] == "assertion.bmffHash.mismatch" for f in result["failures"])
    capsys.readouterr()
    assert main(["verify", str(bad), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["valid"] is False


def test_result_timeline_has_the_sound_in_sync(extended):
    _, out, _, media = extended
    (path,) = out.glob("*.otio")
    timeline = otio.adapters.read_from_file(str(path))
    video, audio = timeline.tracks
    assert (video.kind, audio.kind) == (otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio)
    pairs = list(zip(video.find_clips(), audio.find_clips(), strict=True))
    for v, a in pairs:
        assert a.range_in_parent() == v.range_in_parent() and a.source_range == v.source_range
        assert a.media_reference.target_url == v.media_reference.target_url
    generated = pairs[-1][1]
    assert generated.metadata["lengthen"]["kind"] == "audio" and generated.name.endswith("[lengthen tail]")
    assert Path(otio.url_utils.filepath_from_url(generated.media_reference.target_url)) == media


def _split_identity(folder: Path) -> tuple[Path, Path]:
    pem = _make_test_identity().decode()
    key_end = pem.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----\n")
    key, cert = folder / "key.pem", folder / "cert.pem"
    key.write_text(pem[:key_end])
    cert.write_text(pem[key_end:])
    return cert, key


def test_signing_with_the_users_certificate(tmp_path, monkeypatch, testdata, capsys):
    cert, key = _split_identity(tmp_path)
    signer = resolve_signer(cert, key)
    assert signer.source == "user" and signer.alg == "es256" and signer.trusted_identity is None
    monkeypatch.setenv("LENGTHEN_C2PA_CERT", str(cert))
    monkeypatch.setenv("LENGTHEN_C2PA_KEY", str(key))
    assert resolve_signer().source == "user"
    (tmp_path / "other").mkdir()
    other_cert, _ = _split_identity(tmp_path / "other")
    with pytest.raises(UsageError, match="does not belong"):
        resolve_signer(other_cert, key)
    with pytest.raises(UsageError, match="both"):
        resolve_signer(cert, None)
    with pytest.raises(UsageError, match="not found"):
        resolve_signer(tmp_path / "nope.pem", key)
    # a bad certificate is refused before any work, in one line, exit 2
    out = tmp_path / "out"
    clip = testdata / "video" / "openmpf__video_01_h265_aac.mp4"
    args = ["extend", str(clip), "--tail", "4f", "--engine", "freeze", "--no-faces", "-o", str(out)]
    capsys.readouterr()
    assert main([*args, "--c2pa-cert", str(other_cert), "--c2pa-key", str(key)]) == 2
    assert "does not belong" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--c2pa-cert", str(cert), "--c2pa-key", str(key)]) == 0
    (media,) = (out / "media").glob("*.mov")
    result = read_credentials(media)
    assert result["valid"] and result["manifest"]["lengthen"]["org.lengthen.generation"]["signer"]["source"] == "user"


def test_the_local_test_identity_is_made_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LENGTHEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LENGTHEN_CONFIG", str(tmp_path / "config"))
    monkeypatch.delenv("LENGTHEN_C2PA_CERT", raising=False)
    monkeypatch.delenv("LENGTHEN_C2PA_KEY", raising=False)
    first, again = resolve_signer(), resolve_signer()
    assert first.source == "test" and first.cert_pem == again.cert_pem and first.trusted_identity is False
    assert oct((tmp_path / "cache" / "credentials" / "c2pa_test_identity.pem").stat().st_mode)[-3:] == "600"
    cert, key = _split_identity(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "c2pa.json").write_text(json.dumps({"cert": str(cert), "key": str(key)}))
    assert resolve_signer().source == "user"


def _sign_as_another_tool(source: Path, dest: Path, signer, *, sidecar: bool = False) -> None:
    """Credentials made directly with the C2PA library, as another application would."""
    manifest = {
        "claim_generator_info": [{"name": "another-editor", "version": "9.1"}],
        "title": dest.name,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": IPTC_TRAINED.replace("trainedAlgorithmicMedia", "digitalCapture"),
                        }
                    ]
                },
            }
        ],
    }
    builder = c2pa.Builder(manifest)
    if sidecar:
        builder.set_no_embed()
    with signer.signer() as s, open(source, "rb") as src, open(dest, "w+b") as dst:
        store = builder.sign(s, "image/png", src, dst)
    if sidecar:
        dest.with_suffix(".c2pa").write_bytes(store)


def test_verify_reads_another_tools_credentials_embedded_or_sidecar(testdata, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LENGTHEN_CONFIG", str(tmp_path / "config"))
    signer = resolve_signer()
    photo = testdata / "images" / "skimage__astronaut.png"
    embedded, side = tmp_path / "embedded.png", tmp_path / "side.png"
    _sign_as_another_tool(photo, embedded, signer)
    _sign_as_another_tool(photo, side, signer, sidecar=True)
    assert side.read_bytes() == photo.read_bytes() and side.with_suffix(".c2pa").is_file()  # nothing embedded
    capsys.readouterr()
    assert main(["verify", str(embedded), str(side)]) == 0
    text = capsys.readouterr().out
    assert text.count("credentials: VALID") == 2 and text.count("made with: another-editor 9.1") == 2
    assert "action: c2pa.created (digitalCapture)" in text


def test_signing_a_long_named_file_goes_through_the_shared_temporary_name(extended, tmp_path, monkeypatch):
    """Credentials are embedded through fsutil.atomic_path (temporary name cut to 80 characters of
    the stem): a 240-character name, which a '.{stem}.xxxxxxxx.c2pa.mov' temporary file could not
    have (over 255 bytes), is signed, and nothing temporary is left beside it."""
    import shutil

    from lengthen.credentials import sign_generated

    clip, out, _, media = extended
    monkeypatch.setenv("LENGTHEN_CACHE", str(out.parent / "cache"))
    monkeypatch.setenv("LENGTHEN_CONFIG", str(out.parent / "config"))
    monkeypatch.delenv("LENGTHEN_C2PA_CERT", raising=False)
    target = tmp_path / ("x" * 240 + ".mov")
    shutil.copyfile(media, target)
    report = sign_generated(target, clip, {"direction": "tail", "frames_generated": 60}, resolve_signer())
    assert report["written"] and sorted(tmp_path.iterdir()) == [target]
    result = read_credentials(target)
    assert result["valid"] and result["manifest"]["title"] == target.name


def test_a_run_loads_the_signing_certificate_once(testdata, tmp_path, monkeypatch, capsys):
    """Review finding: the certificate and key were read and parsed again for every shot and every
    splice. A two-shot `lengthen timeline --splice` (four signed files) parses the key once."""
    import sys

    from cryptography.hazmat.primitives import serialization

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timeline"))
    from builders import media_clip, timeline, track, write

    cert, key = _split_identity(tmp_path)  # new files: nothing loaded from them yet in this process
    parsed = []
    real = serialization.load_pem_private_key
    monkeypatch.setattr(serialization, "load_pem_private_key", lambda *a, **k: parsed.append(a) or real(*a, **k))
    mpf = testdata / "video" / "openmpf__video_01_h265_aac.mp4"  # 31 frames
    rate = "30000/1001"
    cut = write(
        timeline("two", [track("V1", [media_clip("a", mpf, 0, 10), media_clip("b", mpf, 21, 10)])], rate),
        tmp_path / "two.otio",
    )
    out = tmp_path / "out" / "two_ext.otio"
    args = ["timeline", str(cut), "-o", str(out), "--handles", "2", "--engine", "freeze", "--no-faces", "--splice"]
    capsys.readouterr()
    assert main([*args, "--c2pa-cert", str(cert), "--c2pa-key", str(key), "--json"]) == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    made = [Path(g["media"]) for s in summary["shots"] for g in s["generated"]]
    spliced = sorted((tmp_path / "out").rglob("*_spliced*.mov"))
    assert len(made) == 2 and len(spliced) == 2
    for media in [*made, *spliced]:
        result = read_credentials(media)
        assert result["valid"] and result["manifest"]["lengthen"]
    assert len(parsed) == 1
