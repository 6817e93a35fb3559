"""Loading: the bundled model, local folders of every family, and the errors users can hit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tracewidget as tw
from tests.tiny_models import CONFIGS, make_tokenizer, save_tiny_model
from tracewidget.models.architectures import block, main_tensor, shape, submodule
from tracewidget.tracing.executors import executor_for

PROMPT = "The Eiffel Tower is located in the city of"


def _last_logits(model, edit=None):
    """Logits at the last position, optionally after ``edit(model)`` ran inside the trace."""
    ids = model.tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    arch = tw.architecture(model)
    with model.trace(ids):
        if edit is not None:
            edit(model)
        logits = submodule(model, arch.unembed).output[:, -1].save()
    return logits


def _zero_output(get_module):
    def edit(model):
        main_tensor(get_module(model).output)[:, 1] = 0

    return edit


def _zero_input(get_module):
    def edit(model):
        get_module(model).input[:, 1] = 0

    return edit


@pytest.mark.parametrize("family", sorted(CONFIGS))
def test_every_mapped_module_is_found_and_patchable(tiny_models, family):
    model = tiny_models[family]
    arch = tw.architecture(model)
    sizes = shape(model)
    assert sizes.n_layers == 2
    # the per-head slices tracewidget cuts are exactly the heads the model concatenates
    out_proj = submodule(block(model._module, 0), arch.attn_out_proj)
    in_features = getattr(out_proj, "in_features", None) or out_proj.weight.shape[0]
    assert sizes.n_heads * sizes.head_dim == in_features
    assert sizes.d_model == model._module.get_input_embeddings().weight.shape[1]
    assert len(submodule(model, arch.blocks)) == sizes.n_layers
    base = _last_logits(model)
    assert base.shape[-1] == model.config.vocab_size
    layer = 0
    edits = {
        "embed": _zero_output(lambda m: submodule(m, arch.embed)),
        "attn_out_proj input (heads)": _zero_input(
            lambda m: submodule(block(m, layer), arch.attn_out_proj)),
        "attn": _zero_output(lambda m: submodule(block(m, layer), arch.attn)),
        "mlp_out_proj input (neurons)": _zero_input(
            lambda m: submodule(block(m, layer), arch.mlp_out_proj)),
        "mlp": _zero_output(lambda m: submodule(block(m, layer), arch.mlp)),
        "block (resid)": _zero_output(lambda m: block(m, layer)),
    }
    for name, edit in edits.items():
        patched = _last_logits(model, edit)
        assert not torch.allclose(patched, base), f"{family}: patching {name} changed nothing"
    final = _last_logits(model, lambda m: main_tensor(submodule(m, arch.final_norm).output)
                         .__setitem__((slice(None), -1), 0))
    assert not torch.allclose(final, base)


def test_heads_input_is_split_by_head(tiny_models):
    model = tiny_models["llama"]  # grouped-query attention: 4 query heads, 2 key/value heads
    sizes = shape(model)
    assert (sizes.n_heads, sizes.n_kv_heads) == (4, 2)
    arch = tw.architecture(model)
    ids = model.tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    with model.trace(ids):
        heads_in = submodule(block(model, 1), arch.attn_out_proj).input.save()
    assert heads_in.shape[-1] == sizes.n_heads * sizes.head_dim


def test_bundled_model_loads_offline(monkeypatch):
    # its load time is measured by benchmarks/sweep_speed.py, not asserted here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = tw.load_model()
    assert tw.architecture(model).family == "gpt2"
    assert model.tokenizer.decode(_last_logits(model).argmax()) == " Paris"


def test_device_map_auto_loads_and_traces():
    model = tw.load_model(device_map="auto")
    grid = tw.patch(model, PROMPT, "The Colosseum Tower is located in the city of", " Paris",
                    progress=False)
    assert grid.clean_score > 0.9 > 0.1 > grid.corrupt_score


def test_missing_hub_model_gives_one_sentence(monkeypatch):
    import huggingface_hub.constants

    # huggingface_hub reads HF_HUB_OFFLINE when imported: set both, or the hub lookup retries
    # for about 25 s on a machine without network before failing
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(tw.ModelLoadError, match="not in the local Hugging Face cache") as info:
        tw.load_model("someone/no-such-model-xyz")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_no_network_fails_at_once_without_asking_the_hub(monkeypatch):
    import socket

    import transformers

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    asked = []
    real = transformers.AutoConfig.from_pretrained

    def from_pretrained(source, **kwargs):
        if not kwargs.get("local_files_only"):
            asked.append(source)  # the hub would retry for about 25 s here
        return real(source, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", from_pretrained)
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(tw.ModelLoadError, match=r"not in the local Hugging Face cache and this "
                       r"machine has no network.*hf download someone/no-such-model-xyz"):
        tw.load_model("someone/no-such-model-xyz")
    assert asked == []


def test_behind_a_proxy_the_hub_is_asked_though_its_name_does_not_resolve(monkeypatch):
    """Behind an HTTPS proxy the proxy resolves the hub's name: no local answer is no reason to
    refuse (the proxy here leads nowhere, so the hub's own error follows)."""
    import socket

    import transformers

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    asked = []

    def from_pretrained(source, **kwargs):
        if not kwargs.get("local_files_only"):
            asked.append(source)
            raise OSError("the proxy could not be reached (simulated)")
        return real(source, **kwargs)

    real = transformers.AutoConfig.from_pretrained
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", from_pretrained)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(tw.ModelLoadError, match="the hub could not be reached"):
        tw.load_model("someone/no-such-model-xyz")
    assert asked == ["someone/no-such-model-xyz"]


def test_folder_without_config_is_explained(tmp_path):
    with pytest.raises(tw.ModelLoadError, match=r"holds no model config\.json"):
        tw.load_model(tmp_path)


def test_unknown_architecture_names_supported_families(tmp_path):
    from transformers import BloomConfig, BloomForCausalLM

    BloomForCausalLM(BloomConfig(n_layer=1, hidden_size=32, n_head=2, vocab_size=40)
                     ).save_pretrained(tmp_path)
    make_tokenizer().save_pretrained(tmp_path)  # a loadable model, but of an unknown family
    with pytest.raises(tw.UnsupportedArchitectureError, match=r"supported families: .*gpt2"):
        tw.load_model(tmp_path)


def test_non_causal_model_is_refused(tmp_path):
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(num_hidden_layers=1, hidden_size=32, num_attention_heads=2,
                         intermediate_size=32, vocab_size=40)).save_pretrained(tmp_path)
    with pytest.raises(tw.ModelLoadError, match="not a causal"):
        tw.load_model(tmp_path)


def test_register_architecture_teaches_a_new_family(tmp_path):
    from transformers import BloomConfig, BloomForCausalLM

    BloomForCausalLM(BloomConfig(n_layer=1, hidden_size=32, n_head=2, vocab_size=40)
                     ).save_pretrained(tmp_path)
    save_tiny_model("gpt2", tmp_path / "unused")  # only for its tokenizer files
    for f in (tmp_path / "unused").glob("tok*"):
        f.rename(tmp_path / f.name)
    bloom = tw.Architecture("bloom", embed="transformer.word_embeddings", blocks="transformer.h",
                            mlp="mlp", attn="self_attention",
                            attn_out_proj="self_attention.dense",
                            mlp_out_proj="mlp.dense_4h_to_h", final_norm="transformer.ln_f",
                            unembed="lm_head")
    tw.register_architecture("bloom", bloom)
    try:
        model = tw.load_model(tmp_path)
        assert tw.architecture(model) is bloom
        assert len(submodule(model, bloom.blocks)) == 1
        # BLOOM's ALiBi biases come from the sequence, which the local executor's packed
        # batches rearrange: a registered family runs on the nnsight executor by default
        assert executor_for(model).name == "nnsight"
        grid = tw.patch(model, "The Eiffel Tower is", "The Colosseum Tower is", "Paris",
                        progress=False)
        assert np.isfinite(grid.values).all()
    finally:
        del tw.models.ARCHITECTURES["bloom"]
