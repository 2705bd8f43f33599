"""Extended sound: continue a shot's ambience under generated frames.

``source.py`` reads a media file's first audio stream as float samples on one sample line that
the picture shares (:func:`~lengthen.audio.source.frame_sample`: the sample where a video frame
starts, exact rational arithmetic, so consecutive runs add up with no drift at 23.976 or 29.97).
``ambience.py`` synthesizes the continuation (random-phase grains with the source's spectral
envelope, an equal-power crossfade at the seam) and says what it did. Only numpy and PyAV.
"""

from .ambience import AudioExtension, extend_audio
from .source import SourceAudio, audio_for_frames, frame_sample, read_audio

__all__ = ["AudioExtension", "SourceAudio", "audio_for_frames", "extend_audio", "frame_sample", "read_audio"]
