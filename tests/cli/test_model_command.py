"""`fediverse-node model check` and `model pull`, offline, on the tiny pipelines."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import tiny_pipeline  # noqa: F401 - sets HF_HUB_OFFLINE=1 before diffusers is imported
from fediverse_node.cli.main import cli
from test_commands import one_error_line, run


def write_config(folder: Path, model: Path | str, **generation: str) -> Path:
    config = folder / "config.toml"
    extra = "".join(f"{key} = {value}\n" for key, value in generation.items())
    config.write_text('[instance]\ndomain = "127.0.0.1:8000"\nscheme = "http"\n'
                      f'[generation]\nmodel = "{model}"\ndevice = "cpu"\ncpu_threads = 1\nsteps = 2\n{extra}')
    return config


def invoke(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_check_loads_the_model_and_makes_an_image(tmp_path, tiny_model_dir):
    result = invoke(write_config(tmp_path, tiny_model_dir), "model", "check", "--output", str(tmp_path / "c.png"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"loaded: model {tiny_model_dir} on cpu (float32), safety checker none shipped"
    assert lines[1].startswith("load: ") and lines[1].endswith(" s")
    assert lines[2].startswith("generate: ") and lines[2].endswith(" s (64x64, 2 steps)")
    assert lines[3] == "safety check: not checked"
    assert (tmp_path / "c.png").stat().st_size > 0


def test_check_reports_a_flagged_image(tmp_path, flagging_model_dir):
    result = invoke(write_config(tmp_path, flagging_model_dir), "model", "check")
    assert result.exit_code == 0, result.output
    assert "safety checker on" in result.stdout and "safety check: flagged" in result.stdout


def test_check_on_a_bad_path_is_one_error_line(tmp_path):
    # Given a config naming a folder that is not there, run as operators run it
    config = write_config(tmp_path, tmp_path / "missing-model")
    # Then one line says so and the exit status is 1
    result = run(config, "model", "check")
    assert result.returncode == 1
    assert one_error_line(result) == f"error: model folder {tmp_path / 'missing-model'} does not exist"


def test_check_on_an_uncached_hub_model_offline(tmp_path):
    result = invoke(write_config(tmp_path, "stabilityai/sd-turbo", cache_dir=f'"{tmp_path}"'), "model", "check")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: model 'stabilityai/sd-turbo' is not in the local cache")
    assert len(result.stderr.splitlines()) == 1


def test_pull_offline_is_one_error_line(tmp_path):
    result = invoke(write_config(tmp_path, "stabilityai/sd-turbo"), "model", "pull")
    assert result.exit_code == 1
    assert result.stderr == ("error: cannot download 'stabilityai/sd-turbo': the hub cannot be reached "
                             "(offline: HF_HUB_OFFLINE is set)\n")


def test_pull_of_a_local_folder_says_there_is_nothing_to_pull(tmp_path, tiny_model_dir):
    result = invoke(write_config(tmp_path, tiny_model_dir), "model", "pull")
    assert result.exit_code == 1
    assert "is a local folder; there is nothing to pull" in result.stderr
