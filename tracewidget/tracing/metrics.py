"""Metrics: what number a run produces, read from the logits at its last position.

``prob`` (ROME's choice), ``logprob`` and ``logit_diff`` (target minus foil) are built in; any
callable ``f(logits) -> scores`` on last-position logits ``[batch, vocab]`` works too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

MetricFn = Callable[[torch.Tensor], torch.Tensor]
METRICS = ("prob", "logprob", "logit_diff")


class MetricError(ValueError):
    """The metric cannot be computed as asked."""


@dataclass(frozen=True)
class Metric:
    """A named metric bound to its target (and foil) token ids."""

    name: str
    fn: MetricFn
    label: str

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores ``[batch]`` (float64) from last-position logits ``[batch, vocab]``."""
        logits = logits.detach().to(torch.float64)
        try:
            scores = self.fn(logits)
        except Exception as err:
            raise MetricError(f"the metric {self.name!r} raised {err.__class__.__name__}: {err}"
                              ) from err
        scores = torch.as_tensor(scores, dtype=torch.float64).reshape(-1)
        if scores.shape[0] != logits.shape[0]:
            raise MetricError(f"the metric {self.name!r} returned {scores.shape[0]} values for "
                              f"{logits.shape[0]} runs; return one score per row of logits")
        if torch.isnan(scores).any():
            raise MetricError(f"the metric {self.name!r} returned NaN; check it on the clean "
                              "run's logits")
        return scores


def make_metric(metric: str | MetricFn, target: int, foil: int | None = None) -> Metric:
    """Bind ``metric`` (a name in `METRICS` or a callable) to token ids."""
    if callable(metric):
        return Metric(getattr(metric, "__name__", "custom"), metric, "score")
    if metric == "prob":
        return Metric("prob", lambda lg: lg.softmax(-1)[:, target], "p(answer)")
    if metric == "logprob":
        return Metric("logprob", lambda lg: lg.log_softmax(-1)[:, target], "log p(answer)")
    if metric == "logit_diff":
        if foil is None:
            raise MetricError("metric='logit_diff' needs a foil token (foil=' Rome'): the score "
                              "is logit(target) - logit(foil)")
        return Metric("logit_diff", lambda lg: lg[:, target] - lg[:, foil],
                      "logit(target) - logit(foil)")
    raise MetricError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)} or a "
                      "callable on last-position logits")
