"""How an `EffectGrid` travels to the browser: labels as JSON, numbers as float32 buffers.

The frontend computes nothing: scores, effects and normalized effects are all derived here (by
the grid itself) and sent side by side, so switching what is drawn needs no round trip.
"""

from __future__ import annotations

import math

import numpy as np

from tracewidget.tracing.grid import EffectGrid


def _float32(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def grid_payload(grid: EffectGrid, key: str, title: str, refinable: bool,
                 preview: EffectGrid | None = None) -> dict:
    """The JSON-able (plus binary) description of ``grid`` that the frontend draws.

    With a ``preview`` (an attribution-patching estimate of the same grid), cells not computed
    yet show the estimate, and ``estimated`` marks them (1) so the frontend draws them faded.
    """
    estimated = None
    if preview is not None:
        mask = np.isnan(grid.values) & np.isfinite(preview.values)
        grid = grid.with_values(np.where(mask, preview.values, grid.values))
        estimated = _float32(mask)
    try:
        normalized = _float32(grid.normalized())
    except ValueError:
        normalized = None
    done = int(np.isfinite(grid.values).sum()) - (0 if preview is None else int(mask.sum()))
    return {
        "key": key, "title": title, "component": grid.component,
        "experiment": grid.experiment, "metric": grid.metric,
        "metric_label": grid.axis_label(), "row_name": grid.row_name,
        "col_name": grid.col_name, "row_labels": list(grid.row_labels),
        "col_labels": list(grid.col_labels), "subject": list(grid.subject),
        "rows": grid.shape[0], "cols": grid.shape[1],
        "scores": _float32(grid.values), "effects": _float32(grid.effects()),
        "normalized": normalized, "estimated": estimated,
        "clean_score": _finite(grid.clean_score), "corrupt_score": _finite(grid.corrupt_score),
        "refinable": refinable, "done": done, "total": grid.values.size,
        "ci95": None if grid.ci95 is None else _float32(grid.ci95),
        "samples": grid.spec.get("samples"), "samples_done": grid.spec.get("samples_done"),
    }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
