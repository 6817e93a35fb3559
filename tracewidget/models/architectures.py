"""Where the parts of a transformer live, per model family.

Causal tracing patches the same few places in every decoder-only LM: the token embedding (noise
traces corrupt its output), each block's output (``resid``), its MLP and attention outputs, the
input of the attention output projection (per-head outputs, concatenated), the MLP's hidden
activations (the input of its down projection: neurons), the final norm and the unembedding. HF
families name these differently, and under transformers 5 some modules return a tensor where
others return a tuple; this module is the one place that knows, so the engine never does.

An `Architecture` holds dotted module paths (relative to the model for the top-level parts,
relative to a block for the per-layer parts). `architecture(model)` picks the entry for a model's
``config.model_type``; `register_architecture` adds a family; a family in neither is found in the
module tree and checked on the model by `tracewidget.models.discovery`.

nnterp (PyPI) was evaluated for this role and not adopted; see docs/architecture-map.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


class UnsupportedArchitectureError(ValueError):
    """The model's family is not in the architecture map and its parts could not be found (or
    were found but failed the checks on the model); the message says what failed."""


@dataclass(frozen=True)
class Architecture:
    """Module paths of one model family.

    ``embed``, ``blocks``, ``final_norm`` and ``unembed`` are paths from the top-level model;
    ``mlp``, ``attn``, ``attn_out_proj`` (attention output projection, whose input holds the
    per-head outputs) and ``mlp_out_proj`` (MLP down projection, whose input holds the neurons)
    are paths from one block. ``attn_out_proj`` and ``mlp_out_proj`` are relative to the block
    too, since some families keep the MLP's layers directly in the block (OPT).
    """

    family: str
    embed: str
    blocks: str
    mlp: str
    attn: str
    attn_out_proj: str
    mlp_out_proj: str
    final_norm: str
    unembed: str


_GPT2 = Architecture("gpt2", embed="transformer.wte", blocks="transformer.h", mlp="mlp",
                     attn="attn", attn_out_proj="attn.c_proj", mlp_out_proj="mlp.c_proj",
                     final_norm="transformer.ln_f", unembed="lm_head")
_NEOX = Architecture("gpt_neox", embed="gpt_neox.embed_in", blocks="gpt_neox.layers", mlp="mlp",
                     attn="attention", attn_out_proj="attention.dense",
                     mlp_out_proj="mlp.dense_4h_to_h", final_norm="gpt_neox.final_layer_norm",
                     unembed="lm_head")
_LLAMA = Architecture("llama", embed="model.embed_tokens", blocks="model.layers", mlp="mlp",
                      attn="self_attn", attn_out_proj="self_attn.o_proj",
                      mlp_out_proj="mlp.down_proj", final_norm="model.norm", unembed="lm_head")
_GPTJ = Architecture("gptj", embed="transformer.wte", blocks="transformer.h", mlp="mlp",
                     attn="attn", attn_out_proj="attn.out_proj", mlp_out_proj="mlp.fc_out",
                     final_norm="transformer.ln_f", unembed="lm_head")
_GPT_NEO = Architecture("gpt_neo", embed="transformer.wte", blocks="transformer.h", mlp="mlp",
                        attn="attn", attn_out_proj="attn.attention.out_proj",
                        mlp_out_proj="mlp.c_proj", final_norm="transformer.ln_f",
                        unembed="lm_head")
# Gemma 3 multimodal checkpoints (Gemma3ForConditionalGeneration) keep the text model one level
# down; their text config says "gemma3_text", the module tree is the outer "gemma3" one.
_GEMMA3 = Architecture("gemma3", embed="model.language_model.embed_tokens",
                       blocks="model.language_model.layers", mlp="mlp", attn="self_attn",
                       attn_out_proj="self_attn.o_proj", mlp_out_proj="mlp.down_proj",
                       final_norm="model.language_model.norm", unembed="lm_head")
_OPT = Architecture("opt", embed="model.decoder.embed_tokens", blocks="model.decoder.layers",
                    mlp="fc2", attn="self_attn", attn_out_proj="self_attn.out_proj",
                    mlp_out_proj="fc2", final_norm="model.decoder.final_layer_norm",
                    unembed="lm_head")

ARCHITECTURES: dict[str, Architecture] = {
    "gpt2": _GPT2,
    "gpt_neox": _NEOX,
    "gptj": _GPTJ,
    "opt": _OPT,
    "gpt_neo": _GPT_NEO,
    "gemma3": _GEMMA3,
    # Phi-3 fuses q/k/v into qkv_proj and gate/up into gate_up_proj; o_proj and down_proj, whose
    # inputs are the heads and the neurons, are separate as in Llama.
    **{name: Architecture(name, **{k: v for k, v in vars(_LLAMA).items() if k != "family"})
       for name in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text",
                    "olmo2", "phi3")},
}


def register_architecture(model_type: str, arch: Architecture) -> None:
    """Teach tracewidget a new family: ``model_type`` is the HF ``config.model_type``. The map
    comes before discovery: name the modules of a family that discovery refuses, or skip its
    checks (a few forwards the first time a model is used)."""
    ARCHITECTURES[model_type] = arch


@dataclass(frozen=True)
class Shape:
    """The sizes the engine sweeps over."""

    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_model: int


def own_config(model: Any) -> Any:
    """The HF config of the module tree itself (for a multimodal checkpoint, the outer config)
    of an nnsight model, a plain HF model, or a config itself."""
    from transformers import PretrainedConfig

    config = model if isinstance(model, PretrainedConfig) else getattr(model, "config", None)
    if config is None:
        raise TypeError(f"expected a Hugging Face model or an nnsight model, got {type(model)}")
    return config


def model_config(model: Any) -> Any:
    """The HF config of the language model: the text config of a multimodal checkpoint, else
    `own_config`. Layer, head and width counts live here."""
    config = own_config(model)
    return getattr(config, "text_config", None) or config


def architecture(model: Any) -> Architecture:
    """The `Architecture` of ``model`` (an nnsight model, a plain HF model, or its config).

    The map (`ARCHITECTURES`, `register_architecture`) is looked up by the model's own
    ``config.model_type`` (the outer one for a multimodal checkpoint, whose module tree is the
    outer model's). A family not in the map is discovered in the module tree and checked on the
    model itself (`tracewidget.models.discovery`), once per model; a config alone has no modules
    to look at, so for an unmapped family it raises.
    """
    config = own_config(model)
    if config.model_type in ARCHITECTURES:
        return ARCHITECTURES[config.model_type]
    if config is model:
        raise UnsupportedArchitectureError(
            f"tracewidget does not know where the layers of a {config.model_type!r} model live; "
            f"supported families: {', '.join(sorted(ARCHITECTURES))}. Another family's modules "
            "can be found from the model itself (tw.architecture(model)), not from its config; "
            "or name them with tw.register_architecture(model_type, tw.Architecture(...)) "
            "(see the gpt2 entry in tracewidget/models/architectures.py)."
        )
    from .discovery import discovered

    return discovered(model)


def shape(model: Any) -> Shape:
    """Layer, head and width counts read from the model's config."""
    cfg = model_config(model)
    n_heads = cfg.num_attention_heads
    d_model = cfg.hidden_size
    return Shape(
        n_layers=cfg.num_hidden_layers,
        n_heads=n_heads,
        n_kv_heads=getattr(cfg, "num_key_value_heads", None) or n_heads,
        head_dim=getattr(cfg, "head_dim", None) or d_model // n_heads,
        d_model=d_model,
    )


def submodule(root: Any, path: str) -> Any:
    """Follow a dotted path (``"transformer.h"``) from ``root`` (an nnsight Envoy or nn.Module)."""
    for part in path.split("."):
        root = getattr(root, part)
    return root


def block(model: Any, layer: int) -> Any:
    """Block ``layer`` of ``model`` (an nnsight Envoy or nn.Module)."""
    return submodule(model, architecture(model).blocks)[layer]


def main_tensor(value: Any, batch: int | None = None) -> torch.Tensor:
    """The ``[batch, seq, features]`` hidden-state tensor of a module's input or output.

    Hides what differs between families under transformers 5: attention modules return a tuple
    whose first element is the hidden state, blocks and MLPs return the tensor itself, and OPT's
    ``fc1``/``fc2`` work on flattened ``[batch * seq, features]`` tensors (viewed back when
    ``batch`` is given). The result is a view: writing into it patches the model.
    """
    tensor = value[0] if isinstance(value, (tuple, list)) else value
    if tensor.ndim == 2 and batch is not None:
        tensor = tensor.view(batch, -1, tensor.shape[-1])
    return tensor
