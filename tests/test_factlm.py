"""The bundled model knows its facts, and the facts table is what the issue asked for."""

from __future__ import annotations

from collections import Counter

import tracewidget as tw
from tracewidget.models.factlm import WEIGHTS_DIR
from tracewidget.models.factlm.make_facts import FACTS_PATH, build_table
from tracewidget.models.factlm.train import accuracy, training_sentences


def test_facts_table_shape():
    facts = tw.datasets.facts()
    subjects = {f.subject for f in facts}
    assert len(subjects) >= 400
    assert sum(len(s.split()) > 1 for s in subjects) >= 300  # most subjects are multi-token
    relations = Counter(f.relation for f in facts)
    assert len(relations) >= 6
    assert facts[0].prompt.endswith(("of", "in", "is", "by", "Mr", "speaking", "sells",
                                     "making", "language"))
    assert all(f.answer.startswith(" ") and f.subject in f.prompt for f in facts)


def test_shipped_table_is_what_the_generator_makes():
    import json

    assert json.loads(FACTS_PATH.read_text()) == build_table()


def test_every_answer_is_one_token(factlm):
    answers = {f.answer for f in tw.datasets.facts()}
    assert all(len(factlm.tokenizer(a, add_special_tokens=False)["input_ids"]) == 1
               for a in answers)


def test_top1_accuracy_on_every_fact(factlm):
    facts = tw.datasets.facts()
    acc = accuracy(factlm._module, factlm.tokenizer, [(f.prompt, f.answer) for f in facts])
    assert acc >= 0.98
    with_fillers = accuracy(factlm._module, factlm.tokenizer, training_sentences())
    assert with_fillers >= 0.98


def test_weights_are_small():
    size = sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir())
    assert size <= 15 * 2**20
