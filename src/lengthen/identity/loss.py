"""Identity-preservation loss: generated motion -> warp -> face chip -> embedder -> distances.

The chain is differentiable end to end, so the loss trains the motion model (and the identity
encoder) to move faces without breaking them. Everything is injected, so any differentiable
embedder works: ``embed_fn(chips (N, 3, S, S) float RGB 0..255) -> (N, D)`` (the dlib backend's
``embedder`` module, or a tiny conv net in tests) and ``affines (.., 2, 3)`` mapping chip pixel
``(u, v, 1)`` to image pixel ``(x, y)`` (what the dlib backend's ``chip_affines`` returns).

Warp and chip are fused: instead of warping whole frames and cutting chips, each chip pixel is
mapped to the new frame (``affine``), through the composed displacement into the last real frame
(``p + D(p)``), and sampled there once: the same result as ``warp_torch`` followed by
``extract_chips`` (both bilinear) at a fraction of the cost. Faces move with the motion: the chip
of new frame ``k`` is the real frame's chip translated by where the flow carries the face centre
(found by two fixed-point steps ``p = c - D_k(p)``, not differentiated).

``extract_chips`` here is a small ``grid_sample`` version for the real frames (also used as the
reference chip); the dlib backend's ``extract_chips_torch`` does the same job.

Loss = ``ref_weight * mean |e_k - r|^2`` (embedding of the face in new frame ``k`` vs the
character's bank reference ``r``, e.g. the bank mean) ``+ smooth_weight * mean |e_k - e_{k-1}|^2``
(frame-to-frame change, ``e_{-1}`` = the real last frame's face), over faces marked present.

With ``relative=True`` (what the engine uses) the reference term is a hinge,
``max(0, |e_k - r|^2 - |e_real - r|^2)``: a generated face costs only when it is further from its
bank than the real edge frame's face. Measured on the Tears clip: the absolute distance lets the
motion model "improve" the embedding with adversarial warps of the face (motion 1.4x the source's,
PSNR of the first frames down 2 dB); the hinge leaves a good face alone and penalises a broken one.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..flow import gaussian_blur, sample_at


def chip_points(affines: torch.Tensor, size: int) -> torch.Tensor:
    """``affines (..., 2, 3)`` -> image pixel positions of every chip pixel ``(..., S*S, 2)``."""
    r = torch.arange(size, dtype=affines.dtype, device=affines.device)
    v, u = torch.meshgrid(r, r, indexing="ij")
    uv1 = torch.stack([u.flatten(), v.flatten(), torch.ones_like(u.flatten())], dim=-1)  # (s s) 3
    return uv1 @ affines.transpose(-1, -2)  # ... (s s) 2


def extract_chips(frames: torch.Tensor, affines: torch.Tensor, size: int = 150) -> torch.Tensor:
    """``frames (N, 3, H, W)`` float, ``affines (N, 2, 3)`` -> chips ``(N, 3, S, S)`` (bilinear)."""
    pts = chip_points(affines, size)  # n (s s) 2
    return sample_at(frames, pts).reshape(frames.shape[0], frames.shape[1], size, size)


def warped_chips(
    last_frame: torch.Tensor,
    disp: torch.Tensor,
    affines: torch.Tensor,
    size: int = 150,
    blur_sigma: float = 0.0,
) -> torch.Tensor:
    """Chips of the faces in the new frames, sampled straight from the last real frame.

    last_frame ``(B, 3, H, W)`` float; disp ``(B, N, 2, h, w)`` composed displacements in working
    px (``flow.compose_displacements``); affines ``(B, F, 2, 3)`` of the faces in the last real
    frame. Returns ``(B, N, F, 3, S, S)``; differentiable in ``disp`` (and ``last_frame``).
    """
    b, c, H, W = last_frame.shape
    n, (h, w) = disp.shape[1], disp.shape[-2:]
    f = affines.shape[1]
    field = gaussian_blur(disp.flatten(0, 1), blur_sigma)  # (b n) 2 h w
    to_full = field.new_tensor([W / w, H / h])

    def d_at(points: torch.Tensor) -> torch.Tensor:  # (b n) ... 2 full px -> displacement, full px
        return sample_at(field, points, size=(W, H)).movedim(1, -1) * to_full

    q = chip_points(affines, size)  # b f (s s) 2
    centre = q.mean(dim=2)  # b f 2
    with torch.no_grad():  # where the face went in each new frame
        c0 = centre.unsqueeze(1).expand(b, n, f, 2).flatten(0, 1)  # (b n) f 2
        p = c0
        for _ in range(2):
            p = c0 - d_at(p)
        shift = (p - c0).reshape(b, n, f, 1, 2)
    x = q.unsqueeze(1) + shift  # b n f (s s) 2, positions in the new frame
    src = x + d_at(x.flatten(0, 1)).reshape(x.shape)  # positions in the last real frame
    chips = sample_at(last_frame, src.reshape(b, -1, 2))  # b 3 (n f s s)
    return chips.reshape(b, c, n, f, size, size).permute(0, 2, 3, 1, 4, 5)


def face_regions(affines: torch.Tensor, frame_size, work_hw, chip_size: int = 150) -> list[list[float]]:
    """Chip affines ``(F, 2, 3)`` of a ``frame_size=(W, H)`` frame -> ``(cx, cy, r)`` per face in
    working px (``work_hw=(h, w)``): the chip square's centre and half side (``flow.rigid_faces``)."""
    (W, H), (h, w) = frame_size, work_hw
    out = []
    for a in affines.detach().double():
        centre = a @ a.new_tensor([(chip_size - 1) / 2, (chip_size - 1) / 2, 1.0])
        half = float(torch.hypot(a[0, 0], a[1, 0])) * (chip_size - 1) / 2
        out.append([(float(centre[0]) + 0.5) * w / W - 0.5, (float(centre[1]) + 0.5) * h / H - 0.5, half * w / W])
    return out


def identity_loss(
    flows_px: torch.Tensor,
    last_frame: torch.Tensor,
    affines: torch.Tensor,
    present: torch.Tensor,
    references: torch.Tensor,
    embed_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    chip_size: int = 150,
    blur_sigma: float = 0.0,
    ref_weight: float = 1.0,
    smooth_weight: float = 1.0,
    relative: bool = False,
    rigid: bool = False,
    rigid_radius: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss for generated flows ``(B, N, 2, h, w)`` (working px, backward, generation order).

    last_frame ``(B, 3, H, W)`` float RGB 0..255 (the real frame the flows continue); affines
    ``(B, F, 2, 3)`` its faces' chip affines; present ``(B, F)`` bool; references ``(B, F, D)`` the
    bank reference of each face's character. Returns ``(loss, {"ref": .., "smooth": ..})``.
    """
    from ..flow import compose_displacements

    b, n = flows_px.shape[:2]
    f = affines.shape[1]
    disp = compose_displacements(flows_px)  # b n 2 h w
    if rigid:  # as the engine warps: each present face moves rigidly (``flow.rigid_faces``)
        from ..flow import rigid_faces

        size = (last_frame.shape[-1], last_frame.shape[-2])
        disp = torch.stack(
            [
                rigid_faces(
                    disp[i],
                    face_regions(affines[i][present[i]], size, disp.shape[-2:], chip_size),
                    radius_scale=rigid_radius,
                )
                for i in range(b)
            ]
        )
    chips = warped_chips(last_frame, disp, affines, chip_size, blur_sigma)  # b n f 3 s s
    emb = embed_fn(chips.flatten(0, 2)).reshape(b, n, f, -1)  # b n f d
    with torch.no_grad():
        real = embed_fn(extract_chips(last_frame.repeat_interleave(f, 0), affines.flatten(0, 1), chip_size)).reshape(
            b, 1, f, -1
        )  # b 1 f d
    mask = present[:, None].to(emb.dtype).expand(b, n, f)  # b n f
    denom = mask.sum().clamp(min=1.0)
    d_ref = ((emb - references[:, None].to(emb)) ** 2).sum(-1)  # b n f
    if relative:
        d_real = ((real - references[:, None].to(emb)) ** 2).sum(-1)  # b 1 f
        d_ref = torch.relu(d_ref - d_real)
    seq = torch.cat([real, emb], dim=1)
    d_smooth = ((seq[:, 1:] - seq[:, :-1]) ** 2).sum(-1)  # b n f
    ref = (d_ref * mask).sum() / denom
    smooth = (d_smooth * mask).sum() / denom
    loss = ref_weight * ref + smooth_weight * smooth
    return loss, {"ref": float(ref.detach()), "smooth": float(smooth.detach())}
