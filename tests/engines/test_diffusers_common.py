"""Shared maths and plumbing of the diffusers engines: frame grid and padding, context resampling,
rate conforming (measured on a moving square), prompts, the memory estimate and the OOM message,
reference crops with margin, and the loader's errors and device/offload options on the CPU."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from tiny_pipelines import make_bank, tiny_folder

from lengthen.engines import diffusers_common as dc
from lengthen.engines import grid, presets
from lengthen.engines.base import EngineSettings
from lengthen.engines.references import reference_images
from lengthen.errors import EngineError, ModelError, UsageError
from lengthen.faces.references import bank_crops, crop_with_margin


def square_frames(n: int, speed: float, size=(24, 200), side=8) -> np.ndarray:
    """(n, h, w, 3) black frames with a white square whose left edge moves ``speed`` px/frame,
    anti-aliased so sub-pixel positions are exact in the intensity centroid."""
    h, w = size
    xs = np.arange(w)[None, :] + 0.5
    out = np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        x0 = 10 + speed * (i + 1)
        cover = np.clip(np.minimum(xs - x0 + 0.5, x0 + side - xs + 0.5), 0, 1)  # (1, w)
        out[i, 8 : 8 + side] = (cover[..., None] * 255).round().astype(np.uint8)
    return out


def centroid_x(frames: np.ndarray) -> np.ndarray:
    weight = frames[..., 0].astype(np.float64).sum(1)  # (n, w)
    return (weight * np.arange(frames.shape[2])).sum(1) / weight.sum(1)


def test_grid_counts():
    assert [grid.on_grid(n, 4) for n in (1, 2, 5, 6, 81)] == [1, 5, 5, 9, 81]
    assert [grid.below_grid(n, 8) for n in (1, 8, 9, 16, 17)] == [1, 1, 9, 9, 17]


def test_placement_keeps_aspect_pads_and_returns_exactly():
    p = grid.place((1080, 1920), 480 * 832, 16)
    assert p.grid[0] % 16 == 0 and p.grid[1] % 16 == 0
    assert abs(p.content[1] / p.content[0] - 1920 / 1080) < 0.01
    src = np.zeros((2, 45, 80, 3), np.uint8)
    src[:, :, :40] = 200
    p = grid.place((45, 80), 30 * 52, 16)
    work = grid.to_working(src, p)
    assert work.shape[1:3] == p.grid and p.grid != p.content  # padded, not cropped
    assert (work[:, : p.offset[0]] == work[:, p.offset[0] : p.offset[0] + 1]).all()  # edge-replicated
    back = grid.from_working(work, p)
    assert back.shape == src.shape and np.abs(back.astype(int) - src).mean() < 12


@pytest.mark.parametrize(
    "native,rate", [(Fraction(16), Fraction(24000, 1001)), (Fraction(30), Fraction(60)), (Fraction(24), Fraction(25))]
)
def test_conformed_motion_matches_the_source_speed(native, rate):
    """A square moving v px per native frame must move v * native / rate px per output frame."""
    v, frames = 3.0, 40
    need = grid.native_count(frames, rate, native)
    gen = square_frames(need, v)
    edge = square_frames(1, 0.0)  # the context frame at the cut: position 10 (native index -1)
    out = grid.conform(gen, edge[0], native, rate, frames)
    x = centroid_x(np.concatenate([edge, out]))
    step = float(v * native / rate)
    assert np.allclose(np.diff(x), step, atol=0.15)
    near = grid.conform(gen, edge[0], native, rate, frames, "nearest")
    xn = centroid_x(np.concatenate([edge, near]))
    assert abs((xn[-1] - xn[0]) - step * frames) <= v / 2 + 0.01  # right on average
    assert set(np.round(np.diff(xn) / v).astype(int)) <= {0, 1, 2}  # whole native frames only


def test_same_rate_conform_is_the_identity():
    gen = square_frames(6, 2.0)
    assert np.array_equal(grid.conform(gen, gen[0], Fraction(24), Fraction(24), 6), gen)


def test_prompt_names_real_characters_and_keeps_user_text():
    banks = [
        make_bank("Anna", (1, 2, 3)),
        make_bank("char_002", (1, 2, 3), bank_id="char_002"),
        make_bank("Ben", (1, 2, 3), bank_id="char_003"),
    ]
    p = dc.build_prompt(banks, "Night exterior, rain")
    assert p.startswith("Night exterior, rain. ") and "three people on screen (Anna, Ben)" in p and "char_002" not in p
    assert "Anna and Ben on screen" in dc.build_prompt(banks[::2], None)
    assert "the same scene" in dc.build_prompt([], None)


def test_default_prompt_describes_the_shot_in_neutral_terms():
    still = np.full((6, 48, 64, 3), 30, np.uint8)
    still[:, 10:30, 20:40] = 90
    assert "a still camera, low light" in dc.build_prompt([], None, still)
    rng = np.random.default_rng(0)
    texture = (rng.random((48, 200, 3)) * 255).astype(np.uint8)
    panning = np.stack([texture[:, 4 * i : 4 * i + 64] for i in range(6)])  # the picture slides left
    assert "the camera panning right" in dc.describe_shot(panning)


def test_an_out_of_memory_anywhere_is_one_line(tmp_path_factory, monkeypatch):
    """Injected OOMs (a fake: no GPU here) while moving the pipeline and while generating."""
    from lengthen.engines.base import GenerateRequest, get_engine

    folder = str(tiny_folder("wan-vace", tmp_path_factory))
    eng = get_engine("wan-vace", EngineSettings(quality="tiny", model_path=folder))
    pipe = eng.pipeline(__import__("lengthen.progress", fromlist=["x"]).SilentProgress())

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(type(pipe), "__call__", oom)
    with pytest.raises(EngineError, match="ran out of memory generating") as err:
        eng.generate(GenerateRequest(np.zeros((6, 32, 32, 3), np.uint8), "tail", 3, Fraction(24)), None)
    assert "\n" not in str(err.value)
    monkeypatch.setattr(type(pipe), "to", oom)
    with pytest.raises(EngineError, match="ran out of memory moving wan-vace"):
        dc.place_pipeline(pipe, EngineSettings(), torch.device("cpu"), eng.preset)

    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch in attention\nlong traceback text")

    monkeypatch.setattr(type(pipe), "__call__", broken)
    with pytest.raises(EngineError, match=r"failed in window 1/1 .*RuntimeError: shape mismatch in attention$"):
        eng.generate(GenerateRequest(np.zeros((6, 32, 32, 3), np.uint8), "tail", 3, Fraction(24)), None)


def test_component_dtypes_follow_the_model_cards():
    wan = presets.get_preset("wan-vace")
    cuda = dc.component_dtypes(wan, EngineSettings(), torch.device("cuda"))
    assert cuda == {"default": torch.bfloat16, "vae": torch.float32}
    assert dc.component_dtypes(wan, EngineSettings(), torch.device("cpu")) == {
        "default": torch.float32,
        "vae": torch.float32,
    }
    assert dc.component_dtypes(presets.get_preset("ltx"), EngineSettings(), torch.device("cuda")) == {
        "default": torch.bfloat16
    }


def test_memory_estimate_scales_and_offload_options_fit():
    wan = presets.get_preset("wan-vace")
    small, big = presets.estimate_gb(wan, 41, 480, 832), presets.estimate_gb(wan, 81, 480, 832)
    assert small < big
    assert presets.estimate_gb(wan, 81, 480, 832, "sequential") < presets.estimate_gb(wan, 81, 480, 832, "model") < big
    assert presets.estimate_gb(wan, 81, 480, 832, "group", vae_tiling=True) < presets.estimate_gb(
        wan, 81, 480, 832, "group"
    )
    fits = presets.fitting_options(wan, 81, 480, 832, 12.0)
    assert fits and all(float(f.split("about ")[1].split(" GB")[0]) <= 12.0 for f in fits)
    assert fits[0].startswith("--offload model")


def test_cuda_oom_becomes_an_engine_error_naming_options():
    wan = presets.get_preset("wan-vace")
    with pytest.raises(EngineError, match="--offload") as err:
        with dc.oom_guard(wan, 81, (480, 832), EngineSettings(), torch.device("cpu")):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert "81 frames at 832x480" in str(err.value)


def test_reference_crops_have_margin_and_fall_back_to_chips(tmp_path):
    from PIL import Image

    frame = np.zeros((100, 100, 3), np.uint8)
    frame[40:60, 40:60] = 255
    crop = crop_with_margin(frame, (40, 40, 60, 60), margin=0.5)
    assert crop.shape == (40, 40, 3) and crop[0, 0].max() == 0 and crop[20, 20].min() == 255
    Image.fromarray(frame).save(tmp_path / "photo.png")
    got, how = bank_crops(make_bank("A", (9, 9, 9), photo=tmp_path / "photo.png", box=(40, 40, 60, 60)))
    assert how == ["source"] and got[0].shape[0] > 20
    got, how = bank_crops(make_bank("B", (9, 9, 9)))
    assert how == ["chip"] and got[0].shape == (150, 150, 3)
    imgs = reference_images([np.zeros((30, 60, 3), np.uint8)], size=64)
    arr = np.asarray(imgs[0])
    assert arr.shape == (64, 64, 3) and arr[0, 0].min() == 255 and arr[32, 32].max() == 0  # letterboxed on white


def test_loader_refuses_the_wrong_folder(tmp_path, tmp_path_factory):
    from lengthen.engines.ltx import LTXEngine

    with pytest.raises(ModelError, match="model_index.json"):
        dc.read_model_index(tmp_path)
    wan = tiny_folder("wan-vace", tmp_path_factory)
    eng = LTXEngine(EngineSettings(quality="tiny", model_path=str(wan)))
    with pytest.raises(ModelError, match="holds a WanVACEPipeline"):
        eng.pipeline(__import__("lengthen.progress", fromlist=["x"]).SilentProgress())


def test_device_options_on_the_cpu(tmp_path_factory):
    folder = tiny_folder("wan-vace", tmp_path_factory)
    pipe = dc.load_pipeline(folder, "WanVACEPipeline", torch.float32)
    with pytest.raises(UsageError, match="needs a CUDA GPU"):
        dc.place_pipeline(pipe, EngineSettings(offload="model"), torch.device("cpu"))
    with pytest.raises(UsageError, match="unknown attention backend"):
        dc.place_pipeline(pipe, EngineSettings(attention="warp-drive"), torch.device("cpu"))
    dc.place_pipeline(pipe, EngineSettings(vae_tiling=True, attention="native"), torch.device("cpu"))
    assert pipe.vae.use_tiling
    with pytest.raises(UsageError, match="--dtype"):
        dc.pick_dtype(EngineSettings(dtype="fp8"), torch.device("cpu"))
    assert dc.pick_dtype(EngineSettings(), torch.device("cpu")) == torch.float32


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("offload", [None, "model", "group", "sequential"])
def test_offload_modes_generate_on_cuda(offload, tmp_path_factory):
    from lengthen.engines.base import GenerateRequest, get_engine

    eng = get_engine(
        "wan-vace",
        EngineSettings(
            quality="tiny", offload=offload, dtype="bf16", model_path=str(tiny_folder("wan-vace", tmp_path_factory))
        ),
    )
    res = eng.generate(GenerateRequest(np.zeros((6, 32, 32, 3), np.uint8), "tail", 3, Fraction(24)), None)
    assert res.frames.shape == (3, 32, 32, 3)
