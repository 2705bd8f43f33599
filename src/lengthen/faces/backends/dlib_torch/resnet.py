"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as a torch module.

Spec section 4. Input convention of :class:`DlibResNet` (the "embedder"):

* float tensor ``(N, 3, 150, 150)``, channels **R, G, B**, values on the **0..255** scale (a uint8
  chip converted with ``.float()``, no division), exactly 150x150 as made by the chip extraction;
* the module itself subtracts dlib's channel means (122.782, 117.001, 104.298) and divides by 256;
* output ``(N, 128)``: dlib's raw descriptor (no L2 normalisation; norms are about 1.35 to 1.6 in
  float32 dlib terms, the "same person" threshold is Euclidean distance < 0.6 on these raw vectors).

Everything is differentiable from the input pixels to the descriptor. There are no
batch-dependent layers, so results do not depend on the batch size.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .serialize import DlibFormatError, DnnFile

CHIP_SIZE = 150
# (channels, down-sampling?) of every residual unit, input side first (alevel4 .. alevel0)
UNITS = (
    ((32, False),) * 3
    + ((64, True),)
    + ((64, False),) * 3
    + ((128, True),)
    + ((128, False),) * 2
    + ((256, True),)
    + ((256, False),) * 2
    + ((256, True),)
)


def _zero_extend_add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib ``add_prev_``: shapes maxed per dim, each input zero-padded at the END, then summed."""
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def ext(t: torch.Tensor) -> torch.Tensor:  # pad order: (w_left, w_right, h_top, h_bottom, c_front, c_back)
        pads = (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1])
        return F.pad(t, pads) if any(pads) else t

    return ext(a) + ext(b)


def tensors_from_dnn(dnn: DnnFile) -> dict[str, np.ndarray]:
    """Check the record sequence against the known topology and name the parameters."""
    layers = [layer for layer in dnn.layers if layer["type"] != "relu"]
    expect = ["con", "affine", "max_pool"]
    for _, down in UNITS:
        expect += ["con", "affine", "con", "affine"] + (["avg_pool"] if down else []) + ["add_prev"]
    expect += ["avg_pool", "fc"]
    if [layer["type"] for layer in layers] != expect or dnn.loss["type"] != "metric":
        raise DlibFormatError("layer sequence is not dlib's face recognition ResNet v1")
    out: dict[str, np.ndarray] = {"input_mean": np.asarray(dnn.input["mean"], np.float32)}
    convs = [layer for layer in layers if layer["type"] == "con"]
    affines = [layer for layer in layers if layer["type"] == "affine"]
    names = ["stem"] + [f"units.{i}.conv{j}" for i in range(len(UNITS)) for j in (1, 2)]
    for name, con, aff in zip(names, convs, affines, strict=True):
        out[f"{name}.weight"], out[f"{name}.bias"] = con["weight"], con["bias"]
        out[f"{name}.gamma"], out[f"{name}.beta"] = aff["gamma"], aff["beta"]
        out[f"{name}.stride"] = np.asarray(con["stride"] + con["padding"], np.int64)
    out["fc.weight"] = layers[-1]["weight"]  # (256, 128), dlib layout
    out["dist_thresh"] = np.asarray([dnn.loss["dist_thresh"]], np.float32)
    return out


class _ConvAffine(nn.Conv2d):
    """conv followed by dlib's fixed affine, folded into one conv (w*gamma, b*gamma+beta)."""

    @classmethod
    def from_tensors(cls, t: dict[str, np.ndarray], name: str) -> "_ConvAffine":
        w, b = t[f"{name}.weight"], t[f"{name}.bias"]
        g, beta = t[f"{name}.gamma"], t[f"{name}.beta"]
        sy, sx, py, px = (int(v) for v in t[f"{name}.stride"])
        conv = cls(w.shape[1], w.shape[0], w.shape[2:], stride=(sy, sx), padding=(py, px))
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w * g[:, None, None, None]))
            conv.bias.copy_(torch.from_numpy(b * g + beta))
        return conv


class _Unit(nn.Module):
    def __init__(self, conv1: nn.Conv2d, conv2: nn.Conv2d, down: bool) -> None:
        super().__init__()
        self.conv1, self.conv2, self.down = conv1, conv2, down

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (n c h w) -> (n c' h' w')
        y = self.conv2(F.relu(self.conv1(x)))
        shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(_zero_extend_add(y, shortcut))


class DlibResNet(nn.Module):
    """(N, 3, 150, 150) RGB floats in 0..255 -> (N, 128) raw dlib descriptors. See module doc."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(tensors["input_mean"].copy()).view(1, 3, 1, 1))
        self.stem = _ConvAffine.from_tensors(tensors, "stem")
        self.units = nn.ModuleList(
            _Unit(
                _ConvAffine.from_tensors(tensors, f"units.{i}.conv1"),
                _ConvAffine.from_tensors(tensors, f"units.{i}.conv2"),
                down,
            )
            for i, (_, down) in enumerate(UNITS)
        )
        w = tensors["fc.weight"]
        self.fc = nn.Linear(w.shape[0], w.shape[1], bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
        self.dist_thresh = float(tensors["dist_thresh"][0])
        self.requires_grad_(False)  # a frozen feature extractor; gradients still flow to inputs
        self.eval()

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        if chips.shape[1:] != (3, CHIP_SIZE, CHIP_SIZE):
            raise ValueError(f"expected (N, 3, {CHIP_SIZE}, {CHIP_SIZE}) chips, got {tuple(chips.shape)}")
        x = (chips - self.mean) / 256.0  # n 3 150 150
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)  # n 32 35 35
        for unit in self.units:
            x = unit(x)  # ... n 256 2 2
        return self.fc(x.mean(dim=(2, 3)))  # n 128
