"""Tiny random models of every supported family, built by the tests (no hub download).

Each is saved with ``save_pretrained`` together with a word-level tokenizer made here, so the
tests load it through ``tw.load_model(path)``: the same code path users run. `UNMAPPED` families
(not in the architecture map: their modules are discovered) and `MULTIMODAL` checkpoints, which
``tw.load_model`` does not take yet, load through `load_unchecked`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nnsight
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    Gemma2Config,
    Gemma3Config,
    Gemma3TextConfig,
    GemmaConfig,
    GPT2Config,
    GPTJConfig,
    GPTNeoConfig,
    GPTNeoXConfig,
    LlamaConfig,
    MistralConfig,
    Olmo2Config,
    OPTConfig,
    Phi3Config,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen3Config,
)

WORDS = [
    "The", "Eiffel", "Tower", "Colosseum", "is", "located", "in", "the", "city", "of", "Paris",
    "Rome", "Berlin", "Golden", "Gate", "Bridge", "a", "an", "and", "to", "was", "by", "speaks",
    "plays",
]
SPECIALS = ["<pad>", "<unk>", "<eos>"]

_COMMON = {"pad_token_id": 0, "eos_token_id": 2, "bos_token_id": 2}
_LLAMA_LIKE = {"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
               "num_key_value_heads": 2, "intermediate_size": 96, "max_position_embeddings": 64}

CONFIGS = {
    "gpt2": lambda **kw: GPT2Config(n_layer=2, n_embd=64, n_head=4, n_positions=64,
                                    **_COMMON, **kw),
    "gpt_neox": lambda **kw: GPTNeoXConfig(num_hidden_layers=2, hidden_size=64,
                                           num_attention_heads=4, intermediate_size=96,
                                           max_position_embeddings=64, **_COMMON, **kw),
    "llama": lambda **kw: LlamaConfig(**_LLAMA_LIKE, **_COMMON, **kw),
    "mistral": lambda **kw: MistralConfig(**_LLAMA_LIKE, **_COMMON, **kw),
    "qwen2": lambda **kw: Qwen2Config(**_LLAMA_LIKE, **_COMMON, **kw),
    "qwen3": lambda **kw: Qwen3Config(**_LLAMA_LIKE, head_dim=16, **_COMMON, **kw),
    "gemma": lambda **kw: GemmaConfig(**_LLAMA_LIKE, head_dim=32, **_COMMON, **kw),
    "gemma2": lambda **kw: Gemma2Config(**_LLAMA_LIKE, head_dim=16, **_COMMON, **kw),
    "gptj": lambda **kw: GPTJConfig(n_layer=2, n_embd=64, n_head=4, rotary_dim=8,
                                    n_positions=64, **_COMMON, **kw),
    "opt": lambda **kw: OPTConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                                  ffn_dim=96, word_embed_proj_dim=64,
                                  max_position_embeddings=64, **_COMMON, **kw),
    # one local (sliding) and one global layer, each with its own rotary base
    "gemma3_text": lambda **kw: Gemma3TextConfig(**{
        **_LLAMA_LIKE, "head_dim": 16, "layer_types": ["sliding_attention", "full_attention"],
        **_COMMON, **kw}),
    "olmo2": lambda **kw: Olmo2Config(**_LLAMA_LIKE, **_COMMON, **kw),
    "phi3": lambda **kw: Phi3Config(**_LLAMA_LIKE, **_COMMON, **kw),
    # a global then a local layer, as in GPT-Neo 125M
    "gpt_neo": lambda **kw: GPTNeoConfig(num_layers=2, hidden_size=64, num_heads=4,
                                         intermediate_size=96, max_position_embeddings=64,
                                         attention_types=[[["global", "local"], 1]],
                                         **_COMMON, **kw),
}

# Families the map does not name, for discovery: Starcoder 2 (LayerNorm, mlp.c_proj), Granite
# (Llama names, with multipliers on the embeddings, residuals and logits), Phi (attention and MLP
# in parallel on one norm, self_attn.dense, mlp.fc2, model.final_layernorm) and Falcon
# (transformer.h, self_attention, parallel attention).
UNMAPPED = {
    family: lambda family=family, **kw: AutoConfig.for_model(family, **{
        **_LLAMA_LIKE, **_COMMON, **kw})
    for family in ("starcoder2", "granite", "phi", "falcon")
}

# A Gemma 3 multimodal checkpoint (Gemma3ForConditionalGeneration): the text model sits under
# model.language_model, next to a (one-layer) vision tower. Its image tokens lie outside the
# test vocabulary, as they lie outside the text a prompt holds; its text model has a sliding
# window shorter than the 9-token test prompts.
MULTIMODAL = {
    "gemma3": lambda **kw: Gemma3Config(
        text_config={**_LLAMA_LIKE, "head_dim": 16, "sliding_window": 8,
                     "layer_types": ["sliding_attention", "full_attention"], **_COMMON},
        vision_config={"hidden_size": 32, "intermediate_size": 32, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "image_size": 28, "patch_size": 14},
        mm_tokens_per_image=4, boi_token_index=1000, eoi_token_index=1001,
        image_token_index=1002, **kw),
}

# Sliding attention windows one token shorter than the 9-token test prompts (the last token
# misses the first), for the families that have them.
SLIDING = {
    "mistral": {"sliding_window": 8},
    "qwen2": {"use_sliding_window": True, "sliding_window": 8, "max_window_layers": 1},
    "gemma2": {"sliding_window": 8},
    "gemma3_text": {"sliding_window": 8},
    "gpt_neo": {"window_size": 8},
}


def make_tokenizer(words: list[str] = WORDS) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over ``words``: one token per word, split on whitespace."""
    vocab = {w: i for i, w in enumerate(SPECIALS + words)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                                   eos_token="<eos>")


def save_tiny_model(family: str, folder: Path, seed: int = 0,
                    words: list[str] = WORDS, **config: Any) -> Path:
    """Build a 2-layer random ``family`` model (``config`` overrides its settings) and its
    tokenizer (over ``words``) into ``folder``."""
    torch.manual_seed(seed)
    config = {**CONFIGS, **UNMAPPED, **MULTIMODAL}[family](**config)
    config.get_text_config().vocab_size = len(SPECIALS) + len(words)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    make_tokenizer(words).save_pretrained(folder)
    return folder


def load_unchecked(folder: Path) -> Any:
    """The model in ``folder`` as an nnsight model, loaded as `tw.load_model` does but without
    its check that the family is in the map (discovery needs the loaded model)."""
    return nnsight.TransformersModel(str(folder),
                                     tokenizer=PreTrainedTokenizerFast.from_pretrained(folder),
                                     task="text-generation", dispatch=True)
