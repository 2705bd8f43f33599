"""lengthen's OpenTimelineIO plugin (registered through the ``opentimelineio.plugins`` entry
point; OTIO reads ``plugin_manifest.json`` beside this file).

It declares one media linker, ``lengthen_media``: when a timeline that lengthen wrote moves to
another machine, the generated media (ProRes files named ``<clip>_<head|tail>_v001.mov``) are
usually copied along in a folder of their own. For every clip that carries lengthen's metadata
and whose media is missing, the linker looks for the file of the same name in the search paths
and relinks the clip to it. Everything else is returned unchanged.

    otio.adapters.read_from_file("cut_lengthen.otio", media_linker_name="lengthen_media",
                                 media_linker_argument_map={"search_paths": ["/mnt/show/lengthen"]})

or set ``OTIO_DEFAULT_MEDIA_LINKER=lengthen_media`` and ``LENGTHEN_MEDIA_PATH`` (os.pathsep
separated folders) so every OTIO reader (otioview, otioconvert, an NLE bridge) relinks them.
"""
