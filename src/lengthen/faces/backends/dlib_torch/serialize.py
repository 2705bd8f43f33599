"""dlib's binary serialization: primitives and the DNN layer stream (spec sections 2 and 3).

Pure numpy, no dlib. ``DlibReader`` reads the primitives; ``read_dnn`` reads a whole
``add_loss_layer<...>`` network into plain records (dicts) in bottom-up order. The network
topology (which tag a skip jumps to) is NOT in the file; the model modules know it and check the
record sequence they get.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


class DlibFormatError(ValueError):
    """The bytes do not follow dlib's serialization format (wrapped into ModelError by callers)."""


class DlibReader:
    """Sequential reader over the bytes of a dlib ``.dat`` file."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DlibFormatError(f"unexpected end of data at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    # --- 2.1 integers: control byte (sign 0x80, count 0x0F) + little-endian magnitude
    def int(self) -> int:
        data, pos = self.data, self.pos
        if pos >= len(data):
            raise DlibFormatError(f"unexpected end of data at byte {pos}")
        ctrl = data[pos]
        n = ctrl & 0x0F
        if ctrl & 0x70 or n == 0 or n > 8 or pos + 1 + n > len(data):
            raise DlibFormatError(f"bad integer control byte 0x{ctrl:02x} at byte {pos}")
        value = int.from_bytes(data[pos + 1 : pos + 1 + n], "little")
        self.pos = pos + 1 + n
        return -value if ctrl & 0x80 else value

    def uint(self) -> int:
        value = self.int()
        if value < 0:
            raise DlibFormatError(f"negative value {value} where an unsigned one was expected")
        return value

    def byte(self) -> int:
        return self._take(1)[0]

    # --- 2.3 bool: ASCII '0' / '1'
    def bool(self) -> bool:
        b = self._take(1)[0]
        if b not in (0x30, 0x31):
            raise DlibFormatError(f"bad bool byte 0x{b:02x} at byte {self.pos - 1}")
        return b == 0x31

    # --- 2.4 floating point: mantissa varint, exponent varint
    def float(self, as_float32: bool = False) -> float:
        first = self.data[self.pos] if self.pos < len(self.data) else 0
        if first & 0x70:
            raise DlibFormatError(f"legacy ASCII float at byte {self.pos} is not supported")
        mantissa = self.int()
        exponent = self.int()
        if exponent == 32000:
            return float("inf")
        if exponent == 32001:
            return float("-inf")
        if exponent == 32002:
            return float("nan")
        value = math.ldexp(float(mantissa), exponent)
        return float(np.float32(value)) if as_float32 else value

    def float32(self) -> float:
        return self.float(as_float32=True)

    # --- 2.5 strings
    def string(self) -> str:
        n = self.uint()
        return bytes(self._take(n)).decode("latin-1")

    def floats(self, n: int) -> list[float]:
        """n consecutive 2.4 floats (fast path of :meth:`float`, same checks)."""
        data, pos, end = self.data, self.pos, len(self.data)
        out = [0.0] * n
        frombytes, ldexp = int.from_bytes, math.ldexp
        for i in range(n):
            c1 = data[pos] if pos < end else 0
            k1 = c1 & 0x0F
            c2 = data[pos + 1 + k1] if pos + 1 + k1 < end else 0
            k2 = c2 & 0x0F
            if c1 & 0x70 or c2 & 0x70 or not (0 < k1 <= 8 and 0 < k2 <= 8) or pos + 2 + k1 + k2 > end:
                raise DlibFormatError(f"bad or truncated float at byte {pos}")
            m = frombytes(data[pos + 1 : pos + 1 + k1], "little")
            e = frombytes(data[pos + 2 + k1 : pos + 2 + k1 + k2], "little")
            pos += 2 + k1 + k2
            if c2 & 0x80:
                e = -e
            elif 32000 <= e <= 32002:
                out[i] = (math.inf, -math.inf, math.nan)[e - 32000]
                continue
            out[i] = ldexp(-m if c1 & 0x80 else m, e)
        self.pos = pos
        return out

    # --- 2.7 matrix<float>: (-nr, -nc) then 2.4 floats, row-major
    def matrix(self) -> np.ndarray:
        nr, nc = abs(self.int()), abs(self.int())
        values = self.floats(nr * nc)  # float-typed values: exact in double and in float32
        return np.asarray(values, dtype=np.float32).reshape(nr, nc)

    # --- 3.1 tensors: version 2, NCHW dims, raw float32 LE
    def tensor(self) -> np.ndarray:
        version = self.uint()
        if version != 2:
            raise DlibFormatError(f"tensor version {version} (expected 2) at byte {self.pos}")
        shape = tuple(self.uint() for _ in range(4))
        count = int(np.prod(shape))
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        version = self.uint()
        if version != 1:
            raise DlibFormatError(f"alias_tensor version {version} (expected 1)")
        return tuple(self.uint() for _ in range(4))  # type: ignore[return-value]


# ----------------------------------------------------------------------------------- layer records


def _read_con(r: DlibReader, tag: str) -> dict:
    params = r.tensor().reshape(-1)
    nf, kh, kw, sy, sx, py, px = (r.uint() for _ in range(7))
    filt = r.alias()
    r.alias()  # biases alias
    for _ in range(4):
        r.float()
    use_bias = r.bool() if tag in ("con_5", "con_6") else True
    if tag == "con_6":
        r.bool()  # use_relu: not used by the face models
    n_w = int(np.prod(filt))
    if filt[0] != nf or filt[2:] != (kh, kw):
        raise DlibFormatError(f"conv filter alias {filt} does not match {nf}x{kh}x{kw}")
    weight = params[:n_w].reshape(filt)
    bias = params[n_w : n_w + nf] if use_bias else np.zeros(nf, np.float32)
    if bias.shape[0] != nf:
        raise DlibFormatError("conv record has too few parameters for its biases")
    return {"type": "con", "weight": weight, "bias": bias, "stride": (sy, sx), "padding": (py, px)}


def _read_affine(r: DlibReader, tag: str) -> dict:
    params = r.tensor().reshape(-1)
    r.alias()
    r.alias()
    mode = r.uint()
    if tag == "affine_2":
        r.bool()
    c = params.shape[0] // 2
    return {"type": "affine", "gamma": params[:c], "beta": params[c:], "mode": mode}


def _read_bn(r: DlibReader, tag: str) -> dict:
    """bn_ record folded into an affine one (spec 3.3): running stats, never the batch stats."""
    params = r.tensor().reshape(-1)
    r.alias()
    r.alias()
    r.tensor()  # means
    r.tensor()  # invstds
    running_means = r.tensor().reshape(-1)
    running_vars = r.tensor().reshape(-1)
    r.uint()
    r.uint()
    for _ in range(4):
        r.float()
    eps = np.float32(r.float())
    c = params.shape[0] // 2
    gamma = (params[:c] / np.sqrt(running_vars + eps)).astype(np.float32)
    beta = (params[c:] - gamma * running_means).astype(np.float32)
    return {"type": "affine", "gamma": gamma, "beta": beta, "mode": 0 if tag == "bn_con2" else 1}


def _read_pool(r: DlibReader, tag: str) -> dict:
    nr, nc, sy, sx, py, px = (r.uint() for _ in range(6))
    kind = "max_pool" if tag.startswith("max") else "avg_pool"
    return {"type": kind, "window": (nr, nc), "stride": (sy, sx), "padding": (py, px)}


def _read_fc(r: DlibReader, tag: str) -> dict:
    n_out, n_in = r.uint(), r.uint()
    params = r.tensor().reshape(-1)
    r.alias()
    r.alias()
    bias_mode = r.uint()
    for _ in range(4):
        r.float()
    if tag == "fc_3":
        r.bool()
    weight = params[: n_in * n_out].reshape(n_in, n_out)  # (in, out): transpose of torch Linear
    bias = params[n_in * n_out : n_in * n_out + n_out] if bias_mode == 0 else None
    return {"type": "fc", "weight": weight, "bias": bias}


def _read_relu(r: DlibReader, tag: str) -> dict:
    if tag == "relu_2":
        r.bool()
    return {"type": "relu"}


_LAYERS = {
    "con_4": _read_con, "con_5": _read_con, "con_6": _read_con,
    "affine_": _read_affine, "affine_2": _read_affine,
    "bn_con2": _read_bn, "bn_fc2": _read_bn,
    "max_pool_2": _read_pool, "avg_pool_2": _read_pool,
    "fc_2": _read_fc, "fc_3": _read_fc,
    "relu_": _read_relu, "relu_2": _read_relu,
    "add_prev_": lambda r, tag: {"type": "add_prev"},
}  # fmt: skip


def read_layer(r: DlibReader) -> dict:
    tag = r.string()
    reader = _LAYERS.get(tag)
    if reader is None:
        raise DlibFormatError(f"unsupported layer record {tag!r} at byte {r.pos}")
    return reader(r, tag)


def read_input(r: DlibReader) -> dict:
    tag = r.string()
    if tag not in ("input_rgb_image", "input_rgb_image_sized", "input_rgb_image_pyramid",
                   "input_rgb_image_pyramid2"):  # fmt: skip
        raise DlibFormatError(f"unsupported input layer {tag!r}")
    out: dict = {"type": tag, "mean": [r.float32() for _ in range(3)]}
    if tag == "input_rgb_image_sized":
        out["size"] = (r.uint(), r.uint())
    elif tag == "input_rgb_image_pyramid":
        out["pyramid_padding"], out["pyramid_outer_padding"] = 10, 11
    elif tag == "input_rgb_image_pyramid2":
        out["pyramid_padding"], out["pyramid_outer_padding"] = r.uint(), r.uint()
    return out


def read_mmod_options(r: DlibReader) -> dict:
    version = r.uint()
    if not 1 <= version <= 4:
        raise DlibFormatError(f"mmod_options version {version} not supported")
    windows = []
    if version == 1:
        windows.append((r.uint(), r.uint()))
    else:
        for _ in range(r.uint()):
            v = r.uint()
            windows.append((r.uint(), r.uint()))
            if v == 2:
                r.string()
    opts = {"windows": windows}
    opts["loss_per_false_alarm"], opts["loss_per_missed_target"] = r.float(), r.float()
    opts["truth_match_iou_threshold"] = r.float()
    opts["nms_iou"], opts["nms_percent_covered"] = r.float(), r.float()
    r.float(), r.float()  # overlaps_ignore
    if version >= 3:
        r.uint()
    if version >= 4:
        r.bool(), r.float()
    return opts


@dataclass
class DnnFile:
    loss: dict
    input: dict
    layers: list[dict] = field(default_factory=list)  # bottom-up (input side first)
    header: str = ""  # wrapper versions outermost first, e.g. "2222...1...3"


def read_dnn(data: bytes) -> DnnFile:
    """Parse a serialized ``add_loss_layer`` network (spec 3.2)."""
    r = DlibReader(data)
    if r.uint() != 1:
        raise DlibFormatError("not a dlib DNN file (add_loss_layer version != 1)")
    tag = r.string()
    if tag == "loss_metric_2":
        loss = {"type": "metric", "margin": r.float32(), "dist_thresh": r.float32()}
    elif tag == "loss_metric_":
        loss = {"type": "metric", "margin": 0.1, "dist_thresh": 0.75}
    elif tag == "loss_mmod_":
        loss = {"type": "mmod", **read_mmod_options(r)}
    else:
        raise DlibFormatError(f"unsupported loss layer {tag!r}")
    header = []
    while True:
        v = r.uint()
        header.append(v)
        if v == 3:
            break
        if v not in (1, 2) or len(header) > 10000:
            raise DlibFormatError(f"unexpected network wrapper version {v}")
    inp = read_input(r)
    layers = []
    for i in range(sum(1 for v in header if v >= 2)):
        layers.append(read_layer(r))
        r.bool(), r.bool(), r.bool()
        r.tensor(), r.tensor(), r.tensor()  # x_grad, cached_output, params_grad / grad_final
        if i == 0:
            r.uint()  # sample_expansion_factor of the bottom layer (version 3)
    if not r.at_end():
        raise DlibFormatError(f"{len(r.data) - r.pos} trailing bytes after the network")
    return DnnFile(loss=loss, input=inp, layers=layers, header="".join(map(str, header)))
