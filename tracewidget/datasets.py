"""Datasets shipped with tracewidget: the facts table the bundled model ``factlm`` knows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FACTS_PATH = Path(__file__).parent / "models" / "factlm" / "facts.json"


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
