"""The sound of one shot's generated runs: what the pipeline and splicing call."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .ambience import ANALYSIS_S, AudioExtension, extend_audio
from .source import SourceAudio, read_audio


@dataclass
class GeneratedSound:
    extension: AudioExtension
    sample_rate: int
    layout: str
    first_sample: int  # on the source's sample line

    @property
    def stream(self) -> tuple[int, str]:
        return (self.sample_rate, self.layout)

    @property
    def samples(self) -> np.ndarray:
        return self.extension.samples

    def describe(self) -> dict:
        """What OTIO metadata, report.json and the C2PA assertion say about the sound."""
        return {
            "generated": True,
            "method": self.extension.method,
            "sample_rate": self.sample_rate,
            "layout": self.layout,
            "samples": int(self.samples.shape[1]),
            "codec": "pcm_s24le",
            "warnings": list(self.extension.warnings),
            **self.extension.info,
        }


class ShotSound:
    """The source's sound next to the shot's cuts: at most ``ANALYSIS_S`` seconds inside the shot
    at each end, read once per shot (a long shot's sound is never decoded whole)."""

    def __init__(self, ends: dict[str, SourceAudio], first: int, last: int) -> None:
        self.ends, self.first, self.last = ends, first, last

    @property
    def audio(self) -> SourceAudio:
        return self.ends.get("tail") or self.ends["head"]

    @classmethod
    def load(cls, media, first: int, last: int, rate, directions=("head", "tail")) -> "ShotSound | None":
        """None when the media has no audio stream."""
        reach = math.ceil(ANALYSIS_S * Fraction(rate)) + 1  # frames that cover the analysis stretch
        ends: dict[str, SourceAudio] = {}
        for direction in directions:
            a, b = (first, min(last, first + reach)) if direction == "head" else (max(first, last - reach), last)
            audio = read_audio(media, a, b, rate)
            if audio is None or audio.samples.shape[1] == 0:
                return None
            ends[direction] = audio
        return cls(ends, first, last) if ends else None

    def extend(self, direction: str, first_frame: int, frames: int, seed: int = 0) -> GeneratedSound:
        """Sound for generated frames ``first_frame .. first_frame + frames - 1`` (source frame line):
        exactly as many samples as the picture lasts on the source's sample line."""
        a = self.ends[direction]
        start, stop = a.frame_sample(first_frame), a.frame_sample(first_frame + frames)
        reach = int(ANALYSIS_S * a.sample_rate)
        if direction == "tail":
            seam = a.frame_sample(self.last + 1)
            context = a.slice(max(a.frame_sample(self.first), seam - reach), seam)
        else:
            seam = a.frame_sample(self.first)
            context = a.slice(seam, min(a.frame_sample(self.last + 1), seam + reach))
        ext = extend_audio(context, stop - start, a.sample_rate, direction, seed)
        return GeneratedSound(ext, a.sample_rate, a.layout, start)
