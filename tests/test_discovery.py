"""Discovery: an unmapped family's modules found in its module tree and checked on the model, or
refused with a reason."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoConfig, BloomConfig, BloomForCausalLM, LlamaConfig, LlamaForCausalLM

import tracewidget as tw
from tests import reference as ref
from tests.prompts import CLEAN, CORRUPT
from tests.tiny_models import CONFIGS, UNMAPPED, load_unchecked, save_tiny_model
from tracewidget.models.discovery import discover
from tracewidget.tracing.executors import executor_for

TOL = 1e-5

_LLAMA_NAMES = {"embed": "model.embed_tokens", "blocks": "model.layers", "mlp": "mlp",
                "attn": "self_attn", "attn_out_proj": "self_attn.o_proj",
                "mlp_out_proj": "mlp.down_proj", "final_norm": "model.norm",
                "unembed": "lm_head"}
EXPECTED = {
    "starcoder2": {**_LLAMA_NAMES, "mlp_out_proj": "mlp.c_proj"},
    "granite": _LLAMA_NAMES,
    "phi": {**_LLAMA_NAMES, "attn_out_proj": "self_attn.dense", "mlp_out_proj": "mlp.fc2",
            "final_norm": "model.final_layernorm"},
    "falcon": {"embed": "transformer.word_embeddings", "blocks": "transformer.h", "mlp": "mlp",
               "attn": "self_attention", "attn_out_proj": "self_attention.dense",
               "mlp_out_proj": "mlp.dense_4h_to_h", "final_norm": "transformer.ln_f",
               "unembed": "lm_head"},
}


@pytest.mark.parametrize("family", sorted(CONFIGS))
def test_discovery_finds_what_the_map_says(tiny_models, family):
    assert discover(tiny_models[family]) == tw.models.ARCHITECTURES[family]


@pytest.mark.parametrize("family", sorted(UNMAPPED))
def test_unmapped_family_is_discovered_and_traced_on_nnsight(tmp_path, family):
    assert family not in tw.models.ARCHITECTURES
    folder = save_tiny_model(family, tmp_path / family)
    model = load_unchecked(folder)
    assert tw.architecture(model) == tw.Architecture(family, **EXPECTED[family])
    assert tw.architecture(model) is tw.architecture(model)  # found once per model
    assert executor_for(model).name == "nnsight"  # the local executor is verified per mapped family
    hf = ref.load_reference(folder)
    ids = [model.tokenizer(text, add_special_tokens=False)["input_ids"]
           for text in (CLEAN, CORRUPT, "Paris")]
    pair = (model, CLEAN, CORRUPT, "Paris")
    # the blocks, the attention projection's input (heads) and the MLP's (neurons): the
    # attention and MLP outputs are their projections' outputs, which discovery checks
    cases = [(tw.patch(*pair, progress=False),
              ref.patch_grid(hf, ids[0], ids[1], ids[2][0], "resid", "restore")),
             (tw.patch_heads(*pair, progress=False),
              ref.heads_grid(hf, ids[0], ids[1], ids[2][0]))]
    neurons = tw.patch_neurons(*pair, layer=0, position=1, top_k=3, progress=False)
    cases.append((neurons, [[v] for v in ref.neuron_scores(hf, ids[0], ids[1], ids[2][0], 0, 1,
                                                           neurons.spec["neurons"])]))
    for grid, expected in cases:
        assert np.ptp(expected) > 1e-6, grid.spec
        assert np.abs(grid.values - np.array(expected)).max() < TOL, grid.spec


def test_config_alone_of_unmapped_family_is_refused():
    config = AutoConfig.for_model("starcoder2")
    with pytest.raises(tw.UnsupportedArchitectureError,
                       match=r"found from the model itself .*tw.register_architecture"):
        tw.architecture(config)


class _HiddenConfig(LlamaConfig):
    model_type = "hidden_llama"


class _Attributes(torch.nn.Module):
    """Decoder layers kept as attributes, not in a ModuleList (the model still runs them)."""

    def __init__(self, layers: torch.nn.ModuleList) -> None:
        super().__init__()
        self.first, self.second = layers

    def __getitem__(self, index: slice) -> list[torch.nn.Module]:
        return [self.first, self.second][index]


class _Reversed(torch.nn.ModuleList):
    """A ModuleList of decoder layers that the model runs last to first."""

    def __getitem__(self, index):
        return list(self)[::-1][index] if isinstance(index, slice) else super().__getitem__(index)


def _hidden_llama(layers: type) -> torch.nn.Module:
    torch.manual_seed(0)
    config = _HiddenConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                           intermediate_size=96, vocab_size=40)
    model = LlamaForCausalLM(config).eval()
    model.model.layers = layers(model.model.layers)
    return model


@pytest.mark.parametrize(("layers", "reason"), [
    (_Attributes, r"it has no ModuleList of 2 modules"),
    (_Reversed, r"restoring the clean output of block 1 at the last token in a corrupted run "
                r"did not give the clean logits"),
])
def test_family_failing_the_checks_is_refused_with_the_reason(layers, reason):
    model = _hidden_llama(layers)
    message = rf"'hidden_llama' model live: .*{reason}.*tw.register_architecture\('hidden_llama'"
    for _ in range(2):  # the second answer comes from the cache, with the same message
        with pytest.raises(tw.UnsupportedArchitectureError, match=message):
            tw.architecture(model)


def test_attention_that_adds_the_residual_itself_is_refused():
    # BLOOM's attention module returns its input plus the attention: its output is not the
    # attention's contribution, and its projection's input alone does not make it
    torch.manual_seed(0)
    model = BloomForCausalLM(BloomConfig(n_layer=2, hidden_size=64, n_head=4, vocab_size=40))
    with pytest.raises(tw.UnsupportedArchitectureError,
                       match=r"self_attention in block 0 is not the output of its projection "
                             r"self_attention.dense alone"):
        tw.architecture(model.eval())
