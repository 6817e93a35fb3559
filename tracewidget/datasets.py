"""Datasets shipped with tracewidget: the facts table the bundled model ``factlm`` knows, and
real-world facts for real models (`known_facts`)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from tracewidget.models.loading import display_name, remote_setting, require_model
from tracewidget.tracing.prompts import tokenize

FACTS_PATH = Path(__file__).parent / "models" / "factlm" / "facts.json"
KNOWN_FACTS_PATH = Path(__file__).parent / "data" / "known_facts.json"


@dataclass(frozen=True)
class Fact:
    """One prompt of the facts table: ``prompt`` ends where ``answer`` (one token) should follow."""

    subject: str
    prompt: str
    answer: str
    relation: str


@lru_cache(maxsize=1)
def facts_table() -> dict:
    """The raw table: relations with their templates, filler sentences, and per-subject facts."""
    return json.loads(FACTS_PATH.read_text())


def fact_prompts(filler: str = "") -> list[Fact]:
    """Every (subject, relation, template) prompt of the table, preceded by ``filler`` if given."""
    table = facts_table()
    rows = []
    for entry in table["subjects"]:
        for relation, obj in entry["facts"].items():
            for template in table["templates"][relation]:
                prompt = template.format(entry["subject"])
                rows.append(Fact(entry["subject"], f"{filler} {prompt}".strip(), f" {obj}",
                                 relation))
    return rows


def facts() -> list[Fact]:
    """The facts table as prompts: (subject, prompt, answer, relation); answers start with a
    space (" Paris"), as the tokenizer writes them.

    This is what ``tw.average_trace`` and multi-prompt experiments iterate over; the bundled model
    answers every one of them correctly (top-1).
    """
    return fact_prompts()


@lru_cache(maxsize=1)
def known_facts_table() -> dict:
    """The raw real-world facts: relation descriptions and one prompt per (subject, relation)."""
    return json.loads(KNOWN_FACTS_PATH.read_text(encoding="utf-8"))


class KnownFacts(list[Fact]):
    """The facts a model predicts top-1: a list of `Fact` that also says how many were tried.

    It is a plain list for everything that takes facts (``tw.average_trace(model, known)``,
    slicing, ``random.sample``); ``total`` and `by_relation` say how much of the dataset the model
    knows, and the repr says it first, so a notebook shows the count rather than a wall of facts.
    """

    def __init__(self, facts: list[Fact], tried: list[Fact], model_name: str) -> None:
        super().__init__(facts)
        self.total = len(tried)
        self.model_name = model_name
        self._tried = Counter(f.relation for f in tried)

    @property
    def kept(self) -> int:
        """How many facts the model predicts top-1 (the length of the list)."""
        return len(self)

    def by_relation(self) -> dict[str, tuple[int, int]]:
        """``{relation: (kept, tried)}`` for every relation tried, in the dataset's order."""
        kept = Counter(f.relation for f in self)
        return {relation: (kept[relation], n) for relation, n in self._tried.items()}

    def __repr__(self) -> str:
        shown = ", ".join(repr(f) for f in self[:2]) + (", ..." if len(self) > 2 else "")
        return (f"KnownFacts({self.kept} of {self.total} facts predicted top-1 by "
                f"{self.model_name!r}: [{shown}])")


def known_facts(model: Any = None, *, batch_size: int = 64) -> list[Fact]:
    """Real-world facts (landmark -> city, country -> capital, athlete -> sport, ...) written for
    tracewidget, in the style of ROME's known-facts set: each prompt ends right before the answer
    ("The Eiffel Tower is located in the city of" -> " Paris"), with the subject verbatim in it.

    Causal tracing is only meaningful on facts the model knows, so pass the model to keep those
    it predicts: as in ROME, a fact is kept when the model's top-1 next token after the prompt is
    the first token of the answer (answers start with a space, as tokenizers write them).

    Args:
        model: a model from ``tw.load_model``; None for the whole dataset.
        batch_size: prompts per forward pass (prompts of one token length are batched together,
            so there is no padding to get wrong).

    Returns:
        without ``model``, every fact (a list of `Fact`); with it, a `KnownFacts` list of the
        kept facts, whose ``total`` and ``by_relation()`` say how many were tried. In the kept
        facts an answer of several tokens is cut to the first one (" New York" -> " New"), the
        token the model predicted, so they can go straight to ``tw.average_trace`` and
        ``tw.noise_trace``, which trace one token.
    """
    facts = [Fact(**row) for row in known_facts_table()["facts"]]
    if model is None:
        return facts
    require_model(model)
    return _predicted_top1(model, facts, batch_size)


def _predicted_top1(model: Any, facts: list[Fact], batch_size: int) -> KnownFacts:
    """The ``facts`` whose answer's first token ``model`` predicts: one no-grad forward per
    ``batch_size`` prompts of one length, reading the logits at the last position only."""
    tokenizer = model.tokenizer
    # The prompts as the experiments tokenize them, so "known" means known in the traced run.
    prompts = [tokenize(tokenizer, fact.prompt).ids for fact in facts]
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, ids in enumerate(prompts):
        by_length[len(ids)].append(i)
    top: dict[int, int] = {}
    for rows in by_length.values():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            ids = torch.tensor([prompts[i] for i in chunk])
            with torch.no_grad(), model.trace(ids, remote=remote_setting(model),
                                              logits_to_keep=1):
                predicted = model.output.logits[:, -1].argmax(-1).save()
            top.update(zip(chunk, predicted.tolist(), strict=True))
    kept = []
    for i, fact in enumerate(facts):
        answer_ids = tokenizer(fact.answer, add_special_tokens=False)["input_ids"]
        # A word the tokenizer lacks becomes its unknown token, which a model may well predict
        # after an unfamiliar prompt: that is not knowing the fact.
        if answer_ids[0] == top[i] and answer_ids[0] != tokenizer.unk_token_id:
            kept.append(_first_token_answer(tokenizer, fact, answer_ids))
    return KnownFacts(kept, facts, display_name(model))


def _first_token_answer(tokenizer: Any, fact: Fact, answer_ids: list[int]) -> Fact:
    """``fact`` with its answer cut to the first token when it has several, if that token's text
    tokenizes back to that token (it may not, e.g. where decoding drops a leading space; the
    answer is then left whole, and tracing it raises a clear error rather than tracing another
    token)."""
    if len(answer_ids) == 1:
        return fact
    first = tokenizer.decode(answer_ids[:1])
    if tokenizer(first, add_special_tokens=False)["input_ids"] != answer_ids[:1]:
        return fact
    return replace(fact, answer=first)
