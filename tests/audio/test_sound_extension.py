"""Extended sound (issue 20): continuity at the seam, level and spectrum, exact lengths, no words.

Tolerances (stated in the README): at the seam the first generated sample equals the last source
sample and no step in the first 50 ms exceeds the largest step of the source's last second; the
extension's RMS is within 1.5 dB of the source's last second and every octave band from 125 Hz to
8 kHz within 3 dB (within 12 dB for bands more than 30 dB below the loudest); a run of n frames
from frame f gets exactly floor((v0 + (f+n)/rate) * sr) - floor((v0 + f/rate) * sr) samples, never a
whole sample away from n * sr / rate.
"""

from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from lengthen.audio import audio_for_frames, extend_audio, read_audio
from lengthen.audio.ambience import octave_bands_db, rms_db
from lengthen.audio.shot import ShotSound
from lengthen.cli import main

NTSC = [Fraction(24000, 1001), Fraction(30000, 1001)]


@pytest.mark.parametrize("direction", ["tail", "head"])
def test_continuity_level_and_spectrum_on_a_real_clip(testdata, direction):
    """openmpf video 01 (AAC stereo 44.1 kHz, a crowd at an event): 2 s continued at each end."""
    media = testdata / "video" / "openmpf__video_01.mp4"
    rate = Fraction(30000, 1001)
    sound = ShotSound.load(media, 0, 89, rate)
    src = sound.ends[direction]
    first = 90 if direction == "tail" else -60
    made = sound.extend(direction, first, 60, seed=3)
    x = made.samples
    assert x.shape == (2, audio_for_frames(first, 60, rate, 44100, src.video_start)) == (2, 88288)
    assert made.sample_rate == 44100 and made.layout == "stereo" and x.dtype == np.float32
    if direction == "tail":
        seam = src.frame_sample(90)
        last = src.slice(seam - 44100, seam)
        joined = np.concatenate([last, x], axis=1)
        at = last.shape[1]
    else:
        seam = src.frame_sample(0)
        last = src.slice(seam, seam + 44100)
        joined = np.concatenate([x, last], axis=1)
        at = x.shape[1]
    steps = np.abs(np.diff(joined, axis=1))
    own = np.abs(np.diff(last, axis=1))
    assert steps[:, at - 1].max() <= np.percentile(own, 50)  # the seam itself: no step at all
    window = steps[:, at - 1 - 2205 : at - 1 + 2205] if direction == "tail" else steps[:, at - 2205 : at + 2205]
    assert window.max() <= own.max()  # no click: nothing above the source's own sample-to-sample level
    assert abs(rms_db(x) - rms_db(last)) <= 1.5
    bands, want = octave_bands_db(x, 44100), octave_bands_db(last, 44100)
    main_bands = want > want.max() - 30  # 4-8 kHz is 47 dB down here, above the AAC encoder's cutoff
    assert np.abs(bands - want)[main_bands].max() <= 3.0
    assert np.abs(bands - want)[~main_bands].max() <= 12.0
    assert made.extension.method == "ambience" and not made.extension.warnings


def test_the_continuation_does_not_loop_or_copy(testdata):
    """Random-phase grains: no periodicity in 4 s of continuation, and no stretch of it is the
    source waveform (normalised cross-correlation with the analysis stretch stays low)."""
    media = testdata / "video" / "openmpf__video_01.mp4"
    rate = Fraction(30000, 1001)
    sound = ShotSound.load(media, 0, 89, rate)
    x = sound.extend("tail", 90, 120, seed=0).samples[0, 2000:].astype(np.float64)
    spectrum = np.fft.rfft(x - x.mean(), n=2 * len(x))
    auto = np.fft.irfft(np.abs(spectrum) ** 2)[: len(x)]
    auto /= auto[0]
    assert np.abs(auto[2205:]).max() < 0.1  # beyond 50 ms nothing repeats (the source's own: 0.16)
    ctx = sound.audio.slice(sound.audio.frame_sample(60), sound.audio.frame_sample(90))[0].astype(np.float64)
    probe = x[:4096]
    corr = np.correlate(ctx, probe, mode="valid") / (
        np.linalg.norm(probe) * np.sqrt(np.convolve(ctx**2, np.ones(len(probe)), mode="valid")) + 1e-12
    )
    assert np.abs(corr).max() < 0.5  # a copied stretch would score 1.0; chance with this low-passed crowd: ~0.3


def _speech_like(sr: int, seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Room tone at about -50 dBFS under 'syllables': a 140 Hz harmonic voice switched on and off
    4 times a second at about -18 dBFS. Returns (mix, the room tone alone)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    room = np.cumsum(rng.normal(0, 1, (2, len(t))), axis=1)  # brown-ish
    room -= np.convolve(room[0], np.ones(64) / 64, "same")
    room = rng.normal(0, 1, (2, len(t))) * 0.0032
    voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12)) * 0.12
    gate = (np.sin(2 * np.pi * 4 * t) > 0.2).astype(np.float64)
    gate = np.convolve(gate, np.hanning(400) / np.hanning(400).sum(), "same")
    return (room + voice * gate).astype(np.float32), room.astype(np.float32)


def test_speech_falls_back_to_the_ambience_under_it():
    sr = 48000
    mix, room = _speech_like(sr, 1.5)
    ext = extend_audio(mix, 2 * sr, sr, "tail", seed=1)
    assert ext.method == "ambience-under-foreground" and "speech or music" in ext.warnings[0]
    x = ext.samples[:, int(0.05 * sr) :]  # after the crossfade
    assert abs(rms_db(x) - rms_db(room)) <= 3.0  # the room tone's level, not the voice's (about 30 dB up)
    f = np.fft.rfftfreq(x.shape[1], 1 / sr)
    p = 10 * np.log10(np.abs(np.fft.rfft(x[0])) ** 2 + 1e-20)
    voiced = np.isin(np.round(f), [140 * k for k in range(1, 6)])
    assert p[voiced].mean() - np.median(p[(f > 100) & (f < 800)]) < 6.0  # no harmonics of the voice carried over


def test_silence_when_there_is_nothing_to_continue():
    sr = 44100
    ext = extend_audio(np.zeros((2, sr), np.float32), 1000, sr, "tail")
    assert ext.method == "silence" and not ext.samples.any() and ext.samples.shape == (2, 1000)
    short = extend_audio(np.full((1, 500), 0.1, np.float32), 1000, sr, "head")
    assert short.method == "silence" and "silent" in short.warnings[0]
    assert short.samples[0, -1] == pytest.approx(0.1)  # still no step at the seam (head: the last sample)
    assert np.abs(np.diff(short.samples[0])).max() < 0.01


@pytest.mark.parametrize("rate", NTSC)
@pytest.mark.parametrize("sr", [48000, 44100])
def test_sample_counts_are_exact_at_ntsc_rates(rate, sr):
    v0 = Fraction(1001, 30000)
    total = 0
    for start in range(-7, 200, 7):  # runs laid end to end add up, with no drift
        n = audio_for_frames(start, 7, rate, sr, v0)
        assert abs(n - Fraction(7 * sr) / rate) < 1
        total += n
    assert total == audio_for_frames(-7, 7 * len(range(-7, 200, 7)), rate, sr, v0)
    if rate == Fraction(24000, 1001) and sr == 48000:
        assert audio_for_frames(5, 48, rate, sr) == 48 * 2002  # 2002 samples per frame exactly


def _clip_with_sound(path, rate: Fraction, sr: int, frames: int = 40) -> None:
    """A small ProRes .mov with steady noise on a 48k/44.1k stereo PCM track (tests only)."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="mov") as c:
        v = c.add_stream("prores_ks", rate=rate)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv422p10le"
        v.time_base = 1 / rate
        a = c.add_stream("pcm_s16le", rate=sr, layout="stereo")
        samples = int(frames * sr / rate) + sr
        noise = (rng.normal(0, 0.05, (samples, 2)) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(noise, format="s16", layout="stereo")
        frame.sample_rate, frame.pts = sr, 0
        for p in a.encode(frame):
            c.mux(p)
        for p in a.encode(None):
            c.mux(p)
        for i in range(frames):
            img = np.zeros((48, 64, 3), np.uint8)
            img[:, (i * 3) % 64] = 255
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            for p in v.encode(vf):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)


@pytest.mark.parametrize("rate,sr", [(NTSC[0], 48000), (NTSC[1], 44100)])
def test_generated_mov_picture_and_sound_are_the_same_length(tmp_path, rate, sr):
    clip = tmp_path / "shot.mov"
    _clip_with_sound(clip, rate, sr)
    out = tmp_path / "out"
    args = ["extend", str(clip), "--head", "7f", "--tail", "1s", "--engine", "freeze", "--no-faces", "-o", str(out)]
    assert main([*args, "--json"]) == 0
    report = json.loads((out / "report.json").read_text())
    for direction, n in (("head", 7), ("tail", round(rate))):
        media = report["directions"][direction]["media"]
        with av.open(media) as c:
            (as_,) = c.streams.audio
            assert as_.codec_context.name == "pcm_s24le" and as_.codec_context.sample_rate == sr
            assert as_.codec_context.layout.name == "stereo"
            got = sum(f.samples for f in c.decode(as_))
        first = -7 if direction == "head" else 40
        assert got == audio_for_frames(first, n, rate, sr) == report["directions"][direction]["audio"]["samples"]
        assert abs(Fraction(got, sr) - n / rate) < Fraction(1, sr)  # picture and sound last the same
    assert report["audio"] == "generated"


def test_no_audio_and_audio_only(tmp_path, capsys):
    clip = tmp_path / "shot.mov"
    _clip_with_sound(clip, NTSC[0], 48000, frames=24)
    out = tmp_path / "out"
    base = ["extend", str(clip), "--tail", "4f", "--engine", "freeze", "--no-faces", "-o", str(out)]
    assert main([*base, "--no-audio"]) == 0
    (media,) = (out / "media").glob("*.mov")
    with av.open(str(media)) as c:
        assert not c.streams.audio
    capsys.readouterr()
    assert main([*base, "--audio-only"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--audio-only" in err[0] and "Traceback" not in err[0]
    assert len(list((out / "media").glob("*.mov"))) == 1  # nothing new written


def test_source_audio_reads_every_codec_in_testdata(testdata):
    """AAC, Opus and MP3 sources land on the picture's sample line with their own rate and layout."""
    rate = Fraction(30000, 1001)
    for name, sr in [
        ("openmpf__video_01_h265_aac.mp4", 44100),
        ("openmpf__video_01_vp8_opus.webm", 48000),
        ("openmpf__video_01_xvid_aac.avi", 44100),
    ]:
        a = read_audio(testdata / "video" / name, 0, 29, rate)
        assert a.sample_rate == sr and a.layout == "stereo"
        assert a.samples.shape[1] == a.frame_sample(30) - a.frame_sample(0)
        assert rms_db(a.samples) > -40
