"""`fediverse-node model pull [ID]` and `fediverse-node model check`.

`pull` downloads a diffusers pipeline into the cache for machines that later run offline; `check`
loads the configured model and makes one small image, to prove the set-up before the node relies on it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from fediverse_node.cli.common import CommandFailed, settings_from_context
from fediverse_node.generation.pipeline import DiffusionPipelineRunner, ImageRequest, ModelUnavailable
from fediverse_node.generation.sources import hub_failure_reason, hub_offline, looks_like_path

# A diffusers pipeline is model_index.json plus one folder per component (configs, tokenizer files,
# safetensors weights). The loader reads the default (not the fp16 variant) weights, so only those come
# down; single-file checkpoints at the top level, .bin/.ckpt/ONNX/Flax copies are skipped.
PULL_PATTERNS = ["*.json", "*.txt", "*/*.safetensors", "*/*.model", "*/*.tiktoken"]
SKIP_PATTERNS = ["*.fp16.*", "*.bf16.*", "*.bin", "*.ckpt", "*.onnx*", "*.msgpack", "*.h5"]
CHECK_PROMPT = "a lighthouse on a rocky coast at dusk"


@click.group("model")
def model_group() -> None:
    """Download and check the image-generation model."""


@model_group.command("pull")
@click.argument("model_id", required=False)
@click.pass_context
def pull_command(ctx: click.Context, model_id: str | None) -> None:
    """Download MODEL_ID (default: [generation] model) into the cache, with a progress bar."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    generation = settings_from_context(ctx).generation
    model = model_id or generation.model
    if Path(model).expanduser().is_dir() or looks_like_path(model):
        raise CommandFailed(f"model '{model}' is a local folder; there is nothing to pull")
    if hub_offline():
        raise CommandFailed(f"cannot download '{model}': the hub cannot be reached (offline: HF_HUB_OFFLINE is set)")
    try:
        folder = snapshot_download(model, cache_dir=generation.cache_dir or None, allow_patterns=PULL_PATTERNS,
                                   ignore_patterns=SKIP_PATTERNS)
    except LocalEntryNotFoundError as error:
        detail = str(error).splitlines()[0].removeprefix("Got: ")
        raise CommandFailed(f"cannot download '{model}': the hub cannot be reached ({detail})") from None
    except Exception as error:  # noqa: BLE001 - every download failure is one line
        raise CommandFailed(f"cannot download '{model}': {hub_failure_reason(model, error)}") from None
    if not (Path(folder) / "model_index.json").is_file():
        raise CommandFailed(f"'{model}' was downloaded to {folder} but is not a diffusers pipeline "
                            "(no model_index.json)")
    click.echo(f"model {model} is ready in {folder}")


@model_group.command("check")
@click.option("--size", type=click.IntRange(64, 2048), default=64, show_default=True,
              help="width and height of the test image")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="save the test image here (PNG)")
@click.pass_context
def check_command(ctx: click.Context, size: int, output: str | None) -> None:
    """Load the configured model and generate one small image; print what loaded and how long it took."""
    generation = settings_from_context(ctx).generation
    for library in ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY"):  # this command's own lines are the report
        os.environ.setdefault(library, "error")
    started = time.perf_counter()
    try:
        runner = DiffusionPipelineRunner.load(generation)
    except ModelUnavailable as error:
        raise CommandFailed(error.reason) from None
    loaded = time.perf_counter()
    request = ImageRequest(prompt=CHECK_PROMPT, negative_prompt=generation.negative_prompt, seed=0,
                           steps=generation.steps, guidance_scale=generation.guidance_scale,
                           width=size - size % 8, height=size - size % 8)
    try:
        image = runner.generate([request])[0]
    except (RuntimeError, ValueError) as error:
        raise CommandFailed(f"generation failed with {runner.describe()}: {error}") from None
    done = time.perf_counter()
    if output:
        image.image.save(output, format="PNG")
    nsfw = {True: "flagged", False: "passed", None: "not checked"}[image.nsfw]
    click.echo(f"loaded: {runner.describe()}")
    click.echo(f"load: {loaded - started:.2f} s")
    click.echo(f"generate: {done - loaded:.2f} s ({request.width}x{request.height}, {request.steps} steps)")
    click.echo(f"safety check: {nsfw}")
    if output:
        click.echo(f"image: {output}")
