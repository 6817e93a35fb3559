"""The prompts the tests share, and how they read a prompt's token ids."""

from __future__ import annotations

CLEAN = "The Eiffel Tower is located in the city of"
CORRUPT = "The Colosseum Tower is located in the city of"
SUBJECT = "Eiffel Tower"


def token_ids(model, text: str) -> list[int]:
    """``text``'s token ids, as the engine reads a prompt (no special tokens added)."""
    return model.tokenizer(text, add_special_tokens=False)["input_ids"]
