"""Every experiment on a real pretrained model, SmolLM2-135M, against the independent reference.

The tiny random models of tests/test_engine.py check every family's wiring; this checks what only
a real model has: 30 layers, grouped-query attention (9 heads sharing 3 key/value heads), tied
embeddings, weights dequantized from a GGUF file, a 49,152-token vocabulary and effects that are
not noise. Both sides run in float64, where they must agree to 1e-8, so any disagreement is a
difference of method, not of rounding; the float32 engine's distance to the float64 reference is
recorded as a property of the test run.

The reference takes one forward per cell (about 0.15 s in float64 on 2 CPU cores), so the test
command checks a spread of cells: window edges at both ends of the stack, the subject's tokens and
the last token. ``TRACEWIDGET_REFERENCE_CELLS=all`` checks every cell of every grid instead (tens
of minutes).
"""

from __future__ import annotations

import os
from functools import partial

import numpy as np
import pytest
import torch

import tracewidget as tw
from tests import reference as ref
from tests.prompts import CLEAN, SUBJECT, token_ids
from tracewidget.tracing import default_window, use_executor

# Same token length as CLEAN on SmolLM2's tokenizer (10 tokens), differing at the subject.
CORRUPT = "The Space Needle is located in the city of"
TARGET = " Paris"
ALL_CELLS = os.environ.get("TRACEWIDGET_REFERENCE_CELLS") == "all"
LAYERS = None if ALL_CELLS else [2, 27]  # windows clipped at the first and at the last layer
POSITIONS = None if ALL_CELLS else [2, -1]  # "iffel" (where the subject is read) and " of"
SAMPLES = 2
FLOAT64_TOL = 1e-8
FLOAT32_TOL = 1e-4


@pytest.fixture(scope="module")
def smollm2_64():
    return tw.load_model("smollm2", dtype=torch.float64)


@pytest.fixture(scope="module")
def reference_64(smollm2):
    return ref.load_reference(smollm2._module.name_or_path, dtype=torch.float64)


def _experiments(model):
    """(name, engine call, reference call) for every experiment on the chosen cells; the
    reference call takes the reference model."""
    clean, corrupt = token_ids(model, CLEAN), token_ids(model, CORRUPT)
    assert len(clean) == len(corrupt) == 10
    target = token_ids(model, TARGET)[0]
    subject = tuple(tw.tracing.prompts.tokenize(model.tokenizer, CLEAN, SUBJECT).subject)
    window = default_window(tw.models.shape(model).n_layers)
    pair = (model, CLEAN, CORRUPT, TARGET)
    cells = {"layers": LAYERS, "positions": POSITIONS}
    for component in ("resid", "mlp", "attn"):
        w = 1 if component == "resid" else window
        for experiment in ("restore", "ablate"):
            yield (f"patch {component} {experiment} w{w}",
                   partial(tw.patch, *pair, component=component, experiment=experiment,
                           window=w, progress=False, **cells),
                   partial(ref.patch_grid, clean_ids=clean, corrupt_ids=corrupt, target=target,
                           component=component, experiment=experiment, w=w, **cells))
        yield (f"noise {component} w{w}",
               partial(tw.noise_trace, model, CLEAN, SUBJECT, TARGET, component=component,
                       window=w, samples=SAMPLES, progress=False, **cells),
               partial(ref.noise_grid, ids=clean, subject=subject, target=target,
                       component=component, w=w, samples=SAMPLES, **cells))
        yield (f"attribution {component}",
               partial(tw.attribution_patch, *pair, component=component),
               partial(ref.attribution_grid, clean_ids=clean, corrupt_ids=corrupt,
                       target=target, component=component))
    for sever in ("mlp", "attn"):
        yield (f"noise resid severed {sever}",
               partial(tw.noise_trace, model, CLEAN, SUBJECT, TARGET, sever=sever,
                       samples=SAMPLES, progress=False, **cells),
               partial(ref.noise_grid, ids=clean, subject=subject, target=target,
                       component="resid", w=1, samples=SAMPLES, sever=sever, **cells))
    if ALL_CELLS:
        yield ("heads x positions at layer 14",
               partial(tw.patch_heads, *pair, layer=14, progress=False),
               partial(ref.heads_grid, clean_ids=clean, corrupt_ids=corrupt, target=target,
                       layer=14))
    yield ("layers x heads at the last token",
           partial(tw.patch_heads, *pair, layers=LAYERS, progress=False),
           partial(ref.heads_grid, clean_ids=clean, corrupt_ids=corrupt, target=target,
                   layers=LAYERS))
    neurons = partial(tw.patch_neurons, *pair, layer=3, position=3, top_k=3, progress=False)

    def neuron_column(hf):
        chosen = neurons().spec["neurons"]
        return [[v] for v in ref.neuron_scores(hf, clean, corrupt, target, 3, 3, chosen)]

    yield "top neurons at the last subject token, confirmed exactly", neurons, neuron_column


@pytest.fixture(scope="module")
def cases(smollm2_64, reference_64):
    """(name, float64 engine call, float64 reference grid) for every experiment."""
    return [(name, run, np.array(reference(reference_64)))
            for name, run, reference in _experiments(smollm2_64)]


@pytest.mark.parametrize("executor", ["local", "nnsight"])
def test_every_experiment_equals_the_reference_in_float64(cases, executor):
    for name, run, expected in cases:
        assert np.ptp(expected) > 1e-4, f"{name}: the reference cells barely differ"
        with use_executor(executor):
            grid = run()
        assert grid.values.shape == expected.shape, name
        assert np.abs(grid.values - expected).max() < FLOAT64_TOL, (name, executor)


def test_float32_engine_is_close_to_the_float64_reference(smollm2, cases, record_property):
    """The grids a user gets (float32) against the float64 reference, bound by the rounding of
    float32 over 30 layers; the largest difference per experiment is recorded."""
    float32_runs = {name: run for name, run, _ in _experiments(smollm2)}
    differences = {}
    for name, _, expected in cases:
        differences[name] = float(np.abs(float32_runs[name]().values - expected).max())
    record_property("float32_max_abs_diff", differences)
    assert max(differences.values()) < FLOAT32_TOL, differences
