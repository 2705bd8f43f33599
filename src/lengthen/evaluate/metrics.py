"""The evaluation metrics, under their evaluate name: they live in :mod:`lengthen.metrics`, below
the pipeline (which ranks candidates by seam and motion) so the pipeline never imports evaluate."""

from ..metrics import (  # noqa: F401 (re-exported)
    fidelity,
    flicker,
    frame_changes,
    motion_energy,
    psnr,
    seam_and_motion,
    seam_color,
    seam_jump,
    source_motion,
    ssim,
)
