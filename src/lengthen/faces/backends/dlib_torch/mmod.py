"""dlib's MMOD CNN face detector (``mmod_human_face_detector.dat``), spec section 6.

The image (optionally upsampled 2x ``upsample`` times, as the Python wrapper does) is laid out as
dlib's tiled image pyramid (levels shrink by 5/6) in ONE float tensor, the small fully
convolutional network (:class:`MMODNet`, torch conv2d) scores every 8th pixel of it, and the
score map is decoded back to image rectangles, then greedy non-maximum suppression.
The numpy resizing reproduces dlib's float32 arithmetic, so boxes match dlib's.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .serialize import DlibFormatError, DnnFile

# ------------------------------------------------------------------------------ dlib resize_image


def _row_positions(n_in: int, n_out: int):
    scale = (n_in - 1) / max(n_out - 1, 1)
    y = np.cumsum(np.r_[-scale, np.full(n_out, scale)])[1:]  # sequential double accumulation
    top = np.floor(y).astype(np.int64)
    return top, np.minimum(top + 1, n_in - 1), y - top


def _simd_columns(n_in: int, n_out: int) -> tuple[int, np.ndarray]:
    """Columns dlib computes in its 4-wide float32 loop: positions advance by float(4*scale)."""
    scale = (n_in - 1) / max(n_out - 1, 1)
    x0 = -4 * scale
    init = np.array([x0, x0 + scale, x0 + 2 * scale, x0 + 3 * scale], np.float32)
    blocks = n_out // 4 + 2
    steps = np.vstack([init[None], np.full((blocks, 4), np.float32(4 * scale), np.float32)])
    xs = np.cumsum(steps, axis=0, dtype=np.float32)[1:]  # blocks 4
    bad = np.nonzero(np.floor(xs[:, 3]) + 1 >= n_in)[0]
    n_blocks = min(int(bad[0]) if len(bad) else blocks, n_out // 4)
    return 4 * n_blocks, xs[:n_blocks].reshape(-1)


def resize_planes(src: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """dlib resize_image (bilinear) of float32 planes (C, H, W) -> (C, out_h, out_w)."""
    _, h, w = src.shape
    top, bot, tb = _row_positions(h, out_h)
    n_simd, xs = _simd_columns(w, out_w)
    out = np.empty((src.shape[0], out_h, out_w), np.float32)
    tb_f = tb.astype(np.float32)[:, None]
    inv_tb_f = (1 - tb).astype(np.float32)[:, None]
    rows_t, rows_b = src[:, top], src[:, bot]  # c oh w
    if n_simd:
        left = np.floor(xs).astype(np.int64)
        lr = (xs - left).astype(np.float32)
        inv_lr = np.float32(1) - lr
        tl, tr = rows_t[:, :, left], rows_t[:, :, left + 1]
        bl, br = rows_b[:, :, left], rows_b[:, :, left + 1]
        out[:, :, :n_simd] = (inv_tb_f * inv_lr) * tl + (inv_tb_f * lr) * tr + (tb_f * inv_lr) * bl + (tb_f * lr) * br
    if n_simd < out_w:
        scale = (w - 1) / max(out_w - 1, 1)
        x = np.cumsum(np.r_[-scale + n_simd * scale, np.full(out_w - n_simd, scale)])[1:]
        left = np.floor(x).astype(np.int64)
        right = np.minimum(left + 1, w - 1)
        lr = (x - left).astype(np.float32)
        top_mix = ((1 - lr) * rows_t[:, :, left] + lr * rows_t[:, :, right]).astype(np.float64)
        bot_mix = ((1 - lr) * rows_b[:, :, left] + lr * rows_b[:, :, right]).astype(np.float64)
        out[:, :, n_simd:] = (1 - tb)[:, None] * top_mix + tb[:, None] * bot_mix
    return out


def resize_rgb(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """dlib resize_image (bilinear) of a uint8 RGB image (H, W, 3), results truncated to uint8."""
    h, w = img.shape[:2]
    src = np.ascontiguousarray(img.transpose(2, 0, 1)).astype(np.float32)  # 3 h w
    top, bot, tb = _row_positions(h, out_h)
    n_simd, xs = _simd_columns(w, out_w)
    out = np.empty((3, out_h, out_w), np.uint8)
    rows_t, rows_b = src[:, top], src[:, bot]
    if n_simd:
        tb_f, inv_tb_f = tb.astype(np.float32)[:, None], (1 - tb).astype(np.float32)[:, None]
        left = np.floor(xs).astype(np.int64)
        lr = (xs - left).astype(np.float32)
        inv_lr = np.float32(1) - lr
        v = (inv_tb_f * inv_lr) * rows_t[:, :, left] + (inv_tb_f * lr) * rows_t[:, :, left + 1]
        v = v + (tb_f * inv_lr) * rows_b[:, :, left] + (tb_f * lr) * rows_b[:, :, left + 1]
        out[:, :, :n_simd] = np.trunc(v).astype(np.int32).astype(np.uint8)
    if n_simd < out_w:
        scale = (w - 1) / max(out_w - 1, 1)
        x = np.cumsum(np.r_[-scale + n_simd * scale, np.full(out_w - n_simd, scale)])[1:]
        left = np.floor(x).astype(np.int64)
        right = np.minimum(left + 1, w - 1)
        lr = x - left
        t64, b64 = rows_t.astype(np.float64), rows_b.astype(np.float64)
        v = (1 - tb)[:, None] * ((1 - lr) * t64[:, :, left] + lr * t64[:, :, right])
        v = v + tb[:, None] * ((1 - lr) * b64[:, :, left] + lr * b64[:, :, right])
        out[:, :, n_simd:] = np.clip(v, 0, 255).astype(np.uint8)
    return out.transpose(1, 2, 0)


def pyramid_up2(img: np.ndarray) -> np.ndarray:
    """dlib pyramid_up with pyramid_down<2>: (H, W) -> (2H + 1, 2W + 2), bilinear, uint8."""
    h, w = img.shape[:2]
    return resize_rgb(img, 2 * h + 1, 2 * w + 2)


# ------------------------------------------------------------------------------ tiled pyramid


def pyramid_layout(h: int, w: int, pad: int = 10, outer: int = 11, min_h: int = 5):
    """dlib's tiled image pyramid (pyramid_down<6>): tensor (rows, cols) and one integer
    inclusive rect (l, t, r, b) per kept level, level 0 first."""
    sizes = [(h, w)]
    while True:
        nh, nw = math.floor(5.0 / 6.0 * sizes[-1][0]), math.floor(5.0 / 6.0 * sizes[-1][1])
        if nh * nw == 0 or nh < min_h:
            break
        sizes.append((nh, nw))
    total = sum(sh + pad for sh, _ in sizes) - 2 * pad
    height, prev_w = 0, 0
    for sh, sw in sizes:
        if sw <= w - prev_w - pad and (height - h) * 2 >= total - h:
            break
        height += sh + pad
        prev_w = sw
    height -= pad
    rects = []
    y = outer
    i = 0
    while y < height + outer and i < len(sizes):
        sh, sw = sizes[i]
        rects.append((outer, y, outer + sw - 1, y + sh - 1))
        y += sh + pad
        i += 1
    y -= pad
    while i < len(sizes):
        sh, sw = sizes[i]
        r, b = outer + w - 1, y - 1
        rect = (r - sw + 1, b - sh + 1, r, b)
        l0, t0, r0, b0 = rects[0]
        if max(l0, rect[0]) <= min(r0, rect[2]) and max(t0, rect[1]) <= min(b0, rect[3]):
            break
        rects.append(rect)
        y -= sh + pad
        i += 1
    return (height + 2 * outer, w + 2 * outer), rects


def tiled_input(image: np.ndarray, mean, pad: int, outer: int):
    """uint8 RGB (H, W, 3) -> float32 (3, rows, cols) tiled pyramid tensor and the level rects."""
    h, w = image.shape[:2]
    (rows, cols), rects = pyramid_layout(h, w, pad, outer)
    x = np.zeros((3, rows, cols), np.float32)
    level = (image.transpose(2, 0, 1).astype(np.float32) - np.asarray(mean, np.float32)[:, None, None]) / np.float32(
        256
    )
    l, t, r, b = rects[0]
    x[:, t : b + 1, l : r + 1] = level
    for l, t, r, b in rects[1:]:
        level = resize_planes(level, b - t + 1, r - l + 1)
        x[:, t : b + 1, l : r + 1] = level
    return x, rects


# ------------------------------------------------------------------------------ network


def tensors_from_dnn(dnn: DnnFile) -> dict[str, np.ndarray]:
    layers = [layer for layer in dnn.layers if layer["type"] != "relu"]
    types = [layer["type"] for layer in layers]
    if types != ["con", "affine"] * 6 + ["con"] or dnn.loss["type"] != "mmod":
        raise DlibFormatError("layer sequence is not dlib's MMOD face detector")
    if dnn.loss["windows"] != [(80, 80)]:
        raise DlibFormatError(f"unsupported MMOD detector windows {dnn.loss['windows']}")
    out = {
        "input_mean": np.asarray(dnn.input["mean"], np.float32),
        "pyramid": np.asarray([dnn.input["pyramid_padding"], dnn.input["pyramid_outer_padding"]], np.int64),
        "nms": np.asarray([dnn.loss["nms_iou"], dnn.loss["nms_percent_covered"]], np.float64),
    }
    convs = [layer for layer in layers if layer["type"] == "con"]
    affines = [layer for layer in layers if layer["type"] == "affine"] + [None]
    for i, (con, aff) in enumerate(zip(convs, affines, strict=True)):
        out[f"convs.{i}.weight"], out[f"convs.{i}.bias"] = con["weight"], con["bias"]
        out[f"convs.{i}.stride"] = np.asarray(con["stride"] + con["padding"], np.int64)
        if aff is not None:
            out[f"convs.{i}.gamma"], out[f"convs.{i}.beta"] = aff["gamma"], aff["beta"]
    return out


class MMODNet(nn.Module):
    """(N, 3, rows, cols) normalised tiled pyramid -> (N, 1, rows', cols') detection scores.
    Conv + folded batch-norm affine + relu x 6, then the 9x9 score conv."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        i = 0
        while f"convs.{i}.weight" in tensors:
            w, b = tensors[f"convs.{i}.weight"], tensors[f"convs.{i}.bias"]
            if f"convs.{i}.gamma" in tensors:  # fold the affine (exact up to float rounding)
                g, beta = tensors[f"convs.{i}.gamma"], tensors[f"convs.{i}.beta"]
                w, b = w * g[:, None, None, None], b * g + beta
            sy, sx, py, px = (int(v) for v in tensors[f"convs.{i}.stride"])
            conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride=(sy, sx), padding=(py, px))
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
                conv.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
            self.convs.append(conv)
            i += 1
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs[:-1]:
            x = F.relu(conv(x))
        return self.convs[-1](x)


# ------------------------------------------------------------------------------ decoding


def _lround(v: float) -> int:
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def _area(r) -> int:
    return max(0, r[2] - r[0] + 1) * max(0, r[3] - r[1] + 1)


def _overlaps(a, b, iou: float, covered: float) -> bool:
    """dlib test_box_overlap on integer inclusive rects (denominator: bounding box of both)."""
    inner = _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    if inner == 0:
        return False
    outer = _area((min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])))
    return inner / outer > iou or inner / _area(a) > covered or inner / _area(b) > covered


UP_RATIO = 6 / (6 - 1.0)  # pyramid_down<6>::point_up multiplies by this double, then adds 0.3


def decode(scores: np.ndarray, rects, nms=(0.3382761351109955, 1.0), threshold: float = 0.0):
    """Score map (rows', cols') -> [(score, (l, t, r, b))] in the image the pyramid was built on."""
    rr, cc = np.nonzero(scores > threshold)
    cands = []
    lvl = np.asarray(rects, np.float64)  # L 4
    for r, c in zip(rr.tolist(), cc.tolist()):
        px, py = 8 * c + 14, 8 * r + 14
        cx, cy = math.floor(px + 0.5), math.floor(py + 0.5)  # centre of the 80x80 box: (px, py)
        inside = (lvl[:, 0] <= cx) & (cx <= lvl[:, 2]) & (lvl[:, 1] <= cy) & (cy <= lvl[:, 3])
        if inside.any():
            k = int(np.argmax(inside))
        else:
            qx, qy = np.clip(cx, lvl[:, 0], lvl[:, 2]), np.clip(cy, lvl[:, 1], lvl[:, 3])
            k = int(np.argmin(np.hypot(qx - cx, qy - cy)))
        box = [px - 39.5 - lvl[k, 0], py - 39.5 - lvl[k, 1], px + 39.5 - lvl[k, 0], py + 39.5 - lvl[k, 1]]
        for _ in range(k):
            box = [v * UP_RATIO + 0.3 for v in box]  # dlib: p * (N / (N - 1.0)) + 0.3, the ratio first
        cands.append((float(scores[r, c]), tuple(_lround(v) for v in box)))
    cands.sort(key=lambda s: -s[0])
    kept: list[tuple[float, tuple[int, int, int, int]]] = []
    for score, box in cands:
        if not any(_overlaps(box, k[1], *nms) for k in kept):
            kept.append((score, box))
    return kept


class MMODDetector:
    """image uint8 RGB (H, W, 3) -> [(score, (l, t, r, b) inclusive ints)], best first."""

    def __init__(self, tensors: dict[str, np.ndarray], device: str | torch.device = "cpu") -> None:
        # channels-last runs oneDNN's faster convolutions (1.6x on 2 cores here); scores move by
        # about 1e-5, inside the parity tests' tolerance, and the boxes stay dlib's
        self.net = MMODNet(tensors).to(device).to(memory_format=torch.channels_last)
        self.device = torch.device(device)
        self.mean = tensors["input_mean"]
        self.pad, self.outer = (int(v) for v in tensors["pyramid"])
        self.nms = tuple(float(v) for v in tensors["nms"])
        self._net_bf16 = None  # made on first use by proposals()

    def proposals(self, image: np.ndarray, scale: float = 1.0, threshold: float = -0.5):
        """A fast, approximate pass: [(score, (l, t, r, b) floats in ``image`` pixels)], best first.

        The image enlarged by ``scale``, its pyramid levels made with OpenCV's bilinear resize
        instead of dlib's, and the network run in bfloat16: about 3x cheaper than
        :meth:`__call__` on the same enlargement, with scores within about 0.05 of the exact ones.
        Not dlib's boxes: each proposal is meant to be confirmed by the exact detector on a crop,
        so ``threshold`` sits below the exact detector's 0 to miss nothing it would find."""
        import cv2

        h, w = image.shape[:2]
        if scale != 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        big_h, big_w = image.shape[:2]
        (rows, cols), rects = pyramid_layout(big_h, big_w, self.pad, self.outer)
        x = np.zeros((rows, cols, 3), np.float32)  # rows cols 3: channels-last as the net wants it
        level = (image.astype(np.float32) - self.mean.astype(np.float32)) / np.float32(256)
        l, t, r, b = rects[0]
        x[t : b + 1, l : r + 1] = level
        for l, t, r, b in rects[1:]:
            level = cv2.resize(level, (r - l + 1, b - t + 1), interpolation=cv2.INTER_LINEAR)
            x[t : b + 1, l : r + 1] = level
        if self._net_bf16 is None:
            import copy

            self._net_bf16 = copy.deepcopy(self.net).to(torch.bfloat16)
        with torch.inference_mode():
            batch = torch.from_numpy(x).permute(2, 0, 1)[None].to(self.device, torch.bfloat16)  # 1 3 rows cols
            scores = self._net_bf16(batch)[0, 0].float().cpu().numpy()
        sx, sy = w / big_w, h / big_h
        return [
            (score, (box[0] * sx, box[1] * sy, (box[2] + 1) * sx - 1, (box[3] + 1) * sy - 1))
            for score, box in decode(scores, rects, self.nms, threshold)
        ]

    def score_map(self, image: np.ndarray):
        x, rects = tiled_input(image, self.mean, self.pad, self.outer)
        with torch.inference_mode():
            x = torch.from_numpy(x)[None].to(self.device).contiguous(memory_format=torch.channels_last)
            s = self.net(x)[0, 0]
        return s.float().cpu().numpy(), rects

    def __call__(self, image: np.ndarray, upsample: int = 0, threshold: float = 0.0):
        img = image
        for _ in range(upsample):
            img = pyramid_up2(img)
        scores, rects = self.score_map(img)
        dets = decode(scores, rects, self.nms, threshold)
        if upsample:
            out = []
            for score, box in dets:
                b = [float(v) for v in box]
                for _ in range(upsample):
                    b = [b[0] / 2 - 1.25, b[1] / 2 - 0.75, b[2] / 2 - 1.25, b[3] / 2 - 0.75]
                out.append((score, tuple(_lround(v) for v in b)))
            dets = out
        return dets
