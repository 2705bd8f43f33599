"""The optional captioner: used when its weights are on this machine (a tiny random image-to-text
model built from config and saved where lengthen looks), absent otherwise without any download."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from tiny_pipelines import CallSpy, _tokenizer, tiny_folder

from lengthen.engines import caption, presets
from lengthen.engines.base import EngineSettings, GenerateRequest, get_engine
from lengthen.progress import SilentProgress


def build_captioner(folder):
    """A tiny ViT + GPT-2 captioner with the real classes, saved as safetensors."""
    from transformers import (
        GPT2Config,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    tok = _tokenizer()
    torch.manual_seed(0)
    enc = ViTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37
    )
    dec = GPT2Config(vocab_size=len(tok), n_positions=32, n_embd=32, n_layer=1, n_head=2, pad_token_id=0)
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id, cfg.pad_token_id = 1, 0
    model = VisionEncoderDecoderModel(config=cfg)
    gen = model.generation_config
    gen.decoder_start_token_id, gen.pad_token_id, gen.eos_token_id, gen.suppress_tokens = 1, 0, None, [0, 1, 2]
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    (folder / "model.safetensors").exists()
    return folder


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the captioner must never be downloaded without --allow-download")

    monkeypatch.setattr(presets, "download", refuse)


def test_without_weights_there_is_no_caption_and_no_download(tmp_path, monkeypatch, no_download):
    monkeypatch.setenv("LENGTHEN_MODELS", str(tmp_path))
    assert caption.locate() is None
    assert caption.describe(np.zeros((32, 32, 3), np.uint8)) == ""


def test_a_local_captioner_describes_the_frame_at_the_cut(tmp_path, tmp_path_factory, monkeypatch, no_download):
    models = tmp_path / "models"
    build_captioner(models / "captioner")
    monkeypatch.setenv("LENGTHEN_MODELS", str(models))
    assert caption.locate() == models / "captioner"
    ctx = np.zeros((6, 32, 32, 3), np.uint8)
    ctx[:, 8:20, 8:20] = 200
    words = caption.caption(ctx[-1], models / "captioner")
    assert words and len(words.split()) <= 20
    folder = tiny_folder("wan-vace", tmp_path_factory)
    eng = get_engine("wan-vace", EngineSettings(quality="tiny", model_path=str(folder)))
    spy = CallSpy(monkeypatch, eng.pipeline(SilentProgress()))
    eng.generate(GenerateRequest(ctx, "tail", 2, Fraction(16)), None)
    assert spy.calls[0]["prompt"].startswith(f"The same shot continues without a cut: {words}, the same scene")
