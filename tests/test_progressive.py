"""Noise traces that fill by samples, and sweeps that resume after Cancel."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import tracewidget as tw
from tests import reference as ref
from tests.prompts import CLEAN, CORRUPT, SUBJECT, token_ids
from tracewidget.models.factlm import WEIGHTS_DIR
from tracewidget.tracing import ROLES
from tracewidget.tracing.sweep import sample_groups


@pytest.fixture(scope="module")
def factlm_ref():
    return ref.load_reference(WEIGHTS_DIR)


def test_samples_run_alone_first_then_in_doubling_groups():
    assert [list(g) for g in sample_groups(0, 10)] == [[0], [1, 2], [3, 4, 5, 6], [7, 8, 9]]
    assert [list(g) for g in sample_groups(3, 10)] == [[3, 4, 5, 6], [7, 8, 9]]
    assert [list(g) for g in sample_groups(5, 10)] == [[5, 6], [7, 8, 9]]
    assert sample_groups(10, 10) == []
    assert [list(g) for g in sample_groups(0, 1)] == [[0]]


def test_noise_trace_is_complete_after_one_sample_and_each_report_is_the_mean_so_far(
        factlm, factlm_ref):
    reports = []
    final = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", samples=4,
                           on_progress=lambda done, total, g: reports.append((done, total, g)))
    complete = [g for _, _, g in reports if g.complete]
    assert complete[0].spec["samples_done"] == 1
    assert sorted({g.spec["samples_done"] for g in complete}) == [1, 3, 4]
    cells = final.values.size
    assert reports[-1][:2] == (4 * cells, 4 * cells)
    assert all(b[0] >= a[0] for a, b in itertools.pairwise(reports))
    ids = token_ids(factlm, CLEAN)
    target = token_ids(factlm, " Paris")[0]
    subject = tuple(tw.tracing.prompts.tokenize(factlm.tokenizer, CLEAN, SUBJECT).subject)
    first = next(g for g in complete if g.spec["samples_done"] == 1)
    np.testing.assert_allclose(first.values, ref.noise_grid(
        factlm_ref, ids, subject, target, "resid", 1, samples=4, first=1), atol=1e-5)
    np.testing.assert_allclose(final.values, ref.noise_grid(
        factlm_ref, ids, subject, target, "resid", 1, samples=4), atol=1e-5)
    assert final.spec["samples_done"] == 4
    # the interval is that of the mean over the samples: finite where the samples differ
    assert np.isnan(complete[0].ci95).all()
    assert np.isfinite(final.ci95).all() and (final.ci95 >= 0).all()
    assert final.ci95[:, 1:3].max() > 0


def test_cancelled_noise_trace_keeps_a_complete_grid_and_resume_finishes_it(factlm):
    whole = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", component="mlp", window=3,
                           samples=6, progress=False)
    token = tw.CancelToken()

    def stop_after_three(done, total, grid):
        if grid.spec["samples_done"] >= 3:
            token.cancel()

    with pytest.raises(tw.SweepCancelled) as stopped:
        tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", component="mlp", window=3,
                       samples=6, on_progress=stop_after_three, cancel=token)
    partial = stopped.value.partial
    assert partial.complete and partial.spec["samples_done"] == 3
    resumed = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", component="mlp", window=3,
                             samples=6, resume=partial, progress=False)
    np.testing.assert_allclose(resumed.values, whole.values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(resumed.ci95, whole.ci95, rtol=0, atol=1e-9)
    # and the same interruption on another executor and batch size changes nothing
    again = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", component="mlp", window=3,
                           samples=6, resume=partial, progress=False, batch_size=7)
    np.testing.assert_allclose(again.values, whole.values, rtol=0, atol=1e-6)


def test_noise_trace_cancelled_in_its_first_sample_resumes_from_its_cells(factlm):
    whole = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", samples=3, progress=False)
    token = tw.CancelToken()
    with pytest.raises(tw.SweepCancelled) as stopped:
        tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", samples=3, batch_size=4,
                       on_progress=lambda *_: token.cancel(), cancel=token)
    partial = stopped.value.partial
    assert partial.spec["samples_done"] == 0 and not partial.complete
    assert np.isfinite(partial.values).any()
    resumed = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", samples=3, batch_size=4,
                             resume=partial, progress=False)
    np.testing.assert_allclose(resumed.values, whole.values, rtol=0, atol=1e-6)


def test_noise_trace_stops_after_k_samples_and_resume_finishes_it(factlm):
    whole = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", component="attn", window=3,
                           samples=5, progress=False)
    for k, atol in [(3, 1e-12), (2, 1e-6)]:
        first = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", component="attn", window=3,
                               samples=5, stop_after=k, progress=False)
        assert first.complete and first.spec["samples_done"] == k
        resumed = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", component="attn",
                                 window=3, samples=5, resume=first, progress=False)
        # stopping at the end of a sample group (1, 3, 7, ...) keeps the batches of the whole
        # run; inside one, the rest of the group runs in another batch: float32-equal
        np.testing.assert_allclose(resumed.values, whole.values, rtol=0, atol=atol)
    with pytest.raises(ValueError, match="stop_after must be a whole number"):
        tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", stop_after=0, progress=False)


FACTS = [("The Eiffel Tower is located in the city of", "Eiffel Tower", " Paris"),
         ("The Colosseum is located in the city of", "Colosseum", " Rome"),
         ("Big Ben is located in the city of", "Big Ben", " London")]


def test_average_trace_fills_by_samples_over_every_prompt(factlm):
    reports = []
    final = tw.average_trace(factlm, FACTS, component="mlp", window=1, samples=3,
                             on_progress=lambda done, total, g: reports.append((done, total, g)))
    # the first sample of every prompt comes before any prompt's second
    assert [done for done, _, _ in reports] == [1, 2, 3, 5, 7, 9]
    assert {total for _, total, _ in reports} == {9}
    first_round = reports[2][2]
    assert first_round.spec["samples_done"] == 1 and first_round.spec["n_prompts"] == 3
    # while the second round runs, the view stays the complete first-round average
    np.testing.assert_array_equal(reports[3][2].values, first_round.values)
    assert reports[-1][2].spec["samples_done"] == 3
    singles = [tw.noise_trace(factlm, *fact, component="mlp", window=1, samples=3,
                              progress=False) for fact in FACTS]
    last = [s.effects()[:, s.subject[-1]] for s in singles]
    col = ROLES.index("last subject token")
    np.testing.assert_allclose(final.effects()[:, col], np.mean(last, 0), rtol=0, atol=1e-12)
    ones = [tw.noise_trace(factlm, *fact, component="mlp", window=1, samples=3, stop_after=1,
                           progress=False) for fact in FACTS]
    np.testing.assert_allclose(first_round.effects()[:, col],
                               np.mean([s.effects()[:, s.subject[-1]] for s in ones], 0),
                               rtol=0, atol=1e-12)


def test_cancelled_average_keeps_the_last_complete_round(factlm):
    token = tw.CancelToken()

    def stop_in_round_two(done, total, grid):
        if done == 5:
            token.cancel()

    with pytest.raises(tw.SweepCancelled) as stopped:
        tw.average_trace(factlm, FACTS, component="mlp", window=1, samples=3,
                         on_progress=stop_in_round_two, cancel=token)
    partial = stopped.value.partial
    assert partial.spec["samples_done"] == 1 and partial.spec["n_prompts"] == 3
    firsts = [tw.noise_trace(factlm, *fact, component="mlp", window=1, samples=3, stop_after=1,
                             progress=False) for fact in FACTS]
    col = ROLES.index("last subject token")
    np.testing.assert_allclose(partial.effects()[:, col],
                               np.mean([s.effects()[:, s.subject[-1]] for s in firsts], 0),
                               rtol=0, atol=1e-12)


def test_cancelled_patch_resumes_from_the_cells_already_computed(factlm):
    whole = tw.patch(factlm, CLEAN, CORRUPT, " Paris", batch_size=5, progress=False)
    token, computed = tw.CancelToken(), []

    def stop(done, total, grid):
        computed.append(done)
        token.cancel()

    with pytest.raises(tw.SweepCancelled) as stopped:
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", batch_size=5, on_progress=stop,
                 cancel=token)
    partial = stopped.value.partial
    assert 0 < np.isfinite(partial.values).sum() < partial.values.size
    counted = []
    resumed = tw.patch(factlm, CLEAN, CORRUPT, " Paris", batch_size=5, resume=partial,
                       on_progress=lambda done, total, grid: counted.append(done))
    np.testing.assert_array_equal(resumed.values, whole.values)
    assert counted[0] > computed[0] and counted[-1] == whole.values.size


def test_resume_refuses_a_grid_of_another_sweep(factlm):
    other = tw.patch(factlm, CLEAN, CORRUPT, " Paris", component="mlp", progress=False)
    with pytest.raises(ValueError, match=r"another sweep.*component"):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", resume=other, progress=False)
    with pytest.raises(TypeError, match=r"SweepCancelled\.partial"):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", resume=np.zeros((6, 9)), progress=False)


def test_rome_noise_level_is_the_std_over_the_subjects_token_embeddings(factlm):
    facts = tw.datasets.facts()[:50]
    weight = factlm._module.transformer.wte.weight.detach()
    rows = [weight[i] for f in facts
            for i in factlm.tokenizer(f.subject, add_special_tokens=False)["input_ids"]]
    expected = float(torch.stack(rows).std())
    rome = tw.tracing.embedding_std(factlm, facts)
    assert rome == pytest.approx(expected, rel=1e-6)
    assert rome == pytest.approx(tw.tracing.embedding_std(factlm, [f.subject for f in facts]))
    whole = tw.tracing.embedding_std(factlm)
    assert rome != pytest.approx(whole, rel=0.01)  # not the default's number
    absolute = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", samples=2, noise=3 * rome,
                              absolute=True, progress=False)
    assert absolute.spec["absolute"] and absolute.spec["noise"] == pytest.approx(3 * rome)
    with pytest.raises(ValueError, match="at least one subject"):
        tw.tracing.embedding_std(factlm, [])
