"""Bad input gets a specific error, faults lose nothing and leave the model clean."""

from __future__ import annotations

import nnsight
import numpy as np
import pytest
import torch

import tracewidget as tw
import tracewidget.tracing.executors as executors_module
from tests.prompts import CLEAN, CORRUPT
from tracewidget.tracing import use_executor
from tracewidget.tracing.executors import executor_for
from tracewidget.tracing.local_executor import can_run_locally
from tracewidget.tracing.prompts import PromptWarning


def test_subject_twice_warns_which_is_used(factlm):
    prompt = "The Eiffel Tower and the Eiffel Tower are in the city of"
    with pytest.warns(PromptWarning, match=r"occurs 2 times.*using the first, tokens \[1, 2\]"):
        g = tw.noise_trace(factlm, prompt, "Eiffel Tower", samples=2, progress=False)
    assert g.subject == (1, 2)


def test_target_unknown_to_a_word_level_tokenizer(tiny_models):
    with pytest.raises(tw.PromptError, match="unknown to the tokenizer"):
        tw.patch(tiny_models["gpt2"], CLEAN, CORRUPT, "Tokyo", progress=False)


def test_clean_equal_to_corrupt_gives_zero_effects_and_a_clear_normalized_error(factlm):
    g = tw.patch(factlm, CLEAN, CLEAN, " Paris", progress=False)
    assert g.total_effect == 0 and np.abs(g.effects()).max() < 1e-6
    with pytest.raises(ValueError, match="total effect is 0"):
        g.normalized()


def test_prompt_longer_than_the_context(factlm):
    long = "Fact: " * 40 + CLEAN
    with pytest.raises(tw.PromptError, match=r"reads at most 64"):
        tw.patch(factlm, long, long, " Paris", progress=False)
    with pytest.raises(tw.PromptError, match=r"reads at most 64"):
        tw.noise_trace(factlm, long, "Eiffel Tower", progress=False)


def test_metric_that_raises_is_named(factlm):
    def broken(logits):
        raise ZeroDivisionError("my bug")

    with pytest.raises(tw.MetricError, match="raised ZeroDivisionError: my bug"):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", metric=broken, progress=False)


def test_half_precision_models_give_the_float32_answer(tiny_dirs, tiny_models):
    full = tw.patch(tiny_models["llama"], CLEAN, CORRUPT, "Paris", metric="logprob",
                    progress=False)
    for dtype in (torch.bfloat16, torch.float16):
        half = tw.patch(tw.load_model(tiny_dirs["llama"], dtype=dtype), CLEAN, CORRUPT, "Paris",
                        metric="logprob", progress=False)
        assert half.values.dtype == np.float64
        assert np.abs(half.values - full.values).max() < 0.05, dtype


def test_model_on_the_meta_device_without_dispatch(tiny_dirs, tiny_models):
    tokenizer = tiny_models["gpt2"].tokenizer
    lazy = nnsight.TransformersModel(str(tiny_dirs["gpt2"]), tokenizer=tokenizer,
                                     task="text-generation")
    g = tw.patch(lazy, CLEAN, CORRUPT, "Paris", progress=False)
    expected = tw.patch(tiny_models["gpt2"], CLEAN, CORRUPT, "Paris", progress=False)
    assert np.abs(g.values - expected.values).max() < 1e-6


def _leftovers(module: torch.nn.Module) -> list[str]:
    """Hooks, forward overrides or frozen weights a sweep could leave behind."""
    found = []
    for name, sub in module.named_modules():
        if sub._forward_hooks or sub._forward_pre_hooks:
            found.append(f"hook on {name}")
        if getattr(getattr(sub.__dict__.get("forward"), "func", None), "__module__", "")\
                .startswith("tracewidget"):
            found.append(f"forward override on {name}")
    found += [f"frozen {n}" for n, p in module.named_parameters() if not p.requires_grad]
    return found


@pytest.mark.parametrize("executor", ["local", "nnsight"])
def test_interrupt_inside_a_batch_leaves_the_model_clean(factlm, executor):
    module = factlm._module
    fresh = tw.patch(factlm, CLEAN, CORRUPT, " Paris", component="mlp", progress=False)
    calls = []

    def interrupt(mod, args, output):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    handle = module.transformer.ln_f.register_forward_hook(interrupt)
    try:
        with use_executor(executor), pytest.raises(KeyboardInterrupt):
            tw.patch(factlm, CLEAN, CORRUPT, " Paris", component="mlp", batch_size=4,
                     progress=False)
    finally:
        handle.remove()
    assert _leftovers(module) == []
    again = tw.patch(factlm, CLEAN, CORRUPT, " Paris", component="mlp", progress=False)
    assert np.array_equal(again.values, fresh.values)


def test_interrupt_during_attribution_restores_the_weights(factlm):
    def interrupt(mod, args, output):
        raise KeyboardInterrupt

    handle = factlm._module.transformer.ln_f.register_forward_hook(interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            tw.attribution_patch(factlm, CLEAN, CORRUPT, " Paris")
    finally:
        handle.remove()
    assert _leftovers(factlm._module) == []


def test_out_of_memory_halves_the_batch_and_goes_on(factlm, monkeypatch):
    expected = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    sizes = []

    class SmallMemory(executors_module.LocalRunner):
        def __call__(self, n_runs, patches, metric):
            sizes.append(n_runs)
            if n_runs > 5:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated: above 5 runs)")
            return super().__call__(n_runs, patches, metric)

    monkeypatch.setattr(executors_module, "LocalRunner", SmallMemory)
    g = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    assert np.abs(g.values - expected.values).max() < 1e-5  # float32 sums differ by batch size
    assert sizes[0] > 5 and max(sizes[sizes.index(max(s for s in sizes if s <= 5)):]) <= 5
    # every run ran once, in batches that fit: 54 cells, of which the 6 at the prompts' shared
    # first token are all the unpatched corrupt run, computed once
    assert sum(s for s in sizes if s <= 5) == 54 - 6 + 1


def test_other_runtime_errors_are_not_mistaken_for_out_of_memory(factlm, monkeypatch):
    class Broken(executors_module.LocalRunner):
        def __call__(self, n_runs, patches, metric):
            raise RuntimeError("shape mismatch")

    monkeypatch.setattr(executors_module, "LocalRunner", Broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)


def test_attention_that_ignores_masks_is_not_run_by_the_local_executor(tiny_dirs):
    """The local executor's packed batches need an attention that applies a 4D mask; flash
    attention would silently ignore it."""
    model = tw.load_model(tiny_dirs["llama"])
    assert can_run_locally(model)
    model._module.config._attn_implementation = "flash_attention_2"
    assert not can_run_locally(model)
    assert executor_for(model).name == "nnsight"  # "auto" picks the nnsight executor
    with use_executor("local"), pytest.raises(ValueError, match="eager or sdpa"):
        executor_for(model)
