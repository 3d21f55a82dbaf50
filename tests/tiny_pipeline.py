"""Build tiny, random-weight Stable Diffusion pipelines offline, for tests.

The saved folder loads through the same `from_pretrained` path as a real model. Images are noise;
that is enough to test loading, seeds, batching, progress, cancelling and the safety flag.
Importing it sets HF_HUB_OFFLINE=1 (unless set), before diffusers/transformers read it: tests never
reach for a model hub.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEED = 0
IMAGE_SIZE = 32  # the safety checker's input size


def _byte_symbols() -> list[str]:
    """The GPT-2/CLIP byte-to-unicode table: 256 printable symbols, one per byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def write_tokenizer_files(folder: Path) -> Path:
    """A byte-level CLIP vocabulary with no merges: every byte is a token."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    tokens = symbols + [symbol + "</w>" for symbol in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({token: index for index, token in enumerate(tokens)}),
                                       encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return folder


def _components(workdir: Path) -> dict[str, Any]:
    """1. Seed torch. 2. Tokenizer and text encoder. 3. UNet, VAE, scheduler."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(SEED)
    tokenizer = CLIPTokenizer.from_pretrained(str(write_tokenizer_files(workdir / "tokenizer-src")),
                                              model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=5,
        vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=IMAGE_SIZE, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32)
    vae = AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"])
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       steps_offset=1)
    return {"unet": unet, "vae": vae, "scheduler": scheduler, "text_encoder": text_encoder,
            "tokenizer": tokenizer}


def _flagging_checker() -> tuple[Any, Any]:
    """A tiny safety checker whose thresholds are so low that every image counts as flagged."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    config = CLIPConfig(
        text_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                     "num_hidden_layers": 2, "vocab_size": 100,
                     "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                       "num_hidden_layers": 2, "image_size": IMAGE_SIZE, "patch_size": 8},
        projection_dim=32)
    checker = StableDiffusionSafetyChecker(config)
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(-10.0)  # cos_dist - weight > 0 for every concept
    extractor = CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE,
                                                                                  "width": IMAGE_SIZE})
    return checker, extractor


def build_tiny_pipeline(folder: Path, flagging_safety_checker: bool = False) -> Path:
    """Save a tiny StableDiffusionPipeline to `folder` (about 8 MB) and return the folder."""
    from diffusers import StableDiffusionPipeline

    folder = Path(folder)
    components = _components(folder.parent / f".{folder.name}-build")
    if flagging_safety_checker:
        checker, extractor = _flagging_checker()
        pipeline = StableDiffusionPipeline(**components, safety_checker=checker, feature_extractor=extractor,
                                           requires_safety_checker=True)
    else:
        pipeline = StableDiffusionPipeline(**components, safety_checker=None, feature_extractor=None,
                                           requires_safety_checker=False)
    pipeline.save_pretrained(str(folder))
    return folder
