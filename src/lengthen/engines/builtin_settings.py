"""Settings of the built-in (CPU) engine: one frozen dataclass, quality presets, no torch import.

``BuiltinSettings.preset("normal")`` is the budget the prototype measured ("2 s extended in at most
5 minutes on 2 cores"): flows at 160 px wide (from 320 px Farneback), width 128, 4 blocks, AdamW
1e-3 with 20 warm-up steps, 240 s of adaptation. Where this project's measurements taught
otherwise the fields say so (flow_scale, sample_steps, prior, rigid faces). ``draft`` extends 48 frames of
640x360 in well under a minute on 2 cores; ``high`` trades time for a wider model (the test suite
registers a smaller one with :func:`register_preset`). Override single fields with
``dataclasses.replace(settings, adapt_seconds=60)``.

Adaptation is time-boxed by ``adapt_steps`` and/or ``adapt_seconds`` (whichever ends first; at
least one must be set). With ``adapt_seconds=None`` a run is deterministic for ``seed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from ..errors import UsageError

PRIORS = ("motion", "none")


@dataclass(frozen=True)
class BuiltinSettings:
    quality: str = "normal"
    # working resolution of the motion fields
    work_width: int = 160  # px; the height follows the aspect ratio, rounded to patch_size
    flow_source_width: int = 320  # Farneback runs on frames downscaled to this width
    # the model sees flow_px / flow_scale: about the spread (std) of the shot's flows and of their
    # residuals on the prior at 160 px (0.35-0.45 px on the shared clips), so the diffusion works on
    # unit-scale data. At 2.0 (the prototype's) the signal is a tenth of the noise and the model
    # did not learn in 129 steps (loss flat); at 0.35 the loss halves in 35 steps.
    flow_scale: float = 0.35
    warp_blur_sigma: float = 1.5  # working px (= 6 px at 640 wide): blur of composed motion before the warp
    # model
    patch_size: int = 8
    width: int = 128
    num_blocks: int = 4
    num_heads: int = 4
    identity_tokens: int = 4  # tokens per character
    # adaptation on the shot itself
    context_frames: int = 4  # c: clean frames a window starts with
    target_frames: int = 4  # t: noised frames after them (also the sampling chunk)
    batch_size: int = 8
    window_span: int = 48  # windows lie within this many frames of the cut
    reverse_fraction: float = 0.25  # share of windows trained in the other time direction
    crop_fraction: float = 0.8  # random crops this big (per side, rounded down to the patch)
    lr: float = 1e-3
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    # self-validation (``engines.candidates``): the shot's last ``holdout_frames`` known frames are
    # hidden, every candidate (freeze, raw / damped / slowed flow priors, the learned correction at
    # each of ``learned_scales``, rigid faces on or off per character) continues the shot over them
    # from the frame before, and the best PSNR against the real frames wins. Adaptation never sees
    # the held-out frames, and is skipped when a cheap candidate already comes within
    # ``skip_margin_db`` of the best any warp of the edge frame could do there (the measured flows'
    # own warp), or reaches ``still_psnr_db`` (a still shot): nothing is left for a model to learn.
    validate: bool = True
    holdout_frames: int = 4
    skip_margin_db: float = 0.5
    still_psnr_db: float = 40.0
    learned_scales: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
    slow_damping: float = 0.8  # the "motion-slow" candidate: the shot slowing to a stop
    # the "hedged" candidate (``flow.hedged_warp``): speeds of the raw flow and of the motion prior
    # it averages over, every hypothesis at most this share of the working width from their mean,
    # pixel by pixel (a long extension blurs like a shutter around one path instead of smearing or
    # splitting), faces kept sharp; and the margin (dB, on the held-out
    # frames) by which a crisp candidate must beat it to be chosen instead. Measured over 255 cuts of
    # six real shots with 4 frames before them to hold out (benchmarks/bench_windows.py), mean /
    # worst against the best baseline at each cut: the best crisp candidate on the held-out frames
    # -0.65 / -7.41 dB; the hedge unless beaten by 0, 1, 2, 3 dB -0.14, +0.10, +0.13, +0.13 /
    # -7.41, -4.15, -4.15, -3.16; always the hedge +0.13 / -3.16.
    hedge_raw_scales: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
    hedge_motion_scales: tuple[float, ...] = (0.25, 0.75, 1.25, 1.75)
    hedge_spread_cap: float = 0.02
    hedge_margin_db: float = 3.0
    # faces kept exactly the motion prior's warp this far out (x the face chip's half side), fading
    # out to twice that: at 2 the identity guard's worst face equals the motion prior's to the 4th
    # decimal on the bridge shot (0.9437 both), at 1.25 it did not (0.9424)
    hedge_face_radius: float = 2.0
    hedge_learned: bool = True  # when the model adapted: "hedged learned", the hedge around its correction
    always_adapt: bool = False  # adapt even when a cheap candidate fits (tests, ablations)
    force: str | None = None  # use this candidate whatever the scores say (ablations): a candidate name
    # share of training windows noised all the way (sigma = 1), the rest sigma ~ U(0, 1). One-step
    # sampling reads the model at sigma = 1 only, where its x0 is its estimate of the mean of what
    # follows; weighting training there is what lets the model beat the prior on the held-out
    # windows. Tears, draft, 30 steps, seeds 0-2, held-out flow error at the chosen scale vs the
    # prior's 0.234 px: 0.231/0.230/0.232 at 0 (scale 0.25), 0.225/0.227/0.231 at 0.75 (scale
    # 0.5-0.75); end to end (draft) PSNR of the first 4 frames 26.53 dB at 0 (seed 0), 26.88 / 26.50 /
    # 26.69 at 0.75 (seeds 0-2; the motion engine 26.60). The other quarter keeps multi-step
    # sampling (``--steps``) meaningful.
    sigma_one_fraction: float = 0.75
    adapt_seconds: float | None = 240.0
    adapt_steps: int | None = None
    # identity preservation (needs faces + a differentiable embedder)
    identity_strength: float = 0.8  # scales the identity branch; 0 = off
    # identity tokens the model cross-attends to: off by default, the ablation (README) found no gain
    # from them (Tears, draft, 20 steps: 27.03 / 27.20 dB with tokens and loss, 26.94 / 27.21 with
    # the loss alone, same worst-frame identity) for about 20% more adaptation time
    identity_attention: bool = False
    identity_loss: bool = True  # identity preservation loss while adapting (ablation switch)
    # faces first: a winner whose faces' worst frame is further from the banks than the motion
    # prior's is replaced by the motion prior (scored on the generated frames, every 2nd)
    identity_guard: bool = True
    # ... by more than this (cosine): openmpf, draft: motion-slow's worst frame 0.9845 against the
    # motion prior's 0.9847 (the same person by far; the same-person threshold is 0.90) for +1.3 dB
    identity_guard_tolerance: float = 0.005
    identity_weight: float = 1.0  # loss weight: generated face vs bank references
    identity_smooth_weight: float = 1.0  # loss weight: face embedding change frame to frame
    identity_relative: bool = True  # reference term only where a face is further from its bank than the real one
    identity_grad_ratio: float = 0.2  # identity gradient capped at this share of the flow-matching one
    identity_every: int = 2  # identity loss on every n-th step (it costs a full-size forward)
    face_width: int = 640  # full-res frames are downscaled to at most this width for face chips
    # motion prior: "motion" = the model generates a correction (residual) on top of the smoothed,
    # damped extrapolation of the shot's recent motion (the ``motion`` engine), so an untrained or
    # under-trained model gives the ``motion`` engine's result; "none" = it generates the whole flow
    # (an untrained model then gives a freeze). Either way the output is the clean sample (x0).
    prior: str = "motion"
    # pretrained motion prior adaptation starts from (a folder, or a name under
    # lengthen/resources/motion_prior/; benchmarks/train_motion_prior.py); None: a fresh model
    pretrained: str | None = None
    motion_damping: float = 0.97  # per-frame damping of the extrapolated motion (``motion`` engine too)
    rigid_faces: bool = True  # each character's face moves as one rigid piece in the warp
    rigid_face_radius: float = 0.8  # radius of that piece over half the face chip's side
    # sampling. One step gives the model's estimate of the clean flows (the mean over what could
    # follow): measured on Tears, 4 steps sample the residuals' frame-to-frame noise as well and
    # double the flow error of the first frames (0.34 vs 0.18 px); 1 step matches the prior there
    # and beats it on later frames.
    sample_steps: int = 1
    scheduler_shift: float = 1.0
    seed: int = 0
    # torch intra-op threads for adapt/sample (0 = leave torch's default). On cores shared with
    # other busy processes (an editing application, other jobs) 1 thread is far faster than 2:
    # measured 12 vs 2 adaptation steps in 20 s, 7 s vs 46 s to sample 24 frames.
    threads: int = 0

    def __post_init__(self) -> None:
        def bad(msg: str) -> None:
            raise UsageError(f"built-in engine settings ({self.quality}): {msg}")

        if self.patch_size < 1 or self.work_width % self.patch_size:
            bad(f"work_width {self.work_width} must be a multiple of patch_size {self.patch_size}")
        if self.width % self.num_heads or (self.width // self.num_heads) % 2:
            bad(f"width {self.width} must split into {self.num_heads} heads of even size")
        if self.width % 4:
            bad(f"width {self.width} must be a multiple of 4")
        if self.adapt_seconds is None and self.adapt_steps is None:
            bad("set adapt_seconds and/or adapt_steps")
        if (self.adapt_seconds is not None and self.adapt_seconds < 0) or (self.adapt_steps or 0) < 0:
            bad("adapt_seconds / adapt_steps must be >= 0")
        if self.context_frames < 1 or self.target_frames < 1 or self.batch_size < 1:
            bad("context_frames, target_frames and batch_size must be >= 1")
        if not 0 <= self.reverse_fraction <= 1 or not 0 < self.crop_fraction <= 1:
            bad("reverse_fraction must be in [0, 1] and crop_fraction in (0, 1]")
        if self.sample_steps < 1 or self.identity_every < 1:
            bad("sample_steps and identity_every must be >= 1")
        if self.threads < 0:
            bad("threads must be >= 0 (0 = torch's default)")
        if not 0 <= self.sigma_one_fraction <= 1:
            bad("sigma_one_fraction must be in [0, 1]")
        if self.identity_grad_ratio < 0:
            bad("identity_grad_ratio must be >= 0")
        if self.prior not in PRIORS:
            bad(f"prior {self.prior!r} is not one of {', '.join(PRIORS)}")
        if not 0 < self.motion_damping <= 1:
            bad("motion_damping must be in (0, 1]")
        if self.holdout_frames < 0 or self.skip_margin_db < 0:
            bad("holdout_frames and skip_margin_db must be >= 0")
        if not all(0 < a <= 2 for a in self.learned_scales):
            bad("learned_scales must lie in (0, 2]")
        if not 0 < self.slow_damping <= 1:
            bad("slow_damping must be in (0, 1]")
        if not self.hedge_raw_scales or not self.hedge_motion_scales:
            bad("hedge_raw_scales and hedge_motion_scales need at least one speed each")
        if min(self.hedge_raw_scales + self.hedge_motion_scales) < 0 or self.hedge_spread_cap <= 0:
            bad("hedge speeds must be >= 0 and hedge_spread_cap > 0")
        if self.hedge_margin_db < 0 or self.hedge_face_radius <= 0:
            bad("hedge_margin_db must be >= 0 and hedge_face_radius > 0")
        if self.identity_strength < 0 or self.flow_scale <= 0:
            bad("identity_strength must be >= 0 and flow_scale > 0")

    @property
    def context_needed(self) -> int:
        """Context frames adaptation reads (windows near the cut): decode/measure only these."""
        return max(self.window_span, self.context_frames + self.target_frames) + 1

    @classmethod
    def preset(cls, name: str, **overrides) -> "BuiltinSettings":
        if name not in PRESETS:
            raise UsageError(f"unknown quality preset {name!r}; choose one of {', '.join(PRESETS)}")
        return replace(PRESETS[name], **overrides)

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, BuiltinSettings] = {
    "draft": BuiltinSettings(
        quality="draft",
        work_width=128,
        width=96,
        num_blocks=3,
        batch_size=6,
        window_span=32,
        adapt_seconds=20.0,
        warmup_steps=5,
        motion_damping=0.95,
        pretrained="draft",  # the shipped motion prior (resources/motion_prior/draft, see its README)
    ),
    "normal": BuiltinSettings(pretrained="normal"),  # resources/motion_prior/normal (float16, see its README)
    "high": BuiltinSettings(
        quality="high", width=192, num_blocks=6, num_heads=6, adapt_seconds=600.0, motion_damping=0.98
    ),
}


def register_preset(settings: BuiltinSettings) -> None:
    """Add a quality level (the test suite's ``tiny``: see tests/tiny_presets.py); the name is
    registered with :func:`lengthen.config.register_quality` too."""
    from ..config import register_quality

    PRESETS[settings.quality] = settings
    register_quality(settings.quality)
