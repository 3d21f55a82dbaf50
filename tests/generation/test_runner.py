"""Generating with the tiny pipeline: seeds, batches, progress, cancelling, safety flags."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fediverse_node.generation.pipeline import DiffusionPipelineRunner, GenerationCanceled


def pixels(generated) -> np.ndarray:
    return np.asarray(generated.image)


def test_the_folder_loads_like_a_real_model(tiny_runner, tiny_model_dir):
    assert tiny_runner.model_name == str(tiny_model_dir)
    assert (tiny_runner.device, tiny_runner.dtype, tiny_runner.can_batch) == ("cpu", "float32", False)
    assert tiny_runner.describe() == f"model {tiny_model_dir} on cpu (float32), safety checker none shipped"


def test_same_seed_same_pixels_other_seed_other_pixels(tiny_runner, image_request):
    first, again = tiny_runner.generate([image_request(seed=7)])[0], tiny_runner.generate([image_request(seed=7)])[0]
    other = tiny_runner.generate([image_request(seed=8)])[0]
    assert first.image.size == (64, 64) and first.seed == 7
    assert np.array_equal(pixels(first), pixels(again))
    assert not np.array_equal(pixels(first), pixels(other))


def test_a_batch_equals_its_images_made_one_by_one(tiny_runner, image_request):
    # Given two requests that share a batch key but not prompt or seed
    one, two = image_request(seed=1, prompt="a red boat"), image_request(seed=2, prompt="a green hill")
    # When they run as one batch and then one at a time
    batch = tiny_runner.generate([one, two])
    singles = [tiny_runner.generate([one])[0], tiny_runner.generate([two])[0]]
    # Then each image is the same either way
    assert [image.seed for image in batch] == [1, 2]
    for batched, single in zip(batch, singles, strict=True):
        assert np.array_equal(pixels(batched), pixels(single))


def test_a_batch_must_share_its_settings(tiny_runner, image_request):
    with pytest.raises(ValueError, match="must share"):
        tiny_runner.generate([image_request(steps=2), image_request(steps=3)])
    with pytest.raises(ValueError, match="at least one"):
        tiny_runner.generate([])


def test_on_step_reports_each_step_in_order(tiny_runner, image_request):
    seen: list[tuple[int, int]] = []
    tiny_runner.generate([image_request(steps=3)], on_step=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("error", [GenerationCanceled, RuntimeError])
def test_an_exception_from_on_step_stops_the_run(tiny_runner, image_request, error):
    seen: list[int] = []

    def stop_after_first(done: int, total: int) -> None:
        seen.append(done)
        raise error("stop")

    started = time.perf_counter()
    with pytest.raises(error):
        tiny_runner.generate([image_request(steps=50)], on_step=stop_after_first)
    assert seen == [1]
    assert time.perf_counter() - started < 5  # 50 steps were asked for; one ran and no decode followed


def test_a_negative_prompt_with_guidance_runs(tiny_runner, image_request):
    made = tiny_runner.generate([image_request(negative_prompt="blurry", guidance_scale=3.0)])
    assert made[0].image.size == (64, 64)


def test_other_sizes_are_honoured(tiny_runner, image_request):
    assert tiny_runner.generate([image_request(width=96, height=64)])[0].image.size == (96, 64)


def test_no_checker_means_nsfw_unknown(tiny_runner, image_request):
    assert tiny_runner.generate([image_request()])[0].nsfw is None


def test_a_flagging_checker_flags_every_image(flagging_runner, image_request):
    assert flagging_runner.describe().endswith("safety checker on")
    made = flagging_runner.generate([image_request(seed=1), image_request(seed=2)])
    assert [image.nsfw for image in made] == [True, True]


def test_safety_checker_off_drops_a_shipped_checker(flagging_model_dir, tiny_settings, image_request):
    runner = DiffusionPipelineRunner.load(tiny_settings(flagging_model_dir, safety_checker=False))
    assert runner.pipeline.safety_checker is None
    assert runner.describe().endswith("safety checker off")
    assert runner.generate([image_request()])[0].nsfw is None


def test_warm_up_runs_one_tiny_step(tiny_runner):
    tiny_runner.warm_up()
