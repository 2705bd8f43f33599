"""Tiny random diffusers pipelines for the GPU engines, built from config and saved to a folder.

``build_tiny(engine_name, folder) -> folder`` writes a complete diffusers folder (model_index.json,
one sub-folder per component, safetensors weights) that lengthen's real loading code reads back
with ``from_pretrained``. Nothing is downloaded: the models are built from small configs with a
fixed seed and the tokenizer is trained here on a few sentences with the ``tokenizers`` library.

The tiny models keep the real models' frame grids, so the engines' grid maths is exercised as in
production: Wan/SkyReels VAE 4x time, 8x space, transformer patch 2 (sizes multiple of 16, 4k+1
frames); LTX VAE 8x time, 32x space (sizes multiple of 32, 8k+1 frames).

The lead's end-to-end CLI test can call ``build_tiny("wan-vace", tmp)`` and pass that folder as
``--model-path``, with ``--quality tiny`` (working area about 32x32, two steps).
"""

from __future__ import annotations

from pathlib import Path

SENTENCES = [
    "the same shot continues with the same lighting and the same camera",
    "a person on screen natural motion film still",
    "anna and ben talk in a room blurry low quality static frozen",
    "continuation of the shot before the cut after the cut",
]
TEXT_DIM = 32


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"])
    tok.train_from_iterator(SENTENCES, trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def _umt5(vocab: int):
    from transformers import UMT5Config, UMT5EncoderModel

    cfg = UMT5Config(
        vocab_size=vocab,
        d_model=TEXT_DIM,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_heads=4,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
    )
    return UMT5EncoderModel(cfg).eval()


def _t5(vocab: int):
    from transformers import T5Config, T5EncoderModel

    cfg = T5Config(
        vocab_size=vocab,
        d_model=TEXT_DIM,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_heads=4,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
    )
    return T5EncoderModel(cfg).eval()


def _wan_vae():
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )


def _wan_transformer_kwargs() -> dict:
    return dict(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=8,
        in_channels=16,
        out_channels=16,
        text_dim=TEXT_DIM,
        freq_dim=32,
        ffn_dim=16,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )


def _wan_vace(tokenizer):
    from diffusers import FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel

    transformer = WanVACETransformer3DModel(**_wan_transformer_kwargs(), vace_layers=[0], vace_in_channels=96)
    return WanVACEPipeline(
        tokenizer=tokenizer,
        text_encoder=_umt5(len(tokenizer)),
        vae=_wan_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=5.0),
        transformer=transformer,
    )


def _skyreels(tokenizer):
    from diffusers import (
        SkyReelsV2DiffusionForcingVideoToVideoPipeline,
        SkyReelsV2Transformer3DModel,
        UniPCMultistepScheduler,
    )

    kw = _wan_transformer_kwargs()
    transformer = SkyReelsV2Transformer3DModel(**kw, inject_sample_info=True, num_frame_per_block=1)
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=8.0)
    return SkyReelsV2DiffusionForcingVideoToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=_umt5(len(tokenizer)),
        vae=_wan_vae(),
        scheduler=scheduler,
        transformer=transformer,
    )


def _ltx(tokenizer):
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXConditionPipeline,
        LTXVideoTransformer3DModel,
    )

    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False,) * 5,
        upsample_residual=(False,) * 4,
        upsample_factor=(1,) * 4,
        timestep_conditioning=False,
        patch_size=4,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        num_layers=1,
        caption_channels=TEXT_DIM,
    )
    return LTXConditionPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=_t5(len(tokenizer)),
        tokenizer=tokenizer,
        transformer=transformer,
    )


BUILDERS = {"wan-vace": _wan_vace, "ltx": _ltx, "skyreels-df": _skyreels}


def build_tiny(engine_name: str, folder: str | Path) -> Path:
    """Save a tiny random pipeline for ``engine_name`` into ``folder`` (safetensors only)."""
    import torch

    folder = Path(folder)
    torch.manual_seed(0)
    pipe = BUILDERS[engine_name](_tokenizer())
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


_BUILT: dict[str, Path] = {}


def tiny_folder(engine_name: str, tmp_path_factory) -> Path:
    """``build_tiny`` once per test session (tests share the folder; nothing writes to it)."""
    if engine_name not in _BUILT:
        from diffusers.utils import logging as dlog

        dlog.disable_progress_bar()
        try:
            _BUILT[engine_name] = build_tiny(engine_name, tmp_path_factory.mktemp(f"tiny-{engine_name}"))
        finally:
            dlog.enable_progress_bar()
    return _BUILT[engine_name]


def make_bank(name: str, chip_rgb, photo=None, box=(8.0, 8.0, 24.0, 24.0), bank_id: str = "char_001"):
    """A real IdentityBank with one face: a flat ``chip_rgb`` aligned chip, whose source is the
    image file ``photo`` (a hand-added reference photo) or a media path that does not exist."""
    import numpy as np

    from lengthen.faces.bank import FaceSource, IdentityBank
    from lengthen.faces.quality import FaceQuality

    chip = np.zeros((1, 150, 150, 3), np.uint8)
    chip[:] = chip_rgb
    emb = np.zeros((1, 8), np.float32)
    emb[0, 0] = 1.0
    landmarks = tuple((box[0] + 4.0 * i, box[1] + 4.0) for i in range(5))
    source = FaceSource(
        str(photo) if photo is not None else "/nonexistent/clip.mov",
        0,
        tuple(box),
        landmarks,
        manual=photo is not None,
    )
    quality = FaceQuality(size_px=box[3] - box[1], sharpness=100.0, frontal=1.0, detector=0.9, combined=0.8)
    return IdentityBank(
        id=bank_id,
        name=name,
        backend="test",
        embedding_dim=8,
        chip_size=150,
        embeddings=emb,
        crops=chip,
        sources=[source],
        quality=[quality],
        references=[0],
    )


class CallSpy:
    """Wraps a pipeline class's real ``__call__``: records the keyword arguments and the output,
    and still runs the real pipeline."""

    def __init__(self, monkeypatch, pipe):
        self.calls: list[dict] = []
        self.outputs: list = []
        import functools

        real = type(pipe).__call__
        spy = self

        @functools.wraps(real)  # the real signature stays visible (engines filter arguments by it)
        def recording(self_, *args, **kwargs):
            spy.calls.append(kwargs)
            out = real(self_, *args, **kwargs)
            spy.outputs.append(out)
            return out

        monkeypatch.setattr(type(pipe), "__call__", recording)
