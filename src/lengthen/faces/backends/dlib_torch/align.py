"""Face-chip alignment as dlib does it (spec section 5), in numpy (bit-exact) and in torch
(differentiable).

Public functions:

* :func:`chip_details` (5 landmarks -> :class:`ChipDetails`: rectangle + angle), dlib's
  ``get_face_chip_details(shape, 150, 0.25)``;
* :func:`chip_affine` / :func:`chip_affines`: the 2x3 matrix ``A`` mapping chip pixel coordinates
  ``(col, row, 1)`` to image pixel coordinates ``(x, y)``;
* :func:`extract_chip` (numpy, uint8, bit-identical to dlib's ``extract_image_chip`` including its
  black border and its internal pyramid for big faces);
* :func:`extract_chips_torch` (torch, float, differentiable w.r.t. the frame pixels) from float
  frames ``(N, 3, H, W)`` and affines ``(N, 2, 3)``: same sampling positions, same pyramid level,
  no uint8 truncation; it agrees with :func:`extract_chip` to within about 1 grey level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# dlib's 5-point template, unit chip coordinates (x, y) (spec 5.1)
TEMPLATE_5 = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)
CHIP_SIZE = 150
PADDING = 0.25


@dataclass(frozen=True)
class ChipDetails:
    rect: tuple[float, float, float, float]  # drectangle l, t, r, b (inclusive convention)
    angle: float  # radians
    size: int = CHIP_SIZE


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Umeyama least-squares similarity src -> dst in double: returns (c*R (2,2), t (2,))."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sigma_s = np.mean(np.sum((src - mu_s) ** 2, axis=1))
    cov = (dst - mu_d).T @ (src - mu_s) / len(src)  # (2, 2)
    u, d, vt = np.linalg.svd(cov)
    s = np.ones(2)
    det = np.linalg.det(cov)
    if det < 0 or (det == 0 and np.linalg.det(u) * np.linalg.det(vt) < 0):
        s[1] = -1.0  # numpy sorts singular values: index 1 is the smaller one
    rot = u @ np.diag(s) @ vt
    c = float(np.sum(d * s) / sigma_s) if sigma_s != 0 else 1.0
    return c * rot, mu_d - c * rot @ mu_s


def chip_details(landmarks: np.ndarray, size: int = CHIP_SIZE, padding: float = PADDING) -> ChipDetails:
    """dlib ``get_face_chip_details`` for a 5-point shape (integer landmarks as dlib uses them)."""
    targets = (padding + TEMPLATE_5) / (2 * padding + 1) * size
    m, t = similarity_transform(targets, np.asarray(landmarks, np.float64).reshape(5, 2))
    p = m @ np.array([1.0, 0.0])
    angle, scale = math.atan2(p[1], p[0]), float(np.hypot(p[0], p[1]))
    cx, cy = m @ np.array([size / 2, size / 2]) + t
    half = (size * scale - 1) / 2
    return ChipDetails((cx - half, cy - half, cx + half, cy + half), angle, size)


def _rotate(center: np.ndarray, pts: np.ndarray, angle: float) -> np.ndarray:
    ca, sa = math.cos(angle), math.sin(angle)
    d = pts - center
    return np.stack([ca * d[..., 0] - sa * d[..., 1], sa * d[..., 0] + ca * d[..., 1]], -1) + center


def _affine_for(rect, angle: float, size: int) -> np.ndarray:
    """Exact 3-point affine: chip (0,0), (size-1,0), (0,size-1) -> rotated rect corners. (2, 3)"""
    l, t, r, b = rect
    center = np.array([(l + r) / 2, (t + b) / 2])
    tl, tr, bl = _rotate(center, np.array([[l, t], [r, t], [l, b]], np.float64), angle)
    return np.stack([(tr - tl) / (size - 1), (bl - tl) / (size - 1), tl], axis=1)


def chip_affine(details: ChipDetails) -> np.ndarray:
    """(2, 3) float64: image (x, y) = A @ (chip col, chip row, 1)."""
    return _affine_for(details.rect, details.angle, details.size)


def chip_affines(landmarks: np.ndarray, size: int = CHIP_SIZE, padding: float = PADDING) -> np.ndarray:
    """(N, 5, 2) landmarks -> (N, 2, 3) chip-to-image affines (see :func:`chip_affine`)."""
    lms = np.asarray(landmarks, np.float64).reshape(-1, 5, 2)
    return np.stack([chip_affine(chip_details(lm, size, padding)) for lm in lms]) if len(lms) else np.zeros((0, 2, 3))


def details_from_affine(a: np.ndarray, size: int = CHIP_SIZE) -> ChipDetails:
    """Inverse of :func:`chip_affine` (rectangle and angle of the chip an affine samples)."""
    a = np.asarray(a, np.float64)
    center = a @ np.array([(size - 1) / 2, (size - 1) / 2, 1.0])
    half = np.hypot(a[0, 0], a[1, 0]) * (size - 1) / 2
    angle = math.atan2(a[1, 0], a[0, 0])
    return ChipDetails((center[0] - half, center[1] - half, center[0] + half, center[1] + half), angle, size)


# ------------------------------------------------------------------------- dlib pyramid geometry


def _point_down(p):  # pyramid_down<2>
    return (p[0] / 2 - 1.25, p[1] / 2 - 0.75)


def _rect_down(rect):
    l, t = _point_down(rect[:2])
    r, b = _point_down(rect[2:])
    return (l, t, r, b)


def _area(rect) -> float:
    w, h = rect[2] - rect[0] + 1, rect[3] - rect[1] + 1
    return w * h if w > 0 and h > 0 else 0.0


def _lround(v: float) -> int:
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def chip_plan(details: ChipDetails, width: int, height: int):
    """dlib's extract_image_chip bookkeeping (spec 5.3 steps 1, 2, 4).

    Returns (crop box (l, t, r, b) ints, inclusive, or None if empty; pyramid depth; level (-1 =
    the crop itself); level-space rect)."""
    size = details.size * details.size
    rect = _rect_down(details.rect)
    depth, grow = 0, 2
    while _area(rect) > size:
        rect = _rect_down(rect)
        depth += 1
        grow = 2 * grow + 2
    l, t, r, b = details.rect
    center = np.array([(l + r) / 2, (t + b) / 2])
    corners = _rotate(center, np.array([[l, t], [r, t], [l, b], [r, b]], np.float64), details.angle)
    lo, hi = corners.min(0) - grow, corners.max(0) + grow
    box = (max(lo[0], 0.0), max(lo[1], 0.0), min(hi[0], width - 1.0), min(hi[1], height - 1.0))
    box = tuple(_lround(v) for v in box)
    if box[0] > box[2] or box[1] > box[3]:
        return None, depth, -1, None
    rect = (l - box[0], t - box[1], r - box[0], b - box[1])
    level = -1
    while _area(_rect_down(rect)) > size:
        level += 1
        rect = _rect_down(rect)
    return box, depth, level, rect


def pyramid_down2(img: np.ndarray) -> np.ndarray:
    """dlib pyramid_down<2> on uint8 (H, W, C): integer [1 4 6 4 1] filter, //256. ((H-3)//2, (W-3)//2)"""
    h, w = img.shape[:2]
    if h <= 8 or w <= 8:
        return np.zeros((0, 0) + img.shape[2:], np.uint8)
    x = img.astype(np.int32)
    oh, ow = (h - 3) // 2, (w - 3) // 2
    k = (1, 4, 6, 4, 1)
    row = sum(kk * x[:, i : i + 2 * ow : 2] for i, kk in enumerate(k))  # h ow c
    out = sum(kk * row[i : i + 2 * oh : 2] for i, kk in enumerate(k))  # oh ow c
    return (out // 256).astype(np.uint8)


def _sample_bilinear(src: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """dlib interpolate_bilinear: black unless all 4 taps inside; double weights; truncation."""
    h, w = src.shape[:2]
    left, top = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    ok = (left >= 0) & (top >= 0) & (left + 1 < w) & (top + 1 < h)
    lc, tc = np.where(ok, left, 0), np.where(ok, top, 0)
    lr, tb = (xs - left)[..., None], (ys - top)[..., None]
    s = src.astype(np.float64)
    tl, tr = s[tc, lc], s[tc, lc + 1]
    bl, br = s[tc + 1, lc], s[tc + 1, lc + 1]
    val = (1 - tb) * ((1 - lr) * tl + lr * tr) + tb * ((1 - lr) * bl + lr * br)
    out = np.clip(val, 0, 255).astype(np.uint8)
    out[~ok] = 0
    return out


def extract_chip(image: np.ndarray, details: ChipDetails) -> np.ndarray:
    """uint8 RGB (H, W, 3) -> uint8 (size, size, 3), as dlib's extract_image_chip (one chip per call)."""
    n = details.size
    box, depth, level, rect = chip_plan(details, image.shape[1], image.shape[0])
    if box is None:
        return np.zeros((n, n, image.shape[2]), np.uint8)
    src = image[box[1] : box[3] + 1, box[0] : box[2] + 1]
    for _ in range(level + 1):
        src = pyramid_down2(src)
    a = _affine_for(rect, details.angle, n)
    cols, rows = np.meshgrid(np.arange(n, dtype=np.float64), np.arange(n, dtype=np.float64))
    xs = a[0, 0] * cols + a[0, 1] * rows + a[0, 2]
    ys = a[1, 0] * cols + a[1, 1] * rows + a[1, 2]
    return _sample_bilinear(src, xs, ys)


# ----------------------------------------------------------------------------- torch (differentiable)


def _pyramid_down2_torch(x):
    import torch
    import torch.nn.functional as F

    k1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device)
    k = (k1[:, None] * k1[None, :] / 256.0).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(x, k, stride=2, groups=x.shape[1])  # n c (h-3)//2 (w-3)//2


def _sample(src, a, size, torch, F, n):
    """Sample (N, C, h, w) at the chip grid mapped by affines a (N, 2, 3) (src pixel coords), with
    dlib's rule: black unless all 4 bilinear taps are inside."""
    h, w = src.shape[-2:]
    r = torch.arange(size, dtype=a.dtype, device=a.device)
    rows, cols = torch.meshgrid(r, r, indexing="ij")
    pts = torch.stack([cols, rows, torch.ones_like(cols)], -1).reshape(-1, 3)  # (s s) 3
    xy = torch.einsum("nij,pj->npi", a, pts).reshape(n, size, size, 2)  # n s s 2
    x, y = xy[..., 0], xy[..., 1]
    fx, fy = torch.floor(x), torch.floor(y)
    ok = (fx >= 0) & (fy >= 0) & (fx + 1 < w) & (fy + 1 < h)
    grid = torch.stack([2 * x / max(w - 1, 1) - 1, 2 * y / max(h - 1, 1) - 1], -1).to(src.dtype)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out * ok[:, None].to(src.dtype)  # n c s s


def extract_chips_torch(frames, affines, size: int = CHIP_SIZE):
    """Differentiable chips: frames float (N, 3, H, W) (any value scale, e.g. 0..255 for the
    embedder), affines (N, 2, 3) chip->image (from :func:`chip_affines`) -> (N, 3, size, size).

    Chip n is sampled from frame n. Faces whose chip rectangle is wider than about 2x the chip
    go through dlib's [1 4 6 4 1] pyramid on the same crop as the numpy path (as float, so the
    result is smooth in the pixels)."""
    import torch
    import torch.nn.functional as F

    a_np = affines.detach().cpu().numpy() if isinstance(affines, torch.Tensor) else np.asarray(affines)
    a_t = torch.as_tensor(a_np, dtype=torch.float64, device=frames.device)
    n, _, h, w = frames.shape
    out = [None] * n
    direct = []
    for i in range(n):
        box, _, level, rect = chip_plan(details_from_affine(a_np[i], size), w, h)
        if box is None:
            out[i] = frames.new_zeros((frames.shape[1], size, size))
        elif level < 0:
            direct.append(i)
        else:  # pyramid: same crop, same level, same level-space affine as extract_chip
            src = frames[i : i + 1, :, box[1] : box[3] + 1, box[0] : box[2] + 1]
            for _ in range(level + 1):
                src = _pyramid_down2_torch(src)
            d = details_from_affine(a_np[i], size)
            la = torch.as_tensor(_affine_for(rect, d.angle, size), dtype=torch.float64, device=frames.device)
            out[i] = _sample(src, la[None], size, torch, F, 1)[0]
    if direct:
        idx = torch.as_tensor(direct, device=frames.device)
        chips = _sample(frames[idx], a_t[idx], size, torch, F, len(direct))
        for j, i in enumerate(direct):
            out[i] = chips[j]
    return torch.stack(out) if n else frames.new_zeros((0, frames.shape[1], size, size))
