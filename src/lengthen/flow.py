"""Flow maths shared by the ``builtin`` and ``motion`` engines and the identity loss: measure,
extrapolate, compose, warp.

Both engines make new frames the same way: they never generate pixels. They produce a motion field
per new frame at a small *working resolution* and warp the **real last frame** at full resolution
by the composed motion, so the new frames keep the source's own pixels (faces included).

Conventions (every function here follows them)
- A flow field is float32 ``(2, h, w)``: channel 0 = x (right), channel 1 = y (down), in
  working-resolution pixels per frame.
- Flows are *backward* flows: ``flows[i]`` lives on the grid of frame ``i + 1`` and points to where
  that pixel was in frame ``i``: ``frame[i + 1](p) ~= frame[i](p + flows[i](p))``. That is what a
  warp needs (``grid_sample`` pulls pixels) and lets flows be composed with one lookup per frame.
- Frames go in *generation order*: the cut is after the last frame. For a head extension the
  engine reverses the context in time (``frames[::-1]``) and calls the same functions; the flows of
  the reversed sequence are the forward flows of the original (``pair_flows`` returns both).
- ``work_size`` is ``(w, h)`` like OpenCV. Flows are measured by Farneback on frames downscaled to
  ``source_width`` (about 320 px wide), then resized to the working size with their vectors scaled.

Functions
- ``work_size_for(width, height, work_width, multiple)`` -> ``(w, h)`` working size.
- ``work_rgb(frames, work_size)`` -> float32 ``(T, 3, h, w)`` in [-1, 1] (model conditioning).
- ``pair_flows(frames, work_size)`` -> ``(backward, forward)``, each ``(T-1, 2, h, w)``.
- ``context_flows(frames, work_size)`` -> the backward flows only.
- ``extrapolate_flows(flows, n, ...)`` -> ``(n, 2, h, w)``: the non-learned ``motion`` engine.
- ``compose_displacements(flows)`` (torch, differentiable): per-frame flows -> displacement from
  each new frame back into the last real frame.
- ``warp_torch(image, displacements, blur_sigma)`` (torch, differentiable) full-resolution warp.
- ``rigid_faces(disp, regions)`` (torch): faces move as rigid pieces (similarity fit per face).
- ``compose_and_warp(last_frame, flows, faces=())`` numpy convenience: uint8 frames out.
"""

from __future__ import annotations

import math

import numpy as np

# Farneback settings measured in the prototype (OpenCV defaults from its documentation example).
FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)
# Frame-rate conversion (engines/grid.py) needs the whole object's motion, edges included, between
# frames up to a native frame apart: a deeper pyramid, a wider Gaussian window, more iterations.
RETIME_FARNEBACK = dict(
    pyr_scale=0.5, levels=4, winsize=31, iterations=5, poly_n=7, poly_sigma=1.5, flags=256
)  # Gaussian


def work_size_for(width: int, height: int, work_width: int = 160, multiple: int = 8) -> tuple[int, int]:
    """Working size ``(w, h)``: ``work_width`` wide, the height keeping the aspect ratio rounded to
    ``multiple`` (the model's patch size). 640x360 -> 160x88, 640x480 -> 160x120."""
    if width <= 0 or height <= 0 or work_width <= 0 or work_width % multiple:
        raise ValueError(f"bad sizes: frame {width}x{height}, work width {work_width}, multiple {multiple}")
    h = max(multiple, int(round(work_width * height / width / multiple)) * multiple)
    return work_width, h


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (img.shape[1], img.shape[0]) == tuple(size):
        return img
    shrink = size[0] < img.shape[1]
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def work_rgb(frames: np.ndarray, work_size: tuple[int, int]) -> np.ndarray:
    """uint8 ``(T, H, W, 3)`` -> float32 ``(T, 3, h, w)`` in [-1, 1] at the working size."""
    small = np.stack([_resize(f, work_size) for f in frames])  # t h w 3
    return (small.astype(np.float32) / 127.5 - 1.0).transpose(0, 3, 1, 2).copy()


def pair_flows(
    frames: np.ndarray,
    work_size: tuple[int, int],
    source_width: int = 320,
    settings: dict | None = None,
    backward_only: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Farneback flows of consecutive frames, both ways, at the working size.

    frames: uint8 ``(T, H, W, 3)``. Returns ``(backward, forward)``, float32 ``(T-1, 2, h, w)`` each:
    ``backward[i]`` on frame ``i+1``'s grid pointing into frame ``i``; ``forward[i]`` on frame ``i``'s
    grid pointing into frame ``i+1`` (the backward flows of the time-reversed sequence, reversed).
    ``settings``: Farneback parameters (default :data:`FARNEBACK`). ``backward_only``: skip the
    forward flows (returned as None), half the cost.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
        raise ValueError(f"need uint8 frames (T>=2, H, W, 3), got shape {frames.shape}")
    grey = [_grey(f, source_width) for f in frames]
    backward = np.stack([_measure(grey[i + 1], grey[i], work_size, settings) for i in range(len(grey) - 1)])
    if backward_only:
        return backward, None
    forward = np.stack([_measure(grey[i], grey[i + 1], work_size, settings) for i in range(len(grey) - 1)])
    return backward, forward


def one_flow(
    a: np.ndarray, b: np.ndarray, work_size: tuple[int, int], source_width: int = 320, settings: dict | None = None
) -> np.ndarray:
    """The flow of one pair, one way: float32 ``(2, h, w)`` on ``a``'s grid pointing into ``b``
    (``a(p) ~= b(p + f(p))``), measured as :func:`pair_flows` does (its ``forward[0]``)."""
    return _measure(_grey(a, source_width), _grey(b, source_width), work_size, settings)


def _grey(frame: np.ndarray, source_width: int) -> np.ndarray:
    """One RGB frame as the flow measures it: grey, at most ``source_width`` wide (aspect kept)."""
    import cv2

    height, width = frame.shape[:2]
    src_w = min(source_width, width)
    src_h = max(8, int(round(src_w * height / width)))
    return cv2.cvtColor(_resize(frame, (src_w, src_h)), cv2.COLOR_RGB2GRAY)


def _measure(a: np.ndarray, b: np.ndarray, work_size: tuple[int, int], settings: dict | None) -> np.ndarray:
    import cv2

    # calcOpticalFlowFarneback(prev, next) gives f with prev(p) ~= next(p + f(p)).
    f = cv2.calcOpticalFlowFarneback(a, b, None, **(settings or FARNEBACK))  # h w 2, source px
    sx, sy = work_size[0] / a.shape[1], work_size[1] / a.shape[0]
    f = cv2.resize(f, work_size, interpolation=cv2.INTER_AREA)
    return np.stack([f[..., 0] * sx, f[..., 1] * sy]).astype(np.float32)  # 2 h w


def context_flows(frames: np.ndarray, work_size: tuple[int, int], source_width: int = 320) -> np.ndarray:
    """Backward flows ``(T-1, 2, h, w)`` of the context frames (see module conventions)."""
    return pair_flows(frames, work_size, source_width, backward_only=True)[0]


def _blur_np(field: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    if sigma <= 0:
        return field
    return np.stack([cv2.GaussianBlur(c, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE) for c in field])


def extrapolate_flows(
    flows: np.ndarray,
    n: int,
    *,
    window: int = 8,
    smooth: float = 0.7,
    damping: float = 0.95,
    blur_sigma: float = 2.0,
) -> np.ndarray:
    """The non-learned ``motion`` engine: continue the recent motion, smoothed and damped.

    flows ``(T-1, 2, h, w)`` backward flows in generation order -> ``(n, 2, h, w)``. The base flow is
    an exponentially weighted mean of the last ``window`` flows (weight ``smooth**age``, newest
    age 0; ``smooth=0`` repeats the last flow), blurred spatially by ``blur_sigma`` working px;
    new frame ``k`` (0-based) gets ``base * damping**(k+1)`` (``damping=1``: constant motion).
    """
    flows = np.asarray(flows, dtype=np.float32)
    if flows.ndim != 4 or flows.shape[1] != 2 or len(flows) == 0:
        raise ValueError(f"need flows (T-1>=1, 2, h, w), got shape {flows.shape}")
    recent = flows[-window:][::-1]  # newest first
    weights = np.array([smooth**age if smooth > 0 else float(age == 0) for age in range(len(recent))])
    base = np.tensordot(weights / weights.sum(), recent, axes=1).astype(np.float32)
    base = _blur_np(base, blur_sigma)
    return np.stack([base * damping ** (k + 1) for k in range(n)]).astype(np.float32)


# --- torch, differentiable -------------------------------------------------------------------


def _base_grid(h: int, w: int, like):
    import torch

    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=like.dtype, device=like.device),
        torch.arange(w, dtype=like.dtype, device=like.device),
        indexing="ij",
    )
    return torch.stack([xs, ys])  # 2 h w, pixel centres


def sample_at(field, points, size: tuple[int, int] | None = None):
    """Bilinear lookup of ``field (B, C, h, w)`` at pixel positions ``points (B, ..., 2)`` (x, y in
    the field's own pixels unless ``size=(W, H)`` says they are pixels of a W x H image of which
    the field is a resized copy). Border values repeat outside. Returns ``(B, C, ...)``."""
    import torch
    import torch.nn.functional as F

    b, _, h, w = field.shape
    W, H = size if size is not None else (w, h)
    shape = points.shape[1:-1]
    pts = points.reshape(b, 1, -1, 2)
    # pixel centre x (of a W-wide image) -> normalised coordinate for align_corners=False
    gx = (2 * pts[..., 0] + 1) / W - 1
    gy = (2 * pts[..., 1] + 1) / H - 1
    out = F.grid_sample(
        field, torch.stack([gx, gy], dim=-1), mode="bilinear", padding_mode="border", align_corners=False
    )
    return out.reshape(b, field.shape[1], *shape)


def gaussian_blur(field, sigma: float):
    """Separable Gaussian blur of ``(B, C, h, w)`` with replicated borders (differentiable)."""
    import torch
    import torch.nn.functional as F

    if sigma <= 0:
        return field
    b, c, h, w = field.shape
    radius = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=field.dtype, device=field.device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    flat = field.reshape(b * c, 1, h, w)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1))
    return flat.reshape(b, c, h, w)


def compose_displacements(flows):
    """Per-frame backward flows -> displacement of each new frame back into the last real frame.

    flows: ``(B, N, 2, h, w)`` (or ``(N, 2, h, w)``), flow ``k`` lives on new frame ``k``'s grid and
    points into frame ``k-1`` (frame ``-1`` = the last real frame). Returns the same shape: ``D[k]``
    with ``new_k(p) = last(p + D[k](p))``. Recursion: ``D[0] = f[0]``,
    ``D[k](p) = f[k](p) + D[k-1](p + f[k](p))``. Differentiable.
    """
    import torch

    squeeze = flows.dim() == 4
    if squeeze:
        flows = flows.unsqueeze(0)
    b, n, _, h, w = flows.shape
    if n == 0:
        return flows[0] if squeeze else flows
    grid = _base_grid(h, w, flows)  # 2 h w
    out = [flows[:, 0]]
    for k in range(1, n):
        f = flows[:, k]  # b 2 h w
        pts = (grid + f).permute(0, 2, 3, 1)  # b h w 2
        out.append(f + sample_at(out[-1], pts))
    disp = torch.stack(out, dim=1)  # b n 2 h w
    return disp[0] if squeeze else disp


def upsample_displacement(disp, size: tuple[int, int], blur_sigma: float = 0.0):
    """``(B, 2, h, w)`` working-px displacement -> ``(B, 2, H, W)`` full-res px (blurred at the
    working size by ``blur_sigma`` working px first, then bilinear, vectors scaled)."""
    import torch.nn.functional as F

    W, H = size
    h, w = disp.shape[-2:]
    disp = gaussian_blur(disp, blur_sigma)
    up = F.interpolate(disp, size=(H, W), mode="bilinear", align_corners=False)
    scale = up.new_tensor([W / w, H / h]).view(1, 2, 1, 1)
    return up * scale


def warp_torch(image, disp, blur_sigma: float = 0.0):
    """Warp ``image (B, C, H, W)`` float by working-res displacements ``disp (B, N, 2, h, w)``.

    Returns ``(B, N, C, H, W)``: ``out[:, k](p) = image(p + D_k(p))`` at full resolution (the
    displacement is blurred and upsampled, never the pixels). Differentiable in both inputs.
    """
    import torch
    import torch.nn.functional as F

    b, c, H, W = image.shape
    n = disp.shape[1]
    up = upsample_displacement(disp.flatten(0, 1), (W, H), blur_sigma)  # (b n) 2 H W
    grid = _base_grid(H, W, image).unsqueeze(0) + up
    gx = (2 * grid[:, 0] + 1) / W - 1
    gy = (2 * grid[:, 1] + 1) / H - 1
    src = image.unsqueeze(1).expand(b, n, c, H, W).flatten(0, 1)
    out = F.grid_sample(src, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="border", align_corners=False)
    return out.reshape(b, n, c, H, W)


def compose_and_warp(
    last_frame: np.ndarray,
    flows: np.ndarray,
    *,
    blur_sigma: float = 1.5,
    chunk: int = 8,
    faces=(),
    face_radius: float = 1.0,
) -> np.ndarray:
    """The warp back end of both engines: uint8 ``(H, W, 3)`` last real frame + flows
    ``(N, 2, h, w)`` (working px, generation order) -> uint8 ``(N, H, W, 3)`` new frames.

    ``blur_sigma`` is in working pixels (1.5 at 160 px wide = the prototype's sigma 6 at 640 px).
    ``faces``: face regions ``(cx, cy, r)`` in working px that move rigidly (``rigid_faces``).
    Zero flows give exact copies of ``last_frame`` (a freeze).
    """
    import torch

    flows_t = torch.from_numpy(np.ascontiguousarray(flows, dtype=np.float32))
    image = torch.from_numpy(np.ascontiguousarray(last_frame)).permute(2, 0, 1).float().unsqueeze(0)
    out = []
    with torch.no_grad():
        disp = rigid_faces(compose_displacements(flows_t), faces, radius_scale=face_radius)  # n 2 h w
        for s in range(0, len(disp), chunk):
            warped = warp_torch(image, disp[s : s + chunk].unsqueeze(0), blur_sigma)[0]  # n 3 H W
            out.append(warped.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy())
    if not out:
        return np.zeros((0, *last_frame.shape), dtype=np.uint8)
    return np.concatenate(out)


def _follow_region(disp, region, falloff: float = 4.0, radius_scale: float = 1.0):
    """A face region ``(cx, cy, r)`` of the last real frame, followed into each new frame of the
    composed displacements ``disp (N, 2, h, w)`` (its centre ``c_k = c - D_k(c_k)``, two fixed-point
    steps): ``(u, v, m)``, each ``(N, h, w)``: every pixel's offset from the centre in units of the
    radius ``r * radius_scale``, and the flat-topped mask ``m = exp(-(d / r)^falloff)``."""
    import torch

    n, _, h, w = disp.shape
    cx, cy, r = region
    r = r * radius_scale
    grid = _base_grid(h, w, disp)  # 2 h w
    c0 = disp.new_tensor([cx, cy]).view(1, 2, 1, 1).expand(n, 2, 1, 1)
    with torch.no_grad():
        c = c0
        for _ in range(2):
            c = c0 - sample_at(disp.detach(), c.permute(0, 2, 3, 1).reshape(n, 1, 2)).view(n, 2, 1, 1)
    rel = (grid[None] - c) / r  # n 2 h w, face-radius units
    u, v = rel[:, 0], rel[:, 1]
    return u, v, torch.exp(-((u * u + v * v) ** (falloff / 2)))


def hedged_warp(
    last_frame: np.ndarray,
    hypotheses,
    *,
    spread_cap: float | None = None,
    chunk: int = 8,
    keep=None,
    keep_regions=(),
) -> np.ndarray:
    """The expected continuation when the motion after the cut is uncertain: the mean of the last
    real frame warped by several motion hypotheses (the frame that minimises the squared error
    over them, i.e. the PSNR-optimal prediction; it looks like a motion blur along the motion).

    ``hypotheses``: ``[(flows (N, 2, h, w), scales, blur_sigma), ...]``: each flow set's composed
    displacement ``D`` (blurred by ``blur_sigma`` working px, as :func:`warp_torch` blurs it) is
    taken at every speed in ``scales`` (0 = the frame held). ``spread_cap`` (working px): every
    hypothesis lies at most this far from the mean of all of them, pixel by pixel, so however long
    the extension the frame is blurred like a shutter around one path, never split into copies.
    ``keep``: ``(flows, blur_sigma, faces, face_radius)`` of one crisp warp (``faces``: its rigid
    face regions, :func:`rigid_faces` at ``face_radius``) that replaces the mean within
    ``keep_regions`` (face regions ``(cx, cy, r)`` followed through that warp, exactly out to ``r``,
    fading out by ``2 r``): faces stay sharp, so they stay the same person. Frames are made
    ``chunk`` at a time (memory: a few full-resolution displacement fields per chunk). Returns
    uint8 ``(N, H, W, 3)``.
    """
    import cv2
    import torch
    import torch.nn.functional as F

    n = len(hypotheses[0][0]) if hypotheses else 0
    if n == 0:
        return np.zeros((0, *last_frame.shape), dtype=np.uint8)
    H, W = last_frame.shape[:2]
    with torch.no_grad():
        speeds = []  # (blurred composed displacement (n 2 h w), speed) per hypothesis
        for flows, scales, blur in hypotheses:
            disp = compose_displacements(torch.from_numpy(np.ascontiguousarray(flows, dtype=np.float32)))
            disp = gaussian_blur(disp, blur)
            speeds += [(disp, float(k)) for k in scales]
        centre = sum(k * d for d, k in speeds) / len(speeds)
        crisp = m = None
        if keep is not None and len(keep_regions):
            flows, _, faces, face_radius = keep
            crisp = compose_displacements(torch.from_numpy(np.ascontiguousarray(flows, dtype=np.float32)))
            crisp = rigid_faces(crisp, faces, radius_scale=face_radius)
            m = torch.zeros_like(crisp[:, 0])
            for region in keep_regions:  # exactly the crisp warp within the radius, fading out over half of it
                u, v, _ = _follow_region(crisp, region)
                m = torch.maximum(m, torch.exp(-((((u * u + v * v).sqrt() - 1).clamp(min=0) / 0.5) ** 2)))
        # OpenCV's remap samples as warp_torch does (pixel centres, bilinear, borders repeated) at a
        # tenth of grid_sample's cost on a CPU; it matters, a 1080p frame is sampled ~11 times
        ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
        source = np.ascontiguousarray(last_frame)
        image = torch.from_numpy(source).permute(2, 0, 1).float().unsqueeze(0)
        h, w = centre.shape[-2:]
        edge = cv2.BORDER_REPLICATE

        def up(field, scale):  # one working-size component -> full resolution, in full-resolution px
            return cv2.resize(field.numpy(), (W, H), interpolation=cv2.INTER_LINEAR) * np.float32(scale)

        out = []
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            acc = np.zeros((e - s, H, W, 3), np.float32)
            for i in range(s, e):
                # upsampled as upsample_displacement does (bilinear, pixel centres, vectors scaled), by OpenCV
                mx, my = xs + up(centre[i, 0], W / w), ys + up(centre[i, 1], H / h)
                for disp, k in speeds:
                    off = k * disp[i] - centre[i]
                    if spread_cap is not None:
                        off = off * (spread_cap / (off.norm(dim=0, keepdim=True) + 1e-6)).clamp(max=1.0)
                    acc[i - s] += cv2.remap(
                        source, mx + up(off[0], W / w), my + up(off[1], H / h), cv2.INTER_LINEAR, borderMode=edge
                    )
            acc /= len(speeds)
            if crisp is not None:
                sharp = warp_torch(image, crisp[s:e].unsqueeze(0), keep[1])[0].permute(0, 2, 3, 1).numpy()
                mask = F.interpolate(m[s:e, None], size=(H, W), mode="bilinear", align_corners=False)
                acc += mask.permute(0, 2, 3, 1).numpy() * (sharp - acc)
            out.append(np.clip(np.rint(acc), 0, 255).astype(np.uint8))
    return np.concatenate(out)


def rigid_faces(disp, regions, falloff: float = 4.0, radius_scale: float = 1.0):
    """Make each face move as one rigid piece: inside a face region the displacement is replaced by
    its best similarity transform (translation, rotation, uniform scale), blended out softly.

    disp ``(N, 2, h, w)`` composed displacements (working px, new frame -> last real frame);
    regions: ``(cx, cy, r)`` per face, its centre and radius in the last real frame (working px).
    The region follows the face into each new frame (its centre ``c_k = c - D_k(c_k)``, two
    fixed-point steps). Weights and blend mask ``m = exp(-(d / r)^falloff)`` (flat-topped). A warp
    keeps its motion but stops stretching cheeks or bending glasses inside a face, which is what
    makes the face detector lose a face after a second of warping. Differentiable in ``disp``.
    """
    import torch

    if not len(regions) or disp.shape[0] == 0:
        return disp
    n = disp.shape[0]
    out = disp
    for region in regions:
        u, v, m = _follow_region(out, region, falloff, radius_scale)
        dx, dy = out[:, 0], out[:, 1]
        # similarity displacement d = [a -b; b a] (u, v) + t, weighted least squares (4 x 4 normal equations)
        ones, zeros = torch.ones_like(u), torch.zeros_like(u)
        rows_x = torch.stack([u, -v, ones, zeros], dim=1)  # n 4 h w
        rows_y = torch.stack([v, u, zeros, ones], dim=1)
        wx, wy = rows_x * m[:, None], rows_y * m[:, None]
        ata = torch.einsum("nihw,njhw->nij", wx, rows_x) + torch.einsum("nihw,njhw->nij", wy, rows_y)
        atb = torch.einsum("nihw,nhw->ni", wx, dx) + torch.einsum("nihw,nhw->ni", wy, dy)
        ata = ata + 1e-6 * torch.eye(4, dtype=ata.dtype, device=ata.device)
        a, b, tx, ty = torch.linalg.solve(ata, atb).unbind(-1)  # n each
        fit = torch.stack(
            [
                a.view(n, 1, 1) * u - b.view(n, 1, 1) * v + tx.view(n, 1, 1),
                b.view(n, 1, 1) * u + a.view(n, 1, 1) * v + ty.view(n, 1, 1),
            ],
            dim=1,
        )  # n 2 h w
        out = out + m[:, None] * (fit - out)
    return out
