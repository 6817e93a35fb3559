"""Prompts, subjects, targets, alignment, metrics and sweep control: clear errors, right numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tracewidget as tw
from tests.prompts import CLEAN, CORRUPT
from tracewidget.tracing.metrics import VOCAB_CHUNK, make_metric
from tracewidget.tracing.prompts import Prompt, align, tokenize


def test_subject_span_is_found_by_string_match(factlm):
    p = tokenize(factlm.tokenizer, "Fact: The Crimson Silver Tower is located in the city of",
                 "Crimson Silver Tower")
    assert [p.tokens[i] for i in p.subject] == [" Crimson", " Silver", " Tower"]


def test_missing_subject_shows_tokens(factlm):
    with pytest.raises(tw.PromptError, match=r"not in the prompt.*' Eiffel'"):
        tw.noise_trace(factlm, CLEAN, "Big Ben", progress=False)


@pytest.mark.parametrize("prompt", ["", "   ", None])
def test_empty_prompt_is_refused(factlm, prompt):
    with pytest.raises(tw.PromptError, match="empty"):
        tw.noise_trace(factlm, prompt, "x", progress=False)


def test_multi_token_target_shows_tokens(factlm):
    with pytest.raises(tw.PromptError, match=r"is 2 tokens \[' Paris', ' Rome'\]"):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris Rome", progress=False)


def test_different_lengths_need_align_and_show_both(factlm):
    with pytest.raises(tw.PromptError, match=r"different token counts.*align=True"):
        tw.patch(factlm, CLEAN, "The Kremlin is located in the city of", " Paris", progress=False)


def test_align_pairs_prefix_suffix_and_last_tokens_of_the_middle(factlm):
    fact = next(f for f in tw.datasets.facts()
                if f.relation == "city" and len(f.subject.split()) == 3
                and f.prompt.startswith("The ") and f.answer != " Moscow")
    corrupt = fact.prompt.replace(fact.subject, "Kremlin")
    g = tw.patch(factlm, fact.prompt, corrupt, fact.answer, align=True, progress=False)
    assert g.col_labels[0] == "The"
    assert g.col_labels[1] == f" {fact.subject} /  Kremlin"
    assert g.col_labels[2:4] == (" is", " located")
    assert g.subject == (1,)
    # the subject is only known at its last token: restoring that token early brings the
    # clean answer back
    assert g.effects()[:2, 1].max() > 0.5


def test_logit_diff_needs_a_foil_and_uses_it(factlm):
    with pytest.raises(tw.MetricError, match="needs a foil"):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", metric="logit_diff", progress=False)
    g = tw.patch(factlm, CLEAN, CORRUPT, " Paris", foil=" Rome", metric="logit_diff",
                 progress=False)
    assert g.clean_score > 0 > g.corrupt_score
    assert g.metric_label == "logit(target) - logit(foil)"


def test_callable_metric_matches_builtin(factlm):
    paris = factlm.tokenizer(" Paris")["input_ids"][0]
    builtin = tw.patch(factlm, CLEAN, CORRUPT, " Paris", metric="logprob", progress=False)
    custom = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False,
                      metric=lambda logits: logits.log_softmax(-1)[:, paris])
    assert np.allclose(builtin.values, custom.values, atol=1e-12)


def test_metric_of_hidden_states_equals_the_metric_of_whole_logits():
    """A built-in metric scored from final hidden states, a vocabulary slice at a time, gives
    exactly the metric of the whole logits: the tokens' logits come from their slices (a
    product of their rows alone rounds differently) and the normalizer adds up every slice."""
    torch.manual_seed(0)
    vocab = 3 * VOCAB_CHUNK + 17
    weight, bias = torch.randn(vocab, 64), torch.randn(vocab)
    hidden = 4 * torch.randn(40, 64)
    logits = torch.nn.functional.linear(hidden, weight, bias)
    for name, target, foil in [("prob", 7, None), ("logprob", vocab - 1, None),
                               ("logit_diff", 2 * VOCAB_CHUNK + 5, 11)]:
        metric = make_metric(name, target, foil)
        whole, sliced = metric(logits), metric.of_hidden(hidden, weight, bias)
        if name == "logit_diff":
            assert torch.equal(sliced, whole)
        else:
            torch.testing.assert_close(sliced, whole, rtol=0, atol=1e-12)
    with pytest.raises(tw.MetricError, match="whole logits"):
        make_metric(lambda lg: lg[:, 0], 0).of_hidden(hidden, weight, bias)


def test_metric_returning_nan_is_reported(factlm):
    with pytest.raises(tw.MetricError, match="NaN"):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False,
                 metric=lambda logits: torch.full((logits.shape[0],), float("nan")))


@pytest.mark.parametrize("kwargs, message", [
    ({"layers": [6]}, "out of range"), ({"positions": [40]}, "out of range"),
    ({"window": 0}, "window"), ({"component": "mlpp"}, "component"),
    ({"experiment": "swap"}, "experiment"),
])
def test_out_of_range_arguments(factlm, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False, **kwargs)


@pytest.mark.parametrize("kwargs, message", [({"samples": 0}, "samples"),
                                             ({"noise": -1.0}, "noise")])
def test_bad_noise_arguments(factlm, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tw.noise_trace(factlm, CLEAN, "Eiffel Tower", progress=False, **kwargs)


def test_subsets_of_layers_and_positions_match_the_full_grid(factlm):
    full = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    part = tw.patch(factlm, CLEAN, CORRUPT, " Paris", layers=[1, 4], positions=[1, -1],
                    progress=False)
    assert part.row_labels == ("L1", "L4") and part.col_labels == (" Eiffel", " of")
    assert np.allclose(part.values, full.values[[1, 4]][:, [1, -1]], atol=1e-6)


def test_progress_reports_partial_grids_and_batches_agree(factlm):
    calls = []
    g = tw.patch(factlm, CLEAN, CORRUPT, " Paris", batch_size=7,
                 on_progress=lambda done, total, grid: calls.append((done, total, grid)))
    done = [c[0] for c in calls]
    assert done[-1] == 54 and all(b > a for a, b in zip([0, *done], done, strict=False))
    # 49 runs in batches of 7: the 6 cells at the shared first token are one (unpatched) run
    assert len(calls) == 7
    assert all(total == 54 for _, total, _ in calls)
    assert np.isnan(calls[0][2].values).sum() == 54 - done[0]
    one_batch = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    assert np.allclose(g.values, one_batch.values, atol=1e-6)


def test_cancel_stops_between_batches_with_partial_grid(factlm):
    token = tw.CancelToken()

    def stop_after_two(done, total, grid):
        if done >= 14:
            token.cancel()

    with pytest.raises(tw.SweepCancelled) as info:
        tw.patch(factlm, CLEAN, CORRUPT, " Paris", batch_size=7, cancel=token,
                 on_progress=stop_after_two)
    assert 14 <= np.isfinite(info.value.partial.values).sum() < 21


words = st.sampled_from([" Eiffel", " Tower", " Paris", " is", " the", " city", " of", "The",
                         " Crimson", " Silver"])


@settings(max_examples=80, deadline=None)
@given(st.lists(words, min_size=1, max_size=4), st.lists(words, min_size=0, max_size=4),
       st.lists(words, min_size=1, max_size=3), st.lists(words, min_size=1, max_size=4))
def test_alignment_property(prefix, mid_a, mid_b, suffix):
    def prompt(parts):
        return Prompt("".join(parts), tuple(hash(p) % 997 for p in parts), tuple(parts))

    a, b = prompt(prefix + mid_a + suffix), prompt(prefix + mid_b + suffix)
    if len(a) == len(b):
        result = align(a, b)
        assert result.pairs == tuple((i, i) for i in range(len(a)))
        return
    result = align(a, b, enabled=True)
    clean_pos = [p for p, _ in result.pairs]
    corrupt_pos = [q for _, q in result.pairs]
    # positions increase, stay in range, end at both last tokens, and paired tokens are equal
    # everywhere but the one middle column
    assert clean_pos == sorted(set(clean_pos)) and corrupt_pos == sorted(set(corrupt_pos))
    assert clean_pos[-1] == len(a) - 1 and corrupt_pos[-1] == len(b) - 1
    middle = result.subject[0]
    for k, (p, q) in enumerate(result.pairs):
        if k != middle:
            assert a.ids[p] == b.ids[q]
    assert len(result.labels) == len(result.pairs)
