"""Load a diffusers text-to-image pipeline once and generate images with it.

One `DiffusionPipelineRunner` owns one pipeline and is used from one thread: a pipeline and its
scheduler keep state between steps, so calls are never concurrent. torch and diffusers are imported
inside the functions that need them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fediverse_node.config import GenerationSettings
from fediverse_node.generation.devices import available_devices, import_torch, pick_device, pick_dtype, torch_dtype
from fediverse_node.generation.errors import GenerationCanceled, ModelUnavailable
from fediverse_node.generation.schedulers import apply_scheduler
from fediverse_node.generation.sources import ModelSource, hub_failure_reason, resolve_source

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["DiffusionPipelineRunner", "GeneratedImage", "GenerationCanceled", "ImageRequest", "ModelUnavailable"]

log = logging.getLogger(__name__)
WARM_UP_SIZE = 64
StepCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ImageRequest:
    """One image to make. Requests with equal `batch_key()` may share one pipeline call."""

    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    guidance_scale: float
    width: int
    height: int

    def batch_key(self) -> tuple:
        """Everything but the prompt and the seed."""
        return (self.negative_prompt, self.steps, self.guidance_scale, self.width, self.height)


@dataclass(frozen=True)
class GeneratedImage:
    """An image and its seed. `nsfw`: True flagged, False checked and passed, None no check ran (not "safe")."""

    image: Image
    seed: int
    nsfw: bool | None


class DiffusionPipelineRunner:
    """A loaded pipeline plus what it runs on. Blocking and not thread-safe: give it one owner thread."""

    def __init__(self, pipeline: Any, source: ModelSource, device: str, dtype: str, settings: GenerationSettings,
                 safety_checker: str) -> None:
        self.pipeline = pipeline
        self.model_name = source.name
        self.device = device
        self.dtype = dtype
        self.can_batch = device != "cpu"  # on CPU a batch is no faster than its images one by one
        self.safety_checker = safety_checker  # "on", "off" or "none shipped"
        self._settings = settings

    @classmethod
    def load(cls, settings: GenerationSettings) -> DiffusionPipelineRunner:
        """Load `settings.model` (hub id or folder) onto its device; raise ModelUnavailable with the reason."""
        # 1. Find the model and read its model_index.json (clear reasons for missing or uncached models).
        source = resolve_source(settings.model, settings.local_files_only, settings.cache_dir)
        # 2. Import torch, set the thread count, choose the device and dtype.
        torch = import_torch()
        if settings.cpu_threads > 0:
            torch.set_num_threads(settings.cpu_threads)
        device = pick_device(settings.device, available_devices())
        dtype = pick_dtype(device, settings.dtype)
        # 3. Options for from_pretrained; the safety checker is dropped unless asked for and shipped.
        options: dict[str, Any] = {"dtype": torch_dtype(dtype), "local_files_only": source.local_files_only,
                                   "cache_dir": source.cache_dir}
        keep_checker = settings.safety_checker and source.ships_safety_checker
        if "safety_checker" in source.index and not keep_checker:
            options.update(safety_checker=None, requires_safety_checker=False)
        # 4. Build the pipeline and move it to the device.
        pipeline = _from_pretrained(source, options, f"{device} ({dtype})")
        try:
            pipeline.to(device)
        except torch.OutOfMemoryError:
            raise ModelUnavailable(f"out of memory loading {source.name} on {device} ({dtype})") from None
        # 5. Scheduler and progress output.
        apply_scheduler(pipeline, settings.scheduler)
        pipeline.set_progress_bar_config(disable=True)
        checker = "on" if keep_checker else ("off" if source.ships_safety_checker else "none shipped")
        runner = cls(pipeline, source, device, dtype, settings, checker)
        log.info("loaded %s", runner.describe())
        return runner

    def generate(self, requests: Sequence[ImageRequest], on_step: StepCallback | None = None) -> list[GeneratedImage]:
        """Make one image per request in one pipeline call. An exception raised by `on_step` stops the run."""
        # 1. Check inputs: one batch shares every setting but prompt and seed.
        if not requests:
            raise ValueError("generate() needs at least one request")
        first = requests[0]
        if any(request.batch_key() != first.batch_key() for request in requests):
            raise ValueError("requests in one batch must share negative_prompt, steps, guidance_scale and size")
        # 2. One generator per image, so a seed gives the same pixels whatever else is in the batch.
        torch = import_torch()
        generators = [torch.Generator("cpu").manual_seed(request.seed) for request in requests]
        # 3. Arguments; a negative prompt only when there is one (not every pipeline takes it).
        arguments: dict[str, Any] = {
            "prompt": [request.prompt for request in requests], "num_inference_steps": first.steps,
            "guidance_scale": first.guidance_scale, "width": first.width, "height": first.height,
            "generator": generators, "output_type": "pil"}
        if first.negative_prompt:
            arguments["negative_prompt"] = [first.negative_prompt] * len(requests)
        if on_step is not None:
            arguments["callback_on_step_end"] = _step_reporter(on_step, first.steps)
        # 4. Denoise and decode; an exception from on_step propagates from here.
        output = self.pipeline(**arguments)
        # 5. Pair images with seeds and safety flags.
        flags = _nsfw_flags(output, len(requests))
        return [GeneratedImage(image=image, seed=request.seed, nsfw=flag)
                for image, request, flag in zip(output.images, requests, flags, strict=True)]

    def warm_up(self) -> None:
        """One tiny run (1 step, 64x64) so the first real job does not pay for lazy initialisation."""
        self.generate([ImageRequest("warm-up", "", 0, 1, self._settings.guidance_scale, WARM_UP_SIZE, WARM_UP_SIZE)])

    def describe(self) -> str:
        return f"model {self.model_name} on {self.device} ({self.dtype}), safety checker {self.safety_checker}"


def _from_pretrained(source: ModelSource, options: dict[str, Any], target: str) -> Any:
    """AutoPipelineForText2Image, or DiffusionPipeline for pipeline classes it does not map."""
    import diffusers

    _quiet_progress_bars()
    try:
        try:
            return diffusers.AutoPipelineForText2Image.from_pretrained(source.location, **options)
        except ValueError as error:
            if "AutoPipeline can't find a pipeline" not in str(error):
                raise
            return diffusers.DiffusionPipeline.from_pretrained(source.location, **options)
    except ModelUnavailable:
        raise
    except Exception as error:  # noqa: BLE001 - a load failure of any kind becomes one reason
        raise ModelUnavailable(_load_failure_reason(source, target, error)) from error


def _load_failure_reason(source: ModelSource, target: str, error: Exception) -> str:
    if isinstance(error, import_torch().OutOfMemoryError) or "out of memory" in str(error).lower():
        return f"out of memory loading {source.name} on {target}"
    if not source.is_folder and isinstance(error, OSError):
        return hub_failure_reason(source.name, error)
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"cannot load model {source.name}: {detail}"


def _step_reporter(on_step: StepCallback, steps: int) -> Callable[..., dict[str, Any]]:
    """A `callback_on_step_end` that reports (steps done, total) and returns its kwargs, as diffusers requires."""

    def report(pipeline: Any, step_index: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        total = getattr(pipeline, "num_timesteps", None) or steps
        on_step(step_index + 1, total)
        return callback_kwargs

    return report


def _nsfw_flags(output: Any, count: int) -> list[bool | None]:
    detected = getattr(output, "nsfw_content_detected", None)
    if detected is None:
        return [None] * count
    return [None if flag is None else bool(flag) for flag in detected]


def _quiet_progress_bars() -> None:
    """Loading progress bars are noise in a server log; this process owns the model, so turn them off."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()

