"""Tiny random models of every supported family, built by the tests (no hub download).

Each is saved with ``save_pretrained`` together with a word-level tokenizer made here, so the
tests load it through ``tw.load_model(path)``: the same code path users run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    AutoModelForCausalLM,
    Gemma2Config,
    GemmaConfig,
    GPT2Config,
    GPTJConfig,
    GPTNeoXConfig,
    LlamaConfig,
    MistralConfig,
    OPTConfig,
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
}

# Sliding attention windows one token shorter than the 9-token test prompts (the last token
# misses the first), for the families that have them.
SLIDING = {
    "mistral": {"sliding_window": 8},
    "qwen2": {"use_sliding_window": True, "sliding_window": 8, "max_window_layers": 1},
    "gemma2": {"sliding_window": 8},
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
    config = CONFIGS[family](**config)
    config.vocab_size = len(SPECIALS) + len(words)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    make_tokenizer(words).save_pretrained(folder)
    return folder
