"""Where a model comes from (a local folder or a hub id) and why it cannot be loaded, in words."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fediverse_node.generation.errors import ModelUnavailable

MODEL_INDEX = "model_index.json"


@dataclass(frozen=True)
class ModelSource:
    """What `from_pretrained` gets: the folder or id, whether the hub may be asked, and the index it ships."""

    name: str
    location: str
    is_folder: bool
    local_files_only: bool
    cache_dir: str | None
    index: dict[str, Any]

    @property
    def ships_safety_checker(self) -> bool:
        entry = self.index.get("safety_checker")
        return isinstance(entry, list) and any(part is not None for part in entry)


def looks_like_path(model: str) -> bool:
    """True for "/x", "./x", "~/x", "C:\\x" or "a/b/c"; a hub id is "owner/name"."""
    return model.startswith(("/", ".", "~")) or "\\" in model or model.count("/") > 1


def hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.is_offline_mode())


def resolve_source(model: str, local_files_only: bool, cache_dir: str) -> ModelSource:
    """Find the model and read its model_index.json, or raise ModelUnavailable with the reason."""
    folder = Path(model).expanduser()
    if folder.is_dir() or looks_like_path(model):
        return _folder_source(model, folder.resolve())
    return _hub_source(model, local_files_only, cache_dir or None)


def _folder_source(model: str, folder: Path) -> ModelSource:
    if not folder.exists():
        raise ModelUnavailable(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelUnavailable(f"not a diffusers pipeline folder (it is a file): {folder}")
    index_file = folder / MODEL_INDEX
    if not index_file.is_file():
        raise ModelUnavailable(f"not a diffusers pipeline folder (no {MODEL_INDEX}): {folder}")
    return ModelSource(model, str(folder), True, True, None, _read_index(index_file))


def _hub_source(model: str, local_files_only: bool, cache_dir: str | None) -> ModelSource:
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model, MODEL_INDEX, cache_dir=cache_dir)
    offline = hub_offline()
    if not isinstance(cached, str) and (offline or local_files_only):
        why = "offline: HF_HUB_OFFLINE is set" if offline else "local_files_only = true"
        where = cache_dir or "the default Hugging Face cache"
        raise ModelUnavailable(f"model '{model}' is not in the local cache and the hub cannot be reached ({why}): "
                               f"run `fediverse-node model pull {model}` on a machine with internet "
                               f"(cache: {where})")
    index = _read_index(Path(cached)) if isinstance(cached, str) else _fetch_index(model, cache_dir)
    return ModelSource(model, model, False, local_files_only or offline, cache_dir, index)


def _fetch_index(model: str, cache_dir: str | None) -> dict[str, Any]:
    from huggingface_hub import hf_hub_download

    try:
        return _read_index(Path(hf_hub_download(model, MODEL_INDEX, cache_dir=cache_dir)))
    except Exception as error:  # noqa: BLE001 - every hub failure becomes one reason
        raise ModelUnavailable(hub_failure_reason(model, error)) from error


def hub_failure_reason(model: str, error: Exception) -> str:
    """One line for a failed hub look-up: missing repo, gated repo, or no connection."""
    from huggingface_hub.errors import (EntryNotFoundError, GatedRepoError, LocalEntryNotFoundError,
                                        RepositoryNotFoundError)

    if isinstance(error, GatedRepoError):
        return f"model '{model}' is gated on the hub: accept its licence and log in (hf auth login), then pull it"
    if isinstance(error, RepositoryNotFoundError):
        return f"model '{model}' was not found on the hub (check the id, or log in if it is private)"
    if isinstance(error, LocalEntryNotFoundError):
        first_line = str(error).splitlines()[0]
        return f"model '{model}' is not in the local cache and the hub cannot be reached: {first_line}"
    if isinstance(error, EntryNotFoundError):
        return f"model '{model}' on the hub is not a diffusers pipeline (no {MODEL_INDEX})"
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"cannot fetch model '{model}' from the hub: {detail}"


def _read_index(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelUnavailable(f"{MODEL_INDEX} cannot be read ({error}): {path}") from None
    if not isinstance(data, dict) or "_class_name" not in data:
        raise ModelUnavailable(f"not a diffusers pipeline folder ({MODEL_INDEX} names no pipeline class): {path}")
    return data
