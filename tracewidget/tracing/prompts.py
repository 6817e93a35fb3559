"""Turning user strings into token positions: prompts, subject spans, targets, alignment.

Every error here shows the tokens involved, because the fix is almost always "look at how the
tokenizer split your text".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any


class PromptError(ValueError):
    """A prompt, subject, target or foil cannot be used as given; the message says why."""


class PromptWarning(UserWarning):
    """A prompt can be used, but perhaps not as meant; the message says how it was read."""


@dataclass(frozen=True)
class Prompt:
    """A tokenized prompt: ids, their display strings, and the subject's token positions."""

    text: str
    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    subject: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)


def _show(tokens: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(repr(t) for t in tokens) + "]"


def _leading_bos(tokenizer: Any, text: str, ids: list[int]) -> list[int]:
    """``[bos]`` when the tokenizer puts its BOS token before ``text`` by default (Gemma's
    ``<bos>``, Llama 2's ``<s>``), else ``[]``. Such models were trained to see it first and
    predict poorly without it; other special tokens a tokenizer may add (an EOS after the text)
    are left out, since the prediction is read at the text's last token."""
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None or ids[:1] == [bos]:
        return []
    return [bos] if tokenizer(text)["input_ids"][:1] == [bos] else []


def tokenize(tokenizer: Any, text: str, subject: str | None = None) -> Prompt:
    """Tokenize ``text`` as the model reads it (after the BOS token its tokenizer adds by
    default, if any, and without other special tokens) and find ``subject``'s tokens in it.

    The subject span is every token whose characters overlap the first occurrence of ``subject``
    in ``text`` (a string match, so "Eiffel Tower" finds " Eiffel", " Tower"). A subject that
    occurs more than once gets a warning naming the occurrence used.
    """
    if not isinstance(text, str) or not text.strip():
        raise PromptError(f"the prompt is empty or whitespace ({text!r}); give the text that "
                          "should make the model predict the target")
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    bos = _leading_bos(tokenizer, text, enc["input_ids"])
    ids = tuple(bos + list(enc["input_ids"]))
    offsets = [(0, 0)] * len(bos) + [tuple(o) for o in enc["offset_mapping"]]
    tokens = tuple(tokenizer.decode([i]) for i in ids)
    span: tuple[int, ...] = ()
    if subject is not None:
        start = text.find(subject) if subject else -1
        if start < 0:
            raise PromptError(f"subject {subject!r} is not in the prompt {text!r}; the prompt's "
                              f"tokens are {_show(tokens)}")
        end = start + len(subject)
        span = tuple(i for i, (a, b) in enumerate(offsets) if a < end and b > start)
        if text.find(subject, start + 1) >= 0:
            warnings.warn(f"subject {subject!r} occurs {text.count(subject)} times in the prompt; "
                          f"using the first, tokens {list(span)} {_show([tokens[i] for i in span])}"
                          "; to trace another, make the subject string unique (include a "
                          "neighbouring word)", PromptWarning, stacklevel=3)
    return Prompt(text, ids, tokens, span)


def single_token(tokenizer: Any, text: str, role: str = "target") -> int:
    """The id of ``text`` if it is exactly one token (mind the leading space: " Paris")."""
    if not isinstance(text, str) or not text:
        raise PromptError(f"the {role} must be a non-empty string such as ' Paris'")
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        pieces = [tokenizer.decode([i]) for i in ids]
        raise PromptError(f"the {role} {text!r} is {len(ids)} tokens {_show(pieces)}, but a "
                          f"{role} must be one token; use its first token ({pieces[0]!r}) or a "
                          "one-token synonym")
    if ids[0] == getattr(tokenizer, "unk_token_id", None) and text.strip() != tokenizer.unk_token:
        raise PromptError(f"the {role} {text!r} is unknown to the tokenizer (it becomes "
                          f"{tokenizer.unk_token!r}); pick a word from the model's vocabulary")
    return ids[0]


@dataclass(frozen=True)
class Alignment:
    """How the positions of a clean and a corrupt prompt pair up.

    ``pairs[k] = (clean_position, corrupt_position)`` for grid column ``k``. Prompts of equal
    length pair position by position. With ``align=True``, prompts of different lengths pair
    their shared prefix and suffix tokens one to one, and the differing middle (the subject)
    becomes one column that pairs the last token of each middle, the token where the subject's
    information is gathered.
    """

    pairs: tuple[tuple[int, int], ...]
    labels: tuple[str, ...]
    subject: tuple[int, ...]


def align(clean: Prompt, corrupt: Prompt, enabled: bool = False) -> Alignment:
    """Pair the positions of ``clean`` and ``corrupt`` (see `Alignment`)."""
    if len(clean) == len(corrupt):
        pairs_ids = zip(clean.ids, corrupt.ids, strict=True)
        differ = tuple(i for i, (a, b) in enumerate(pairs_ids) if a != b)
        pairs = tuple((i, i) for i in range(len(clean)))
        return Alignment(pairs, clean.tokens, clean.subject or differ)
    if not enabled:
        raise PromptError(
            f"clean and corrupt prompts have different token counts ({len(clean)} vs "
            f"{len(corrupt)}): clean {_show(clean.tokens)}, corrupt {_show(corrupt.tokens)}. "
            "Make them the same length, or pass align=True to pair the shared prefix and suffix "
            "and treat the differing middle as one position")
    prefix = 0
    while (prefix < min(len(clean), len(corrupt)) - 1
           and clean.ids[prefix] == corrupt.ids[prefix]):
        prefix += 1
    suffix = 0
    while (suffix < min(len(clean), len(corrupt)) - prefix - 1
           and clean.ids[-1 - suffix] == corrupt.ids[-1 - suffix]):
        suffix += 1
    pairs = [(i, i) for i in range(prefix)]
    middle_clean = clean.tokens[prefix:len(clean) - suffix]
    middle_corrupt = corrupt.tokens[prefix:len(corrupt) - suffix]
    pairs.append((len(clean) - suffix - 1, len(corrupt) - suffix - 1))
    pairs += [(len(clean) - suffix + i, len(corrupt) - suffix + i) for i in range(suffix)]
    label = f"{''.join(middle_clean)} / {''.join(middle_corrupt)}"
    labels = (*clean.tokens[:prefix], label, *clean.tokens[len(clean) - suffix:])
    return Alignment(tuple(pairs), labels, (prefix,))
