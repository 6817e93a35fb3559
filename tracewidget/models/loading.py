"""`load_model`: the bundled fact model, any HF causal LM by hub id or local folder, or NDIF.

Every model comes back as an nnsight ``TransformersModel`` (the non-deprecated nnsight 0.8 class),
so users can keep using nnsight on it directly; tracewidget's engine takes the same object.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .architectures import architecture, model_config
from .factlm import WEIGHTS_DIR

REMOTE_ATTR = "_tracewidget_remote"


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
    try:
        return AutoConfig.from_pretrained(source)
    except OSError as err:
        raise ModelLoadError(
            f"Could not load {source!r}: it is not in the local Hugging Face cache and the hub "
            "could not be reached or has no such model; check the id, then download it once with "
            f"network access (`hf download {source}`) or pass a local folder "
            f"({err.__class__.__name__})"
        ) from None


def _check_causal(config: Any, source: str) -> None:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    heads = getattr(config, "architectures", None) or []
    causal_head = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in heads)
    if (config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or (heads and not causal_head)
            or getattr(config, "is_encoder_decoder", False)):
        raise ModelLoadError(
            f"{source!r} is a {config.model_type!r} model, which is not a causal (decoder-only) "
            "language model; causal tracing reads the next-token prediction, so load a causal LM "
            "such as GPT-2, Pythia or Llama."
        )


def _load_tokenizer(source: str) -> Any:
    """The folder's tokenizer; falls back to its ``tokenizer.json`` when the class transformers
    picks for the model type cannot read it (transformers 5 maps a "qwen2" config to
    Qwen2Tokenizer even when the folder holds another tokenizer, which then yields no tokens)."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    tokenizer = AutoTokenizer.from_pretrained(source)
    if not tokenizer("The", add_special_tokens=False)["input_ids"]:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(source)
    return tokenizer


def load_model(name_or_path: str | os.PathLike | None = None, *, remote: bool | str = False,
               device_map: str | dict | None = None, dtype: Any = None, **kwargs: Any) -> Any:
    """Load a causal LM as an nnsight model ready for tracing.

    Args:
        name_or_path: ``None`` for the bundled fact model (offline, CPU); a Hugging Face hub id
            ("openai-community/gpt2"); or a local folder written by ``save_pretrained``.
        remote: ``True`` to run every experiment on NDIF (the weights are not downloaded; needs
            an NDIF API key, see nnsight's docs); ``"local"`` simulates the remote path in-process.
        device_map, dtype: passed to ``from_pretrained`` (e.g. ``device_map="auto"``,
            ``dtype=torch.bfloat16``).
        **kwargs: passed on to ``nnsight.TransformersModel`` and ``from_pretrained``;
            ``tokenizer=`` replaces the tokenizer found with the model.

    Returns:
        an ``nnsight.TransformersModel``; tracewidget's functions take it as their ``model``.
    """
    import nnsight
    from transformers.utils import logging as hf_logging

    source = str(WEIGHTS_DIR if name_or_path is None else name_or_path)
    config = _load_config(source)
    _check_causal(config, source)
    architecture(config)  # unknown families fail here, before any weights load
    tokenizer = kwargs.pop("tokenizer", None) or _load_tokenizer(source)
    load_kwargs = dict(kwargs)
    if device_map is not None:
        load_kwargs["device_map"] = device_map
    if dtype is not None:
        load_kwargs["dtype"] = dtype
    progress_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = nnsight.TransformersModel(source, tokenizer=tokenizer, task="text-generation",
                                          dispatch=remote is not True, **load_kwargs)
    finally:
        if progress_was_on:
            hf_logging.enable_progress_bar()
    setattr(model, REMOTE_ATTR, remote)
    return model


def display_name(model: Any) -> str:
    """The name results carry: "factlm" for the bundled model, else the hub id or folder."""
    cfg = model_config(model)
    name = str(getattr(cfg, "_name_or_path", "") or cfg.model_type)
    if _is_local(name) and Path(name).expanduser().resolve() == WEIGHTS_DIR.resolve():
        return "factlm"
    return name


def remote_setting(model: Any) -> bool | str:
    """The ``remote=`` a model was loaded with (False for models not loaded by tracewidget)."""
    return getattr(model, REMOTE_ATTR, False)


__all__ = ["ModelLoadError", "display_name", "load_model", "model_config", "remote_setting"]
