"""Attribution patching, neurons, averages by token role, and the remote (NDIF) path."""

from __future__ import annotations

import numpy as np
import pytest

import tracewidget as tw
from tests import reference as ref
from tests.prompts import CLEAN, CORRUPT, SUBJECT, token_ids
from tests.test_engine import TOL
from tracewidget.models.factlm import WEIGHTS_DIR
from tracewidget.tracing.averages import ROLES, token_roles


@pytest.fixture(scope="module")
def hf():
    return ref.load_reference(WEIGHTS_DIR)


@pytest.mark.parametrize("component", ["resid", "mlp", "attn"])
def test_attribution_matches_autograd_reference(factlm, hf, component):
    paris = token_ids(factlm, " Paris")[0]
    grid = tw.attribution_patch(factlm, CLEAN, CORRUPT, " Paris", component=component)
    expected = np.array(ref.attribution_grid(hf, token_ids(factlm, CLEAN),
                                             token_ids(factlm, CORRUPT), paris, component))
    assert np.abs(grid.values - expected).max() < TOL
    assert grid.spec["method"] == "attribution"
    assert all(p.grad is None for p in factlm._module.parameters())


@pytest.mark.parametrize("component, window", [("resid", 1), ("attn", 2)])
def test_attribution_noise_trace_matches_autograd_reference(factlm, hf, component, window):
    ids = token_ids(factlm, CLEAN)
    paris = token_ids(factlm, " Paris")[0]
    subject = tuple(tw.tracing.prompts.tokenize(factlm.tokenizer, CLEAN, SUBJECT).subject)
    grid = tw.attribution_noise_trace(factlm, CLEAN, SUBJECT, " Paris", component=component,
                                      window=window, samples=3)
    draws = ref.noise_values(hf, len(subject), 3, 3.0, 0)
    per_sample = np.array([ref.attribution_grid(hf, ids, ids, paris, component,
                                                noise=(subject, draws[s])) for s in range(3)])
    base = np.mean([ref.prob(hf, ids, paris, noise=(subject, draws[s])) for s in range(3)])
    # each cell sums its window's layers' first-order terms over the noised scores' mean
    terms = per_sample.mean(0) - base
    n = ref.n_layers(hf)
    expected = np.array([[base + sum(terms[x, pos] for x in ref.window(layer, window, n))
                          for pos in range(len(ids))] for layer in range(n)])
    expected[:, :subject[0]] = base  # before the subject the noised run is the clean one
    assert np.abs(grid.values - expected).max() < TOL
    assert grid.corrupt_score == pytest.approx(base, abs=TOL)
    assert grid.spec["method"] == "attribution" and grid.spec["window"] == window
    assert all(p.grad is None for p in factlm._module.parameters())


def test_attribution_previews_the_exact_restore_grid(factlm):
    # an estimate, not a guarantee: it must point at the same strongest cells as exact patching
    for component in ("resid", "mlp"):
        approx = tw.attribution_patch(factlm, CLEAN, CORRUPT, " Paris", component=component)
        exact = tw.patch(factlm, CLEAN, CORRUPT, " Paris", component=component, progress=False)
        r = np.corrcoef(approx.effects().ravel(), exact.effects().ravel())[0, 1]
        top_exact = int(exact.effects().argmax())
        assert top_exact in np.argsort(approx.effects().ravel())[-3:], component
        assert r > 0.5, (component, r)


def test_attribution_heads_rank_like_exact_heads(factlm):
    approx = tw.attribution_patch(factlm, CLEAN, CORRUPT, " Paris", component="head",
                                  metric="logit_diff", foil=" Rome")
    exact = tw.patch_heads(factlm, CLEAN, CORRUPT, " Paris", metric="logit_diff", foil=" Rome",
                           progress=False)
    assert approx.shape == exact.shape and approx.col_labels == exact.col_labels
    assert np.corrcoef(approx.effects().ravel(), exact.effects().ravel())[0, 1] > 0.8


def test_neurons_are_confirmed_exactly(factlm, hf):
    g = tw.patch_neurons(factlm, CLEAN, CORRUPT, " Paris", layer=0, position=1, top_k=4)
    neurons = g.spec["neurons"]
    assert g.row_labels == tuple(f"N{n}" for n in neurons) and len(neurons) == 4
    expected = ref.neuron_scores(hf, token_ids(factlm, CLEAN), token_ids(factlm, CORRUPT),
                                 token_ids(factlm, " Paris")[0], 0, 1, neurons)
    assert np.abs(g.values[:, 0] - np.array(expected)).max() < TOL
    assert len(g.spec["attribution"]) == 4


def test_token_roles_follow_rome():
    roles = token_roles(9, (1, 2, 3))
    assert roles == {"first subject token": [1], "middle subject tokens": [2],
                     "last subject token": [3], "first subsequent token": [4],
                     "further tokens": [5, 6, 7], "last token": [8]}
    single = token_roles(4, (0,))
    assert single["first subject token"] == [] and single["last subject token"] == [0]
    assert single["first subsequent token"] == [1] and single["last token"] == [3]


def test_average_trace_averages_single_traces(factlm):
    facts = [f for f in tw.datasets.facts() if f.relation == "city"][:3]
    avg = tw.average_trace(factlm, facts, component="mlp", window=1, samples=2, progress=False)
    assert avg.col_labels == ROLES and avg.shape == (6, len(ROLES))
    singles = [tw.noise_trace(factlm, f.prompt, f.subject, f.answer, component="mlp", window=1,
                              samples=2, progress=False) for f in facts]
    last = [s.effects()[:, s.subject[-1]] for s in singles]
    assert np.allclose(avg.effects()[:, ROLES.index("last subject token")], np.mean(last, 0))
    sem = np.std(last, axis=0, ddof=1) / np.sqrt(3)
    assert np.allclose(avg.ci95[:, ROLES.index("last subject token")], 1.96 * sem)
    assert avg.clean_score == pytest.approx(np.mean([s.clean_score for s in singles]))


def test_remote_local_simulation_gives_identical_numbers(factlm):
    remote = tw.load_model(remote="local")
    for fn, kwargs in [(tw.patch, {"clean": CLEAN, "corrupt": CORRUPT, "target": " Paris"}),
                       (tw.noise_trace, {"prompt": CLEAN, "subject": SUBJECT, "samples": 2,
                                         "component": "attn", "window": 3})]:
        here = fn(factlm, progress=False, **kwargs)
        there = fn(remote, progress=False, **kwargs)
        assert np.abs(here.values - there.values).max() < 1e-6
