"""Averages over many prompts, bucketed by token role as in ROME (Meng et al. 2022, Fig. 2).

One prompt's heatmap can mislead; ROME's claims rest on averages over a thousand facts. Prompts
differ in length and subject position, so positions are grouped by their *role* relative to the
subject before averaging. Tokens before the subject have no role and are left out, as in ROME.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tracewidget.models.loading import require_model

from .experiments import noise_trace
from .grid import EffectGrid
from .sweep import CancelToken, ProgressFn, SweepCancelled, progress_bar, sample_groups

ROLES = ("first subject token", "middle subject tokens", "last subject token",
         "first subsequent token", "further tokens", "last token")


def token_roles(n_tokens: int, subject: tuple[int, ...]) -> dict[str, list[int]]:
    """Positions of each role for a prompt of ``n_tokens`` whose subject spans ``subject``.

    A one-token subject is its own last subject token (not its first). The prompt's last token
    is always "last token", even where it directly follows the subject.
    """
    first, last = subject[0], subject[-1]
    end = n_tokens - 1
    roles: dict[str, list[int]] = {
        "first subject token": [first] if last > first else [],
        "middle subject tokens": list(range(first + 1, last)),
        "last subject token": [last],
        "first subsequent token": [last + 1] if last + 1 < end else [],
        "further tokens": list(range(last + 2, end)),
        "last token": [end] if end > last else [],
    }
    return roles


def average_trace(model: Any, facts: Iterable[Any], *, component: str = "resid",
                  window: int | None = None, samples: int = 10, noise: float = 3.0,
                  seed: int = 0, sever: str | None = None, cancel: CancelToken | None = None,
                  progress: bool | None = None,
                  on_progress: ProgressFn | None = None) -> EffectGrid:
    """Average noise traces over ``facts`` by token role, with 95% intervals.

    Args:
        facts: items with ``prompt``, ``subject`` and ``answer`` (e.g. ``tw.datasets.facts()``),
            or ``(prompt, subject, answer)`` tuples; ``answer`` may be None for the model's own
            top-1 prediction.
        component, window, samples, noise, seed, sever: as in `noise_trace`.
        on_progress: called as ``on_progress(done, total, partial)`` after each prompt's turn,
            ``done``/``total`` counting noise samples over all prompts. ``partial`` is the
            average over every prompt as soon as each has its first sample (before that: over
            the prompts done so far), and ``partial.spec["samples_done"]`` says how many samples
            each prompt has in it.

    The average fills by samples, as one `noise_trace` does: every prompt gets its first
    sample, then the next group of samples (`sweep.sample_groups`: 1, 2, 4, ...), so a
    complete picture comes after one sample per prompt and refines until all are in; the
    result is the same as averaging each prompt's full ``samples``-sample trace. A cancelled
    average raises `SweepCancelled` with the last complete round (every prompt at the same
    number of samples; during the first round, the prompts done so far).

    Returns:
        an `EffectGrid` with rows = layers and columns = `ROLES`. ``values`` are mean scores
        of the restored runs, ``clean_score``/``corrupt_score`` the mean unpatched scores, so
        ``effects()`` is the average indirect effect (AIE); ``ci95`` is the half-width of its
        95% interval (1.96 standard errors over prompts). Roles no prompt has are NaN.
    """
    require_model(model)
    items = [item if isinstance(item, tuple) else (item.prompt, item.subject, item.answer)
             for item in facts]
    if not items:
        raise ValueError("average_trace needs at least one fact")
    total = len(items) * samples
    traces: list[EffectGrid] = []  # every prompt's trace at the last complete round
    done = 0
    with progress_bar(total, f"average {component} trace", "sample", progress,
                      on_progress) as bar:
        for group in sample_groups(0, samples):
            newer: list[EffectGrid] = []  # this round's traces so far

            for i, (prompt, subject, answer) in enumerate(items):
                if cancel is not None and cancel.cancelled:
                    raise SweepCancelled(_averaged(traces or newer, len(items)))
                try:
                    newer.append(noise_trace(
                        model, prompt, subject, answer, component=component, window=window,
                        samples=samples, noise=noise, seed=seed, sever=sever, cancel=cancel,
                        progress=False, resume=traces[i] if traces else None,
                        stop_after=group.stop))
                except SweepCancelled:
                    raise SweepCancelled(_averaged(traces or newer, len(items))) from None
                done += len(group)
                if bar is not None:
                    bar.update(len(group))
                if on_progress is not None:
                    complete = not traces or len(newer) == len(items)
                    on_progress(done, total, _averaged(newer if complete else traces,
                                                       len(items)))
            traces = newer
    return _averaged(traces, len(items))


def _averaged(traces: list[EffectGrid], n_items: int) -> EffectGrid:
    """The average by role of ``traces`` (each prompt's noise trace, all at the same number of
    noise samples), out of ``n_items`` prompts asked for."""
    if not traces:
        raise SweepCancelled(EffectGrid(np.zeros((0, 0)), (), (), np.nan, np.nan))
    per_role: dict[str, list[np.ndarray]] = {role: [] for role in ROLES}
    for trace in traces:
        effects = trace.effects()
        for role, positions in token_roles(trace.shape[1], trace.subject).items():
            if positions:
                per_role[role].append(effects[:, positions].mean(axis=1))
    clean = [trace.clean_score for trace in traces]
    corrupt = [trace.corrupt_score for trace in traces]
    grid = traces[-1]
    n_rows = grid.shape[0]
    mean_corrupt = float(np.mean(corrupt))
    values = np.full((n_rows, len(ROLES)), np.nan)
    ci95 = np.full_like(values, np.nan)
    counts = []
    for j, role in enumerate(ROLES):
        rows = np.array(per_role[role])
        counts.append(len(rows))
        if len(rows):
            values[:, j] = rows.mean(axis=0) + mean_corrupt
            if len(rows) > 1:
                ci95[:, j] = 1.96 * rows.std(axis=0, ddof=1) / np.sqrt(len(rows))
    spec = {key: grid.spec[key] for key in ("component", "window", "samples", "noise", "seed",
                                            "sever", "metric")}
    spec.update(experiment_kind="average_trace", n_prompts=len(clean), n_requested=n_items,
                samples_done=min(trace.spec["samples_done"] for trace in traces),
                prompts_per_role=dict(zip(ROLES, counts, strict=True)))
    return EffectGrid(values=values, row_labels=grid.row_labels, col_labels=ROLES,
                      col_name="role", clean_score=float(np.mean(clean)),
                      corrupt_score=mean_corrupt, experiment="restore",
                      component=grid.component, metric=grid.metric,
                      metric_label=grid.metric_label, spec=spec, model_name=grid.model_name,
                      ci95=ci95)
