"""Metrics: what number a run produces, read from the logits at its last position.

``prob`` (ROME's choice), ``logprob`` and ``logit_diff`` (target minus foil) are built in; any
callable ``f(logits) -> scores`` on last-position logits ``[batch, vocab]`` works too.

A built-in metric reads little of the logits: one or two tokens' logits and, for the
probabilities, the softmax's normalizer (its `Readout`). The local executor uses that to compute
the unembedding a slice of the vocabulary at a time from the final hidden states
(`Metric.of_hidden`), never holding ``[rows, vocab]`` logits: for 96 rows of GPT-2's
50,257-token vocabulary on 2 CPU cores, 134 ms against 297 ms for the whole product and a float64
softmax, with the same scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

MetricFn = Callable[[torch.Tensor], torch.Tensor]
METRICS = ("prob", "logprob", "logit_diff")
# Vocabulary rows per slice of a chunked unembedding: of 1024, 2048 and 4096, the fastest on 2
# CPU cores for 96-512 rows of a 50k x 768 or 49k x 576 head.
VOCAB_CHUNK = 1024


class MetricError(ValueError):
    """The metric cannot be computed as asked."""


@dataclass(frozen=True)
class Readout:
    """What a built-in metric reads of last-position logits: those of ``tokens`` and, when
    ``normalizer``, their log-sum-exp over the vocabulary (the log of the softmax's
    denominator). ``score(token_logits [batch, len(tokens)], log_normalizer [batch] or None)``
    makes the scores, in float64."""

    tokens: tuple[int, ...]
    normalizer: bool
    score: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores from whole logits ``[batch, vocab]`` (float64)."""
        return self.score(logits[:, list(self.tokens)],
                          logits.logsumexp(-1) if self.normalizer else None)

    def of_hidden(self, hidden: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None) -> torch.Tensor:
        """Scores of final hidden states ``[batch, d_model]`` under the unembedding
        ``F.linear(hidden, weight, bias)``, computed `VOCAB_CHUNK` vocabulary rows at a time
        (only the slices holding ``tokens`` when no normalizer is read). Each slice's logits
        are the whole product's, and are turned to float64 while they are in cache; the
        tokens' logits are read from their slices, since a product of the tokens' rows alone
        may round differently."""
        picked = torch.empty(hidden.shape[0], len(self.tokens), dtype=torch.float64,
                             device=hidden.device)
        parts = []
        for start in range(0, weight.shape[0], VOCAB_CHUNK):
            stop = start + VOCAB_CHUNK
            inside = [(j, t - start) for j, t in enumerate(self.tokens) if start <= t < stop]
            if not (self.normalizer or inside):
                continue
            logits = F.linear(hidden, weight[start:stop],
                              None if bias is None else bias[start:stop]).to(torch.float64)
            for j, column in inside:
                picked[:, j] = logits[:, column]
            if self.normalizer:
                parts.append(logits.logsumexp(-1))
        return self.score(picked, torch.stack(parts, -1).logsumexp(-1) if parts else None)


@dataclass(frozen=True)
class Metric:
    """A named metric bound to its target (and foil) token ids; a built-in one has a
    `Readout`, which lets a sweep score runs without their whole logits."""

    name: str
    fn: MetricFn
    label: str
    readout: Readout | None = None

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores ``[batch]`` (float64) from last-position logits ``[batch, vocab]``."""
        logits = logits.detach().to(torch.float64)
        try:
            scores = self.fn(logits)
        except Exception as err:
            raise MetricError(f"the metric {self.name!r} raised {err.__class__.__name__}: {err}"
                              ) from err
        return self._checked(scores, logits.shape[0])

    def of_hidden(self, hidden: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None) -> torch.Tensor:
        """Scores ``[batch]`` (float64) of final hidden states ``[batch, d_model]`` under the
        unembedding ``weight`` (and ``bias``), the same as this metric of
        ``F.linear(hidden, weight, bias)``; only for a metric with a `Readout`."""
        if self.readout is None:
            raise MetricError(f"the metric {self.name!r} reads whole logits")
        return self._checked(self.readout.of_hidden(hidden.detach(), weight, bias),
                             hidden.shape[0])

    def _checked(self, scores: torch.Tensor, rows: int) -> torch.Tensor:
        scores = torch.as_tensor(scores, dtype=torch.float64).reshape(-1)
        if scores.shape[0] != rows:
            raise MetricError(f"the metric {self.name!r} returned {scores.shape[0]} values for "
                              f"{rows} runs; return one score per row of logits")
        if torch.isnan(scores).any():
            raise MetricError(f"the metric {self.name!r} returned NaN; check it on the clean "
                              "run's logits")
        return scores


def _builtin(name: str, label: str, readout: Readout) -> Metric:
    return Metric(name, readout, label, readout)


def make_metric(metric: str | MetricFn, target: int, foil: int | None = None) -> Metric:
    """Bind ``metric`` (a name in `METRICS` or a callable) to token ids."""
    if callable(metric):
        return Metric(getattr(metric, "__name__", "custom"), metric, "score")
    if metric == "prob":
        return _builtin("prob", "p(answer)", Readout(
            (target,), True, lambda picked, normalizer: (picked[:, 0] - normalizer).exp()))
    if metric == "logprob":
        return _builtin("logprob", "log p(answer)", Readout(
            (target,), True, lambda picked, normalizer: picked[:, 0] - normalizer))
    if metric == "logit_diff":
        if foil is None:
            raise MetricError("metric='logit_diff' needs a foil token (foil=' Rome'): the score "
                              "is logit(target) - logit(foil)")
        return _builtin("logit_diff", "logit(target) - logit(foil)", Readout(
            (target, foil), False, lambda picked, _: picked[:, 0] - picked[:, 1]))
    raise MetricError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)} or a "
                      "callable on last-position logits")
