"""Runs reused instead of repeated: a sweep starts from its recording of the prompt it patches,
and a `RunCache` (the widget's) keeps recordings across sweeps without ever serving a stale one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tracewidget as tw
from tests.prompts import CLEAN, CORRUPT, SUBJECT
from tracewidget.tracing import executors, use_executor
from tracewidget.tracing.reuse import RunCache, reusing

OTHER_CLEAN = "The Louvre Museum is located in the city of"
OTHER_CORRUPT = "The Eiffel Museum is located in the city of"


@pytest.fixture
def recordings(monkeypatch):
    """The prompts the local executor records, in order (several recorded in one forward
    count one each)."""
    runs = []
    real = executors.run_prompt

    def counted(model, ids, *args, **kwargs):
        runs.extend(tuple(row) for row in ids.reshape(-1, ids.shape[-1]).tolist())
        return real(model, ids, *args, **kwargs)

    monkeypatch.setattr(executors, "run_prompt", counted)
    return runs


def _full_forwards(model, call):
    """The forwards of ``call`` that run the whole prompt (not a packed batch), by batch size."""
    seq = len(model.tokenizer(CLEAN)["input_ids"])
    seen = []
    norm = model._module.transformer.ln_f
    handle = norm.register_forward_hook(
        lambda mod, args, out: seen.append(args[0].shape[0]) if args[0].shape[1] == seq
        else None)
    try:
        with use_executor("local"):
            call()
    finally:
        handle.remove()
    return seen


def test_a_noise_trace_starts_every_sample_group_from_the_noised_recording(factlm):
    """The noised prompt runs once, for all samples: each group's batches start from its
    samples' rows of that recording instead of running the prompt again."""
    seen = _full_forwards(factlm, lambda: tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris",
                                                         samples=7, progress=False))
    assert seen == [1, 7]  # the clean recording, the noised one; no base run per group


def test_cache_reuses_recordings_across_sweeps_and_results_do_not_change(factlm, recordings):
    expected = {c: tw.patch(factlm, CLEAN, CORRUPT, " Paris", component=c, window=3,
                            positions=[2], progress=False).values for c in ("mlp", "attn")}
    recordings.clear()
    cache = RunCache()
    with reusing(cache):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
        assert len(recordings) == 2 and cache.misses == 2
        # a click's strips: other components, same prompts; the overview's recordings hold them
        for c in ("mlp", "attn"):
            grid = tw.patch(factlm, CLEAN, CORRUPT, " Paris", component=c, window=3,
                            positions=[2], progress=False)
            assert np.array_equal(grid.values, expected[c]), c
        ablate = tw.patch(factlm, CLEAN, CORRUPT, " Paris", experiment="ablate",
                          progress=False)
    assert len(recordings) == 2 and cache.hits == 6
    assert np.array_equal(ablate.values, tw.patch(factlm, CLEAN, CORRUPT, " Paris",
                                                  experiment="ablate", progress=False).values)


def test_cache_misses_for_other_prompts_noise_and_models(factlm, tiny_models, recordings):
    cache = RunCache(size=8)
    with reusing(cache):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
        tw.patch(factlm, OTHER_CLEAN, CORRUPT, " Paris", progress=False)  # the corrupt: a hit
        assert (cache.misses, cache.hits) == (3, 1)
        for seed in (0, 0, 1):
            tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", samples=2, seed=seed,
                           progress=False)
        # seed 0: the clean prompt hits and the noised one misses, then both hit; seed 1 misses
        assert (cache.misses, cache.hits) == (5, 5)
        llama = tiny_models["llama"]
        tw.patch(llama, CLEAN, CORRUPT, "Paris", progress=False)
        assert cache.misses == 7
    assert len(recordings) == 7


def test_cache_never_serves_a_run_of_weights_edited_since(factlm, recordings):
    weight = factlm._module.transformer.h[1].mlp.c_proj.weight
    saved = weight.detach().clone()
    cache = RunCache()
    try:
        with reusing(cache):
            before = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
            with torch.no_grad():
                weight.mul_(0.5)  # an in-place edit, as ROME's rank-one update makes
            edited = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
        assert cache.misses == 4 and cache.hits == 0
        fresh = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
        assert np.array_equal(edited.values, fresh.values)
        assert np.abs(edited.values - before.values).max() > 1e-3
    finally:
        with torch.no_grad():
            weight.copy_(saved)


def test_cache_misses_while_a_hook_changes_the_model(factlm):
    cache = RunCache()
    with reusing(cache):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
        handle = factlm._module.transformer.h[0].register_forward_hook(lambda *args: None)
        try:
            tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
        finally:
            handle.remove()
        assert (cache.misses, cache.hits) == (4, 0)
        cache.clear()
        assert len(cache) == 0


def test_cache_keeps_the_latest_prompts_only(factlm):
    cache = RunCache(size=2)
    with reusing(cache):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
        tw.patch(factlm, OTHER_CLEAN, OTHER_CORRUPT, " Paris", progress=False)
        assert len(cache) == 2
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    assert cache.hits == 0 and cache.misses == 6


def test_cache_serves_the_nnsight_executor_its_own_recordings(factlm):
    cache = RunCache()
    with reusing(cache):
        local = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
        with use_executor("nnsight"):
            first = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
            again = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    assert (cache.misses, cache.hits) == (4, 2)
    assert np.array_equal(first.values, again.values)
    assert np.abs(first.values - local.values).max() < 1e-5


def test_widget_clicks_reuse_the_overviews_recordings(factlm, recordings):
    """A click's strips start from the overview's recordings of both prompts: no forward of
    either prompt again, and the grids are those of fresh engine calls."""
    w = tw.TraceWidget(factlm, clean=CLEAN, corrupt=CORRUPT, target=" Paris", window=3)
    w.wait(60)
    assert len(recordings) == 2
    for col in (2, 4):
        w._on_message(w, {"type": "refine", "view": 0, "grid": 0, "row": 1, "col": col}, [])
        w.wait(60)
        for grid in w.grids:
            exact = tw.patch(factlm, CLEAN, CORRUPT, " Paris", component=grid.component,
                             window=3, positions=[col], progress=False)
            assert np.array_equal(grid.values, exact.values)
    # every exact check above records for itself (no cache outside the widget): 2 each
    assert len(recordings) == 2 + 2 * 4
    assert w._runs.hits == 8
    w.run(wait=True)  # a new overview records afresh (weights edited through .data, say)
    assert len(recordings) == 2 + 2 * 4 + 2
