"""A static matplotlib heatmap of an `EffectGrid`, in ROME's colour conventions.

resid is drawn in Purples, mlp in Greens, attn in Reds (heads in Oranges, neurons in Blues). For
scores the colour scale starts at the unpatched run's score, as in ROME's figures, so white means
"no effect"; signed effects use a diverging scale centred on 0. The scales follow the widget's
rules (docs/concepts.md), so a static figure and the widget agree on what a colour means.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracewidget.tracing.grid import EffectGrid

CMAPS = {"resid": "Purples", "mlp": "Greens", "attn": "Reds", "head": "Oranges",
         "neuron": "Blues"}
VALUE_KINDS = ("score", "effect", "normalized")


def grid_values(grid: EffectGrid, values: str) -> np.ndarray:
    """The array to draw: scores, effects or normalized effects."""
    if values == "score":
        return grid.values
    if values == "effect":
        return grid.effects()
    if values == "normalized":
        return grid.normalized()
    raise ValueError(f"values must be one of {VALUE_KINDS}, got {values!r}")


MAX_ROW_LABELS = 16  # more would overlap at the default size: every k-th layer is labelled


def plot_grid(grid: EffectGrid, ax: Any = None, values: str = "score") -> Any:
    """Draw ``grid`` on ``ax`` (a new figure if None); returns the matplotlib Axes.

    The colour scale means the same in every plot, so two grids drawn side by side compare
    at a glance (a near-zero effect is drawn near white, never saturated): scores run from the
    unpatched run's score (white: no effect) to the other prompt's score, widened to the values
    that lie beyond; effects are symmetric around 0 with a limit of at least 1% of the total
    effect; normalized effects are fixed to -1..1.
    """
    import matplotlib.pyplot as plt

    data = grid_values(grid, values)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.55 * grid.shape[1] + 2),
                                      max(3.0, min(0.3 * grid.shape[0], 7.0) + 1.5)))
    finite = data[np.isfinite(data)]
    label = grid.axis_label()
    if values == "score":
        cmap = CMAPS.get(grid.component, "Greys")
        unpatched, other = ((grid.corrupt_score, grid.clean_score)
                            if grid.experiment == "restore"
                            else (grid.clean_score, grid.corrupt_score))
        reach = [other, *([finite.min(), finite.max()] if finite.size else [])]
        if other >= unpatched:
            low, high = unpatched, max(reach)
        else:  # a score that falls when patched: white at the unpatched score, dark below
            cmap += "_r"
            low, high = min(reach), unpatched
        high = max(high, low + 1e-9)
    elif values == "effect":
        cmap = "RdBu_r"
        total = abs(grid.clean_score - grid.corrupt_score)
        high = max(float(np.abs(finite).max()) if finite.size else 0.0, 0.01 * total, 1e-9)
        low = -high
        label = f"effect on {label}"
    else:
        cmap, low, high = "RdBu_r", -1.0, 1.0
        label = f"normalized effect on {label}"
    image = ax.imshow(data, cmap=cmap, vmin=low, vmax=high, aspect="auto",
                      interpolation="nearest")
    ax.set_xticks(range(grid.shape[1]), grid.marked_col_labels(), rotation=60, ha="right")
    step = -(-grid.shape[0] // MAX_ROW_LABELS)
    ax.set_yticks(range(0, grid.shape[0], step), grid.row_labels[::step])
    ax.set_xlabel(grid.col_name)
    ax.set_ylabel(grid.row_name)
    ax.set_title(plot_title(grid))
    ax.figure.colorbar(image, ax=ax, label=label)
    return ax


def plot_title(grid: EffectGrid) -> str:
    """What was patched, with the window and the noise samples: "restored MLP, window 6"."""
    title = {"resid": "restored layer output", "mlp": "restored MLP",
             "attn": "restored attention", "head": "restored head",
             "neuron": "restored neuron"}.get(grid.component, grid.component)
    if grid.experiment == "ablate":
        title = title.replace("restored", "ablated")
    parts = [title]
    window = grid.spec.get("window")
    if isinstance(window, int) and window > 1:
        parts.append(f"window {window}")
    if grid.spec.get("experiment_kind") in ("noise_trace", "average_trace"):
        parts.append(f"{grid.spec.get('samples')} noise samples")
    return ", ".join(parts)
