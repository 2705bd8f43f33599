"""ShotSpec: one planned extension, the plain value that flows from planning to engines; and
what rendering it gives (:class:`ShotOutcome`, :class:`GeneratedMedia`), plain values that the
pipeline makes and the timeline writers read.

A shot is a run of source frames ``[first, last]`` (inclusive, 0-based display-order frame
numbers of ``media``) that the engine may read as context; it never reads outside that run, so
context never crosses a cut. ``tail_frames`` are generated after ``last``, ``head_frames`` before
``first``. Generated frames are numbered on the source's own frame line: the tail's first frame is
``last + 1`` and carries the timecode of that position, so the new media continues the source's
timecode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from .errors import LengthenError, UsageError
from .timecode import frames_to_timecode, is_drop_frame_timecode, offset_timecode, rate_str, timecode_to_frames


@dataclass(frozen=True)
class ShotSpec:
    clip: str  # clip name as the editor sees it
    media: str  # path of the source media
    rate: Fraction  # the media's exact frame rate
    first: int  # first source frame of the shot (context may be read from here ...)
    last: int  # ... to here, inclusive
    head_frames: int = 0
    tail_frames: int = 0
    start_timecode: str = "00:00:00:00"  # timecode of media frame 0
    track: str | None = None
    clip_id: str | None = None  # stable identity inside a timeline, e.g. "V1/3"
    timeline_in: int | None = None  # timeline frame (at timeline_rate) where the visible clip starts
    timeline_out: int | None = None  # timeline frame after the visible clip ends (exclusive)
    timeline_rate: Fraction | None = None
    metadata: dict = field(default_factory=dict, compare=False)
    prompt: str | None = None  # the shot described for the GPU engines (spec file, panel); None: the run's

    def __post_init__(self) -> None:
        if self.first < 0 or self.last < self.first:
            raise UsageError(f"shot range {self.first}:{self.last} is empty or negative", clip=self.clip)
        if self.head_frames < 0 or self.tail_frames < 0:
            raise UsageError("head and tail frame counts must not be negative", clip=self.clip)
        object.__setattr__(self, "rate", Fraction(self.rate))

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def directions(self) -> list[str]:
        return [d for d, n in (("head", self.head_frames), ("tail", self.tail_frames)) if n > 0]

    def frames_for(self, direction: str) -> int:
        return self.head_frames if direction == "head" else self.tail_frames

    def generated_first_frame(self, direction: str) -> int:
        """Source frame number of the first generated frame (negative for a head before frame 0)."""
        return self.first - self.head_frames if direction == "head" else self.last + 1

    def generated_timecode(self, direction: str) -> str:
        """Timecode of the first generated frame: continuous with the source, except for a head that
        would start before 00:00:00:00 (no negative time): its media is re-based to start at
        00:00:00:00 (it has its own reel, so a conform still tells it from the source)."""
        first = self.generated_first_frame(direction)
        if timecode_to_frames(self.start_timecode, self.rate) + first < 0:
            return frames_to_timecode(0, self.rate, is_drop_frame_timecode(self.start_timecode))
        return offset_timecode(self.start_timecode, first, self.rate)

    def context_range(self, direction: str, frames: int) -> tuple[int, int]:
        """The ``frames`` source frames nearest the cut for ``direction``, inside the shot."""
        frames = max(1, min(frames, self.length))
        if direction == "head":
            return self.first, self.first + frames - 1
        return self.last - frames + 1, self.last

    def with_lengths(self, head: int, tail: int) -> "ShotSpec":
        return replace(self, head_frames=head, tail_frames=tail)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["rate"] = rate_str(self.rate)
        if self.timeline_rate is not None:
            data["timeline_rate"] = rate_str(self.timeline_rate)
        return data


@dataclass
class GeneratedMedia:
    direction: str  # "head" | "tail"
    path: Path  # written media: its frames 0..frames-1 are the generated frames
    frames: int
    source_first_frame: int  # position of the first generated frame on the source's frame line
    start_timecode: str  # timecode of the first generated frame, continuous with the source
    metadata: dict = field(default_factory=dict)  # goes into OTIO metadata["lengthen"]


@dataclass
class ShotOutcome:
    spec: ShotSpec
    generated: list[GeneratedMedia] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    error: LengthenError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
