"""dlib's shape predictor (cascade of regression-tree forests, Kazemi & Sullivan), spec section 7.

:func:`read_shape_predictor` turns the ``.dat`` bytes into a dict of arrays (cacheable as
safetensors); :class:`ShapePredictor` runs it with numpy, vectorised over the trees of a cascade,
reproducing dlib's float32 arithmetic and rounding so the integer landmarks are identical.
"""

from __future__ import annotations

import numpy as np

from .serialize import DlibFormatError, DlibReader


def read_shape_predictor(data: bytes) -> dict[str, np.ndarray]:
    """Parse ``shape_predictor_*.dat`` (spec 7.1) into arrays:

    initial_shape (2P,) f32; split_idx (C, T, S, 2) i32; split_thresh (C, T, S) f32;
    leaves (C, T, S+1, 2P) f32; anchor_idx (C, F) i32; deltas (C, F, 2) f32."""
    r = DlibReader(data)
    if r.uint() != 1:
        raise DlibFormatError("shape predictor version is not 1")
    initial = r.matrix().reshape(-1)
    n = initial.shape[0]
    idx, thresh, leaves = [], [], []
    for _ in range(r.uint()):  # cascades
        c_idx, c_th, c_leaves = [], [], []
        for _ in range(r.uint()):  # trees
            splits = [(r.uint(), r.uint(), r.float()) for _ in range(r.uint())]
            vals = [r.matrix().reshape(-1) for _ in range(r.uint())]
            if len(vals) != len(splits) + 1 or any(v.shape[0] != n for v in vals):
                raise DlibFormatError("regression tree with inconsistent leaves")
            c_idx.append([s[:2] for s in splits])
            c_th.append([s[2] for s in splits])
            c_leaves.append(vals)
        idx.append(c_idx)
        thresh.append(c_th)
        leaves.append(c_leaves)
    anchors = [[r.uint() for _ in range(r.uint())] for _ in range(r.uint())]
    deltas = [[(r.float(), r.float()) for _ in range(r.uint())] for _ in range(r.uint())]
    if not r.at_end():
        raise DlibFormatError("trailing bytes after the shape predictor")
    try:
        out = {
            "initial_shape": initial.astype(np.float32),
            "split_idx": np.asarray(idx, np.int32),
            "split_thresh": np.asarray(thresh, np.float32),
            "leaves": np.asarray(leaves, np.float32),
            "anchor_idx": np.asarray(anchors, np.int32),
            "deltas": np.asarray(deltas, np.float32),
        }
    except ValueError as exc:  # ragged: trees of different depth, etc.
        raise DlibFormatError(f"shape predictor layout not supported: {exc}") from exc
    n_feat = out["anchor_idx"].shape[1]
    if (
        out["split_idx"].size == 0
        or out["split_idx"].max() >= n_feat
        or out["anchor_idx"].max() >= n // 2
        or out["deltas"].shape[:2] != out["anchor_idx"].shape
    ):
        raise DlibFormatError("shape predictor indices out of range")
    return out


def _similarity_linear(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Linear part c*R of the Umeyama similarity src -> dst (double), (2, 2)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sigma = np.mean(np.sum((src - mu_s) ** 2, axis=1))
    cov = (dst - mu_d).T @ (src - mu_s) / len(src)
    u, d, vt = np.linalg.svd(cov)
    s = np.ones(2)
    det = np.linalg.det(cov)
    if det < 0 or (det == 0 and np.linalg.det(u) * np.linalg.det(vt) < 0):
        s[1] = -1.0
    c = np.sum(d * s) / sigma if sigma != 0 else 1.0
    return c * (u @ np.diag(s) @ vt)


def grey(image: np.ndarray) -> np.ndarray:
    """dlib's RGB -> grey for the shape predictor: floor((R + G + B) / 3), uint8 (H, W)."""
    if image.ndim == 2:
        return image.astype(np.uint8)
    return (image[..., :3].astype(np.uint16).sum(-1) // 3).astype(np.uint8)


class ShapePredictor:
    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        self.initial = tensors["initial_shape"].astype(np.float32)  # (2P,)
        self.split_idx = tensors["split_idx"].astype(np.int64)  # C T S 2
        self.split_thresh = tensors["split_thresh"].astype(np.float32)  # C T S
        self.leaves = tensors["leaves"].astype(np.float32)  # C T S+1 2P
        self.anchor_idx = tensors["anchor_idx"].astype(np.int64)  # C F
        self.deltas = tensors["deltas"].astype(np.float32)  # C F 2
        self.num_parts = self.initial.shape[0] // 2

    def __call__(self, grey_image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """grey uint8 (H, W) (see :func:`grey`) and an integer box (l, t, r, b) -> int (P, 2) points."""
        l, t, r, b = (float(v) for v in box)
        h, w = grey_image.shape
        init_pts = self.initial.reshape(-1, 2).astype(np.float64)
        shape = self.initial.copy()
        n_trees, n_splits = self.split_idx.shape[1:3]
        trees = np.arange(n_trees)
        for k in range(self.split_idx.shape[0]):
            pts = shape.reshape(-1, 2)
            m = _similarity_linear(init_pts, pts.astype(np.float64)).astype(np.float32)
            d = self.deltas[k]
            anchor = pts[self.anchor_idx[k]]  # F 2
            qx = m[0, 0] * d[:, 0] + m[0, 1] * d[:, 1] + anchor[:, 0]  # float32
            qy = m[1, 0] * d[:, 0] + m[1, 1] * d[:, 1] + anchor[:, 1]
            x = np.floor(l + qx.astype(np.float64) * (r - l) + 0.5).astype(np.int64)
            y = np.floor(t + qy.astype(np.float64) * (b - t) + 0.5).astype(np.int64)
            inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            feats = np.where(inside, grey_image[np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)], 0)
            feats = feats.astype(np.float32)
            node = np.zeros(n_trees, np.int64)
            while True:
                inner = node < n_splits
                if not inner.any():
                    break
                nd = np.where(inner, node, 0)
                i1, i2 = self.split_idx[k, trees, nd, 0], self.split_idx[k, trees, nd, 1]
                left = (feats[i1] - feats[i2]) > self.split_thresh[k, trees, nd]
                node = np.where(inner, np.where(left, 2 * node + 1, 2 * node + 2), node)
            vals = self.leaves[k, trees, node - n_splits]  # T 2P
            shape = np.cumsum(np.concatenate([shape[None], vals]), axis=0, dtype=np.float32)[-1]
        pts = shape.reshape(-1, 2).astype(np.float64)
        x = np.floor(l + pts[:, 0] * (r - l) + 0.5)
        y = np.floor(t + pts[:, 1] * (b - t) + 0.5)
        return np.stack([x, y], 1).astype(np.int64)
