"""Loading: settings reach the pipeline, and every unloadable model gives ModelUnavailable with a reason."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fediverse_node.generation.devices import pick_device, pick_dtype
from fediverse_node.generation.pipeline import DiffusionPipelineRunner, ModelUnavailable
from fediverse_node.generation.schedulers import SCHEDULERS, apply_scheduler


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def reason(settings) -> str:
    with pytest.raises(ModelUnavailable) as caught:
        DiffusionPipelineRunner.load(settings)
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


def test_a_missing_folder(tmp_path, tiny_settings):
    assert reason(tiny_settings(tmp_path / "nope")) == f"model folder {tmp_path / 'nope'} does not exist"


def test_a_folder_without_model_index(tmp_path, tiny_settings):
    (tmp_path / "unet").mkdir()
    assert reason(tiny_settings(tmp_path)) == f"not a diffusers pipeline folder (no model_index.json): {tmp_path}"


def test_a_hub_id_offline_with_an_empty_cache(tmp_path, tiny_settings):
    text = reason(tiny_settings("stabilityai/sd-turbo", cache_dir=str(tmp_path)))
    assert text.startswith("model 'stabilityai/sd-turbo' is not in the local cache and the hub cannot be "
                           "reached (offline: HF_HUB_OFFLINE is set)")
    assert "fediverse-node model pull stabilityai/sd-turbo" in text


def test_a_broken_component_names_the_model(tmp_path, tiny_model_dir, tiny_settings):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not weights")
    assert reason(tiny_settings(broken)).startswith(f"cannot load model {broken}: ")


@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU")
def test_an_asked_for_device_that_is_missing(tiny_model_dir, tiny_settings):
    assert reason(tiny_settings(tiny_model_dir, device="cuda")).startswith(
        "device 'cuda' was asked for but no CUDA GPU is visible to torch")


def test_auto_device_and_dtype():
    assert pick_device("auto", {"cpu"}) == "cpu"
    assert pick_device("auto", {"cpu", "mps"}) == "mps"
    assert pick_device("auto", {"cpu", "mps", "cuda"}) == "cuda"
    assert pick_device("cpu", {"cpu", "cuda"}) == "cpu"
    assert [pick_dtype(device, "auto") for device in ("cuda", "mps", "cpu")] == ["float16", "float16", "float32"]
    assert pick_dtype("cpu", "bfloat16") == "bfloat16"


def test_every_scheduler_name_builds_from_the_models_config(tiny_runner):
    class Holder:
        scheduler = tiny_runner.pipeline.scheduler

    for name, class_name in SCHEDULERS.items():
        assert apply_scheduler(Holder, name) == class_name
    assert apply_scheduler(Holder, "default") == "LCMScheduler"  # default keeps whatever is there


def test_the_scheduler_setting_reaches_the_pipeline(tiny_model_dir, tiny_settings, image_request):
    runner = DiffusionPipelineRunner.load(tiny_settings(tiny_model_dir, scheduler="euler_ancestral"))
    assert type(runner.pipeline.scheduler).__name__ == "EulerAncestralDiscreteScheduler"
    assert runner.generate([image_request()])[0].image.size == (64, 64)


def test_importing_generation_does_not_import_torch():
    code = ("import sys, fediverse_node.generation, fediverse_node.cli.main; "
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs a CUDA GPU")
def test_tiny_model_on_cuda_in_half_precision(tiny_model_dir, tiny_settings, image_request):
    runner = DiffusionPipelineRunner.load(tiny_settings(tiny_model_dir, device="auto"))
    assert (runner.device, runner.dtype, runner.can_batch) == ("cuda", "float16", True)
    made = runner.generate([image_request(seed=1), image_request(seed=2)])
    again = runner.generate([image_request(seed=1)])
    assert made[0].image.tobytes() != made[1].image.tobytes()
    assert made[0].image.size == again[0].image.size == (64, 64)
