"""Continue a shot's ambience for a generated head or tail, without looping and without words.

Method (spectral grain synthesis):

1. **Analysis stretch**: up to ``ANALYSIS_S`` seconds of source next to the cut, as STFT frames
   (Hann window of about 46 ms, 75 % overlap). Stereo is analysed as mid/side, so the
   continuation keeps the source's width and inter-channel correlation; other layouts channel by
   channel.
2. **Foreground check**: speech and music make the speech-band energy of successive frames
   swing; steady ambience (room tone, traffic, crowd wash, air) does not. When the spread
   between the loud and quiet frames (90th - 10th percentile) exceeds ``FOREGROUND_SPREAD_DB``,
   only the quiet frames (the ambience *under* the speech or music) are used, so no syllable or
   note is carried over; if there is no usable quiet floor the extension is silence, with a
   warning.
3. **Grains**: every output frame takes the magnitude spectrum of a randomly chosen frame of the
   pool (RMS of two random frames) with uniformly random phases, and the frames are overlap-added.
   No stretch of the source waveform is copied, so nothing repeats and nothing loops; the long
   term spectrum and level match the pool's.
4. **Seam**: over ``CROSSFADE_S`` the generated sound crossfades with equal power (cos/sin) from
   the source mirrored about the seam (so the first generated sample equals the last source
   sample: no step, no click) into the grains. A head is the same in reverse time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ANALYSIS_S = 1.0  # seconds of source next to the cut that the ambience is learnt from
MIN_ANALYSIS_S = 0.1  # less than this (or digital silence) gives silence
CROSSFADE_S = 0.03  # equal-power crossfade at the seam
FOREGROUND_SPREAD_DB = 14.0  # speech-band frame energy spread (p90 - p10) that means speech/music
QUIET_MARGIN_DB = 4.0  # frames within this of the 15th percentile are "the ambience under it"
SILENCE_DBFS = -90.0


@dataclass
class AudioExtension:
    samples: np.ndarray  # (channels, n) float32, time order of the generated media
    method: str  # "ambience" | "ambience-under-foreground" | "silence"
    warnings: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def _frame_len(sr: int) -> int:
    return 1 << int(round(np.log2(sr * 0.046)))  # 2048 at 44.1/48 kHz


def _stft(x: np.ndarray, n: int, hop: int) -> np.ndarray:
    """(channels, samples) -> (channels, frames, bins) complex."""
    window = np.hanning(n + 1)[:-1].astype(np.float32)
    if x.shape[1] < n:
        x = np.pad(x, ((0, 0), (0, n - x.shape[1])))
    count = 1 + (x.shape[1] - n) // hop
    idx = np.arange(n)[None, :] + hop * np.arange(count)[:, None]  # (frames, n)
    return np.fft.rfft(x[:, idx] * window, axis=-1)


def _to_ms(x: np.ndarray) -> np.ndarray:
    return np.stack([(x[0] + x[1]) * 0.5, (x[0] - x[1]) * 0.5]) if x.shape[0] == 2 else x


def _from_ms(x: np.ndarray) -> np.ndarray:
    return np.stack([x[0] + x[1], x[0] - x[1]]) if x.shape[0] == 2 else x


def foreground_spread(mags: np.ndarray, sr: int) -> tuple[float, np.ndarray]:
    """dB between loud and quiet analysis frames in the speech band (300-3400 Hz), mid channel,
    and the per-frame speech-band energy (dB) it was measured on."""
    n = (mags.shape[-1] - 1) * 2
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    band = (freqs >= 300) & (freqs <= 3400)
    energy = 10 * np.log10((mags[0][:, band] ** 2).sum(-1) + 1e-12)
    return float(np.percentile(energy, 90) - np.percentile(energy, 10)), energy


def _synthesize(pool: np.ndarray, frames_out: int, n: int, hop: int, rng) -> np.ndarray:
    """Random-phase grains: pool (channels, frames, bins) magnitudes -> (channels, samples)."""
    channels, count, bins = pool.shape
    window = np.hanning(n + 1)[:-1]
    out = np.zeros((channels, (frames_out - 1) * hop + n))
    norm = np.zeros(out.shape[1])
    for k in range(frames_out):
        a, b = rng.integers(0, count, 2)
        mag = np.sqrt(0.5 * (pool[:, a] ** 2 + pool[:, b] ** 2))  # (channels, bins)
        phase = rng.uniform(0, 2 * np.pi, (channels, bins))
        grain = np.fft.irfft(mag * np.exp(1j * phase), n=n, axis=-1) * window
        out[:, k * hop : k * hop + n] += grain
        norm[k * hop : k * hop + n] += window**2
    return out / np.sqrt(np.maximum(norm, 1e-3))  # grains have independent phases: powers add


def _frame_power(mags: np.ndarray, n: int) -> np.ndarray:
    """Mean square of the signal under each STFT frame (Parseval over a Hann window):
    (channels, frames, bins) -> (channels, frames)."""
    window = np.hanning(n + 1)[:-1]
    energy = 2 * (mags**2).sum(-1) - mags[..., 0] ** 2 - mags[..., -1] ** 2
    return energy / n / np.sum(window**2)


def rms_db(x: np.ndarray) -> float:
    """Level of samples ``(channels, n)`` in dB full scale (mean square over everything)."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def octave_bands_db(x: np.ndarray, sr: int) -> np.ndarray:
    """Mean power per octave band 125 Hz .. 8 kHz of the channel mean, dB (how the sound tests and
    ``benchmarks/sound_seam.py`` compare an extension's spectrum with the source's)."""
    y = x.mean(0)
    f = np.fft.rfftfreq(len(y), 1 / sr)
    p = np.abs(np.fft.rfft(y)) ** 2 / len(y) ** 2
    return np.array(
        [10 * np.log10(p[(f >= lo) & (f < 2 * lo)].sum() + 1e-20) for lo in [125 * 2**k for k in range(7)]]
    )


def extend_audio(context: np.ndarray, samples: int, sr: int, direction: str, seed: int = 0) -> AudioExtension:
    """Sound for a generated run of ``samples`` samples.

    ``context``: source samples ``(channels, m)`` in time order, ending at the seam for a tail,
    starting at it for a head. Returns samples in the generated media's time order.
    """
    if direction not in ("head", "tail"):
        raise ValueError(direction)
    ctx = np.asarray(context, np.float32)
    if direction == "head":
        ctx = ctx[:, ::-1]  # work in "away from the seam" time; reversed back at the end
    channels = ctx.shape[0]
    ctx = ctx[:, -int(ANALYSIS_S * sr) :]
    fade = min(int(CROSSFADE_S * sr), samples, ctx.shape[1])
    warnings: list[str] = []
    info: dict = {"analysis_s": round(ctx.shape[1] / sr, 3), "crossfade_s": round(fade / sr, 4)}
    n = _frame_len(sr)
    hop = n // 4
    if ctx.shape[1] < max(int(MIN_ANALYSIS_S * sr), n) or rms_db(ctx) < SILENCE_DBFS:
        method, body = "silence", np.zeros((channels, samples))
        if rms_db(ctx) >= SILENCE_DBFS:
            warnings.append(f"only {ctx.shape[1] / sr:.2f} s of source sound next to the cut: the extension is silent")
    else:
        mags = np.abs(_stft(_to_ms(ctx), n, hop))  # (channels, frames, bins)
        spread, energy = foreground_spread(mags, sr)
        info["foreground_spread_db"] = round(spread, 1)
        if spread > FOREGROUND_SPREAD_DB:
            quiet = energy <= np.percentile(energy, 15) + QUIET_MARGIN_DB
            pool = mags[:, quiet]
            method = "ambience-under-foreground"
            warnings.append(
                f"speech or music next to the cut (level swings {spread:.0f} dB): continued only the "
                f"ambience under it ({int(quiet.sum())} of {len(energy)} frames)"
            )
        else:
            pool, method = mags, "ambience"
        rng = np.random.default_rng(seed)
        frames_out = int(np.ceil((samples + n) / hop)) + 1
        body = _synthesize(pool, frames_out, n, hop, rng)[:, n // 2 : n // 2 + samples]
        target = _frame_power(pool, n).mean(-1)  # (channels,) the pool's mean square, per M/S channel
        have = np.mean(np.square(body), axis=-1)
        body = _from_ms(body * np.sqrt(target / np.maximum(have, 1e-20))[:, None])
        if rms_db(body) < SILENCE_DBFS + 10:
            method = "silence"
            body = np.zeros((channels, samples))
            warnings.append("no ambience under the speech or music next to the cut: the extension is silent")
        info["pool_frames"] = int(pool.shape[1])
    out = body.astype(np.float64)
    if fade > 0:
        theta = (np.arange(fade) + 0.5) / fade * (np.pi / 2)
        theta[0] = 0.0  # the first sample is the last source sample: no step at the seam
        mirror = ctx[:, ::-1][:, :fade].astype(np.float64)
        out[:, :fade] = np.cos(theta) * mirror + np.sin(theta) * out[:, :fade]
    out = np.clip(out, -1.0, 1.0).astype(np.float32)
    if direction == "head":
        out = out[:, ::-1]
    info["rms_dbfs"] = round(rms_db(out), 2) if samples else None
    return AudioExtension(np.ascontiguousarray(out), method, warnings, info)
