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
from .sweep import CancelToken, SweepCancelled

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
                  progress: bool | None = None) -> EffectGrid:
    """Average noise traces over ``facts`` by token role, with 95% intervals.

    Args:
        facts: items with ``prompt``, ``subject`` and ``answer`` (e.g. ``tw.datasets.facts()``),
            or ``(prompt, subject, answer)`` tuples; ``answer`` may be None for the model's own
            top-1 prediction.
        component, window, samples, noise, seed, sever: as in `noise_trace`.

    Returns:
        an `EffectGrid` with rows = layers and columns = `ROLES`. ``values`` are mean scores
        of the restored runs, ``clean_score``/``corrupt_score`` the mean unpatched scores, so
        ``effects()`` is the average indirect effect (AIE); ``ci95`` is the half-width of its
        95% interval (1.96 standard errors over prompts). Roles no prompt has are NaN.
    """
    require_model(model)
    per_role: dict[str, list[np.ndarray]] = {role: [] for role in ROLES}
    clean, corrupt = [], []
    grid = None
    items = list(facts)
    if not items:
        raise ValueError("average_trace needs at least one fact")
    bar = None
    if progress or progress is None:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc=f"average {component} trace", unit="prompt", delay=2.0,
                   leave=False)
    try:
        for item in items:
            prompt, subject, answer = (item if isinstance(item, tuple)
                                       else (item.prompt, item.subject, item.answer))
            if cancel is not None and cancel.cancelled:
                raise SweepCancelled(_averaged(grid, per_role, clean, corrupt, len(items)))
            grid = noise_trace(model, prompt, subject, answer, component=component,
                               window=window, samples=samples, noise=noise, seed=seed,
                               sever=sever, cancel=cancel, progress=False)
            clean.append(grid.clean_score)
            corrupt.append(grid.corrupt_score)
            effects = grid.effects()
            for role, positions in token_roles(grid.shape[1], grid.subject).items():
                if positions:
                    per_role[role].append(effects[:, positions].mean(axis=1))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return _averaged(grid, per_role, clean, corrupt, len(items))


def _averaged(grid: EffectGrid | None, per_role: dict[str, list[np.ndarray]],
              clean: list[float], corrupt: list[float], n_items: int) -> EffectGrid:
    if grid is None:
        raise SweepCancelled(EffectGrid(np.zeros((0, 0)), (), (), np.nan, np.nan))
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
                prompts_per_role=dict(zip(ROLES, counts, strict=True)))
    return EffectGrid(values=values, row_labels=grid.row_labels, col_labels=ROLES,
                      col_name="role", clean_score=float(np.mean(clean)),
                      corrupt_score=mean_corrupt, experiment="restore",
                      component=grid.component, metric=grid.metric,
                      metric_label=grid.metric_label, spec=spec, model_name=grid.model_name,
                      ci95=ci95)
