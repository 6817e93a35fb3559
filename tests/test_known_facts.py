"""The real-world facts dataset (`tw.datasets.known_facts`) and its filter to what a model knows."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import torch

import tracewidget as tw
from tests.tiny_models import SPECIALS, save_tiny_model
from tracewidget.datasets import Fact, KnownFacts, _first_token_answer, known_facts_table


def test_dataset_invariants():
    facts = tw.datasets.known_facts()
    assert len(facts) >= 200
    assert all(type(f) is Fact for f in facts)  # the record tw.datasets.facts() returns
    relations = Counter(f.relation for f in facts)
    assert len(relations) >= 8 and min(relations.values()) >= 20, relations
    assert set(relations) == set(known_facts_table()["relations"])
    for f in facts:
        assert f.subject and f.prompt.count(f.subject) == 1, f  # verbatim, one span
        assert f.prompt == f.prompt.strip(), f  # ends right before the answer's space
        assert f.answer.startswith(" ") and f.answer[1:] == f.answer[1:].strip(), f
        # the answer is recalled, not copied from the prompt
        assert not re.search(rf"\b{re.escape(f.answer.split()[0])}\b", f.prompt), f
    assert len({f.prompt for f in facts}) == len(facts)
    assert len({(f.subject, f.relation) for f in facts}) == len(facts)


def _top1_known(model, facts):
    """The facts whose answer's first token is the model's top-1, computed independently of
    tracewidget: the HF module on right-padded batches (causal, so padding after a prompt
    cannot change its last position)."""
    tok, module = model.tokenizer, model._module
    kept = []
    with torch.no_grad():
        for start in range(0, len(facts), 32):
            chunk = facts[start:start + 32]
            rows = [tok(f.prompt, add_special_tokens=False)["input_ids"] for f in chunk]
            width = max(map(len, rows))
            ids = torch.tensor([row + [0] * (width - len(row)) for row in rows])
            logits = module(ids).logits[torch.arange(len(rows)), [len(r) - 1 for r in rows]]
            for f, top in zip(chunk, logits.argmax(-1).tolist(), strict=True):
                answer = tok(f.answer, add_special_tokens=False)["input_ids"]
                if top == answer[0] and answer[0] != tok.unk_token_id:
                    kept.append(f)
    return kept


def _check_kept(model, known, expected):
    """``known`` holds the ``expected`` facts, in order, answers cut to the predicted token."""
    tok = model.tokenizer
    assert [(f.prompt, f.subject, f.relation) for f in known] == \
        [(f.prompt, f.subject, f.relation) for f in expected]
    for kept, original in zip(known, expected, strict=True):
        ids = tok(kept.answer, add_special_tokens=False)["input_ids"]
        assert ids == tok(original.answer, add_special_tokens=False)["input_ids"][:1]
        assert original.answer.startswith(kept.answer)


@pytest.fixture(scope="module")
def factlm_known(factlm):
    return tw.datasets.known_facts(factlm)


def test_filter_keeps_exactly_the_facts_factlm_predicts(factlm, factlm_known):
    facts, known = tw.datasets.known_facts(), factlm_known
    assert isinstance(known, KnownFacts)
    _check_kept(factlm, known, _top1_known(factlm, facts))
    assert known.total == len(facts) and known.kept == len(known)
    by_relation = known.by_relation()
    assert sum(kept for kept, _ in by_relation.values()) == known.kept
    assert {r: n for r, (_, n) in by_relation.items()} == Counter(f.relation for f in facts)
    # factlm learned a synthetic table: it knows the few real facts that are in it (the Eiffel
    # Tower is in Paris), not most of them
    assert 0 < known.kept < known.total / 2
    assert "The Eiffel Tower is located in the city of" in {f.prompt for f in known}
    assert repr(known).startswith(f"KnownFacts({known.kept} of {known.total} facts predicted "
                                  "top-1 by 'factlm': [Fact(")
    assert type(known[:1]) is list and known[:1] == list(known)[:1]


def test_a_model_name_is_not_a_model():
    with pytest.raises(TypeError, match="not a loaded model: load it first"):
        tw.datasets.known_facts("smollm2")


def test_batch_size_does_not_change_the_result(factlm, factlm_known):
    assert tw.datasets.known_facts(factlm, batch_size=16) == factlm_known


def test_kept_facts_go_straight_to_average_trace(factlm, factlm_known):
    grid = tw.average_trace(factlm, factlm_known[:2], samples=2, progress=False)
    assert grid.spec["n_prompts"] == 2
    assert grid.clean_score > 0.5


def test_predicting_the_unknown_token_is_not_knowing_an_unknown_word(tmp_path):
    """A word-level tokenizer turns answer words it lacks into its unknown token; a model that
    predicts that token everywhere knows none of the facts."""
    model = tw.load_model(save_tiny_model("gpt2", tmp_path))
    unk = model.tokenizer.unk_token_id
    assert unk == SPECIALS.index("<unk>")
    hf = model._module
    with torch.no_grad():  # a constant final hidden state pointing at the longest embedding
        wte = hf.transformer.wte.weight
        wte[unk] *= 2 * wte.norm(dim=-1).max() / wte[unk].norm()
        hf.transformer.ln_f.weight.zero_()
        hf.transformer.ln_f.bias.copy_(wte[unk])
    facts = tw.datasets.known_facts()
    first = [model.tokenizer(f.answer, add_special_tokens=False)["input_ids"][0] for f in facts]
    assert first.count(unk) > 100
    assert _top1_known(model, facts) == []
    assert tw.datasets.known_facts(model) == []


def test_answer_is_cut_to_a_first_token_only_where_it_reads_back(factlm):
    tok = factlm.tokenizer
    fact = Fact("Petronas Towers", "The Petronas Towers are in the city of", " Kuala Lumpur",
                "landmark_city")
    ids = tok(fact.answer, add_special_tokens=False)["input_ids"]
    assert len(ids) > 1
    cut = _first_token_answer(tok, fact, ids)
    assert cut.answer == tok.decode(ids[:1]) and cut.answer.startswith(" ")
    assert tok(cut.answer, add_special_tokens=False)["input_ids"] == ids[:1]

    class DropsLeadingSpace:  # decodes a token without the space it encodes (SentencePiece)
        def decode(self, ids):
            return tok.decode(ids).strip()

        def __call__(self, text, **kwargs):
            return tok(text, **kwargs)

    assert _first_token_answer(DropsLeadingSpace(), fact, ids) == fact


def test_smollm2_knows_enough_facts_for_rome_averages(smollm2, record_property):
    """ROME's averages (Figure 2) need >= 100 known facts; SmolLM2-135M must know that many.
    The filter is checked exactly on every 10th fact (the whole set is factlm's test)."""
    facts = tw.datasets.known_facts()
    known = tw.datasets.known_facts(smollm2)
    record_property("smollm2_known_facts", f"{known.kept} of {known.total}")
    record_property("smollm2_by_relation", known.by_relation())
    assert known.kept >= 100, known.by_relation()
    sample = {f.prompt for f in facts[::10]}
    _check_kept(smollm2, [f for f in known if f.prompt in sample],
                _top1_known(smollm2, facts[::10]))
