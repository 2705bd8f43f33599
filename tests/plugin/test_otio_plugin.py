"""The lengthen OTIO plugin: manifest loading (entry point and OTIO_PLUGIN_MANIFEST_PATH) and the
``lengthen_media`` linker relinking moved generated media."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

import lengthen.otio_plugin as plugin_pkg
from lengthen.otio_plugin.media_linker import link_media_reference, search_folders

MANIFEST = Path(plugin_pkg.__file__).with_name("plugin_manifest.json")


@pytest.fixture
def fresh_manifest(monkeypatch):
    """Reload OTIO's manifest for the test and restore the normal one afterwards."""
    yield monkeypatch
    monkeypatch.undo()
    otio.plugins.ActiveManifest(force_reload=True)


def _generated_timeline(media: Path, moved_from: Path) -> otio.schema.Timeline:
    """A timeline as lengthen writes it, whose generated clip points at a file that is gone."""
    rate = 24
    ref = otio.schema.ExternalReference(
        target_url=otio.url_utils.url_from_filepath(str(moved_from)),
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(4, rate)
        ),
    )
    gen = otio.schema.Clip(
        name="party [lengthen tail]",
        media_reference=ref,
        metadata={"lengthen": {"schema_version": 1, "direction": "tail", "media": str(moved_from)}},
    )
    plain = otio.schema.Clip(
        name="other",
        media_reference=otio.schema.ExternalReference(
            target_url=otio.url_utils.url_from_filepath(str(moved_from.with_name("not_ours.mov")))
        ),
    )
    tl = otio.schema.Timeline(name="t")
    track = otio.schema.Track(name="LENGTHEN")
    track.extend([gen, plain])
    tl.tracks.append(track)
    return tl


def test_manifest_from_entry_point_and_env(fresh_manifest, tmp_path):
    entry = importlib.metadata.EntryPoint(
        name="lengthen", value="lengthen.otio_plugin", group="opentimelineio.plugins"
    )
    fresh_manifest.setattr(otio.plugins.manifest, "plugin_entry_points", lambda: [entry])
    fresh_manifest.delenv("OTIO_PLUGIN_MANIFEST_PATH", raising=False)
    manifest = otio.plugins.ActiveManifest(force_reload=True)
    assert "lengthen_media" in otio.media_linker.available_media_linker_names()
    linker = manifest.from_name("lengthen_media", kind_list="media_linkers")
    assert Path(linker.filepath).name == "media_linker.py" and linker.module().link_media_reference is not None
    fresh_manifest.setattr(otio.plugins.manifest, "plugin_entry_points", lambda: [])
    fresh_manifest.setenv("OTIO_PLUGIN_MANIFEST_PATH", str(MANIFEST))
    otio.plugins.ActiveManifest(force_reload=True)
    assert "lengthen_media" in otio.media_linker.available_media_linker_names()


def test_linker_relinks_moved_generated_media(fresh_manifest, testdata, tmp_path):
    fresh_manifest.setenv("OTIO_PLUGIN_MANIFEST_PATH", str(MANIFEST))
    otio.plugins.ActiveManifest(force_reload=True)
    old = tmp_path / "machine_a" / "party_tail_v001.mov"  # where it was written; gone now
    new_home = tmp_path / "machine_b"
    (new_home / "cut_ext_media").mkdir(parents=True)
    shutil.copyfile(testdata / "video" / "openmpf__video_01_h265_aac.mp4", new_home / "cut_ext_media" / old.name)
    path = tmp_path / "cut_ext.otio"
    otio.adapters.write_to_file(_generated_timeline(new_home, old), str(path))
    result = otio.adapters.read_from_file(
        str(path), media_linker_name="lengthen_media", media_linker_argument_map={"search_paths": [str(new_home)]}
    )
    gen, plain = result.find_clips()
    assert (
        Path(otio.url_utils.filepath_from_url(gen.media_reference.target_url))
        == (new_home / "cut_ext_media" / old.name).resolve()
    )
    assert gen.media_reference.available_range.duration.value == 4  # everything else kept
    assert plain.media_reference.target_url.endswith("not_ours.mov")  # not lengthen's: untouched
    # the environment variable works as well, and nothing is found where nothing is
    fresh_manifest.setenv("LENGTHEN_MEDIA_PATH", str(tmp_path / "nowhere"))
    clip = _generated_timeline(new_home, old).find_clips()[0]
    assert link_media_reference(clip, {}).target_url == clip.media_reference.target_url
    fresh_manifest.setenv("LENGTHEN_MEDIA_PATH", str(new_home))
    assert link_media_reference(clip, {}).target_url.endswith("cut_ext_media/party_tail_v001.mov")


def test_otioconvert_passes_search_paths_as_one_string(fresh_manifest, testdata, tmp_path, monkeypatch):
    """``otioconvert -M search_paths=A:B`` hands the linker one string: it is split at os.pathsep,
    not iterated by character (the real console tool, run in process)."""
    from opentimelineio.console import otioconvert

    fresh_manifest.setenv("OTIO_PLUGIN_MANIFEST_PATH", str(MANIFEST))
    otio.plugins.ActiveManifest(force_reload=True)
    old = tmp_path / "machine_a" / "party_tail_v001.mov"
    elsewhere, new_home = tmp_path / "elsewhere", tmp_path / "machine_b"
    elsewhere.mkdir()
    (new_home / "cut_ext_media").mkdir(parents=True)
    shutil.copyfile(testdata / "video" / "openmpf__video_01_h265_aac.mp4", new_home / "cut_ext_media" / old.name)
    src, out = tmp_path / "cut_ext.otio", tmp_path / "relinked.otio"
    otio.adapters.write_to_file(_generated_timeline(new_home, old), str(src))
    paths = os.pathsep.join([str(elsewhere), str(new_home)])
    argv = ["otioconvert", "-i", str(src), "-o", str(out), "-m", "lengthen_media", "-M", f"search_paths={paths}"]
    monkeypatch.setattr(sys, "argv", argv)
    otioconvert.main()
    gen = otio.adapters.read_from_file(str(out), media_linker_name=None).find_clips()[0]
    assert (
        Path(otio.url_utils.filepath_from_url(gen.media_reference.target_url))
        == (new_home / "cut_ext_media" / old.name).resolve()
    )
    assert search_folders({"search_paths": paths}) == [elsewhere, new_home]
    assert search_folders({"search_paths": [str(elsewhere)]}) == [elsewhere]
