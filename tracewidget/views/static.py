"""A static matplotlib heatmap of an `EffectGrid`, in ROME's colour conventions.

resid is drawn in Purples, mlp in Greens, attn in Reds (heads in Oranges, neurons in Blues). For
scores of a restore sweep the colour scale starts at the corrupt score, as in ROME's figures, so
white means "nothing restored"; signed effects use a diverging scale centred on 0.
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


def plot_grid(grid: EffectGrid, ax: Any = None, values: str = "score") -> Any:
    """Draw ``grid`` on ``ax`` (a new figure if None); returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    data = grid_values(grid, values)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.55 * grid.shape[1] + 2),
                                      max(3.0, 0.3 * grid.shape[0] + 1.5)))
    finite = data[np.isfinite(data)]
    if values == "score":
        cmap = CMAPS.get(grid.component, "Greys")
        low = grid.corrupt_score if grid.experiment == "restore" else (
            finite.min() if finite.size else 0.0)
        high = max(finite.max(), low + 1e-9) if finite.size else low + 1.0
        label = grid.metric_label
    else:
        cmap = "RdBu_r"
        high = max(float(np.abs(finite).max()), 1e-9) if finite.size else 1.0
        low = -high
        label = f"{'normalized ' if values == 'normalized' else ''}effect on {grid.metric_label}"
    image = ax.imshow(data, cmap=cmap, vmin=low, vmax=high, aspect="auto",
                      interpolation="nearest")
    ax.set_xticks(range(grid.shape[1]), grid.marked_col_labels(), rotation=60, ha="right")
    ax.set_yticks(range(grid.shape[0]), grid.row_labels)
    ax.set_xlabel(grid.col_name)
    ax.set_ylabel(grid.row_name)
    title = {"resid": "single restored layer", "mlp": "restored MLP", "attn": "restored attention",
             "head": "restored head", "neuron": "restored neuron"}.get(grid.component,
                                                                     grid.component)
    if grid.experiment == "ablate":
        title = title.replace("restored", "ablated")
    ax.set_title(f"{title} ({grid.experiment})")
    ax.figure.colorbar(image, ax=ax, label=label)
    return ax
