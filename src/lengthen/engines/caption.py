"""The optional local captioner: one sentence about the frame at the cut, for the default prompt.

Used only when its weights are on this machine: the ``captioner`` preset of ``models.json``
(BLIP base by default), looked for like every preset (``$LENGTHEN_MODELS``, lengthen's download
folder, the Hugging Face cache; never ``--model-path``, which names the video model). It is
fetched only with ``--allow-download``. Any image-to-text model that
``transformers.AutoModelForImageTextToText`` loads from safetensors works (BLIP, ViT-GPT2, ...).
A missing or broken captioner is never fatal: the prompt then describes the shot without it.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError
from . import presets

PRESET = "captioner"


def locate(allow_download: bool = False) -> Path | None:
    """The captioner's folder, if its weights are here (downloaded first only when allowed)."""
    preset = presets.get_preset(PRESET)
    folder = presets.locate(preset)
    if folder is None and allow_download:
        try:
            folder = presets.download(preset)
        except ModelError:
            return None  # offline or refused: the prompt goes without a caption
    return folder


@contextlib.contextmanager
def _quiet():
    from transformers.utils import logging as tlog

    level = tlog.get_verbosity()
    tlog.set_verbosity_error()
    try:
        yield
    finally:
        tlog.set_verbosity(level)


@lru_cache(maxsize=2)
def _load(folder: str, device: str):
    from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoTokenizer

    with _quiet():
        model = AutoModelForImageTextToText.from_pretrained(folder, local_files_only=True, use_safetensors=True)
        processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return model.eval().to(device), processor, tokenizer


def caption(frame: np.ndarray, folder: Path, device: str = "cpu", max_words: int = 20) -> str:
    """One line describing a uint8 ``(H, W, 3)`` frame ("" when the model says nothing)."""
    import torch
    from PIL import Image

    model, processor, tokenizer = _load(str(folder), str(device))
    with _quiet():
        pixels = processor(images=Image.fromarray(frame), return_tensors="pt").pixel_values.to(device, model.dtype)
        with torch.no_grad():
            ids = model.generate(pixel_values=pixels, max_new_tokens=max_words + 4)
    text = " ".join(tokenizer.decode(ids[0], skip_special_tokens=True).split())
    return " ".join(text.split()[:max_words]).strip(" .")


def describe(frame: np.ndarray, allow_download: bool = False, device: str = "cpu") -> str:
    """The caption of ``frame`` when a captioner is here, else "" (never raises for a missing or
    broken captioner: the default prompt simply goes without it)."""
    folder = locate(allow_download)
    if folder is None:
        return ""
    try:
        return caption(frame, folder, device)
    except Exception:  # a broken optional captioner is not worth failing a render for
        return ""
