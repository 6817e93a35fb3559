"""The layer profile: a bqplot chart of the effect by layer at the token selected in a widget.

It follows the widget's selection and view (traitlets links), so clicking or arrowing through the
heatmap redraws it. It draws `EffectGrid.effects()`; it computes nothing itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

COLOURS = {"resid": "#6a51a3", "mlp": "#238b45", "attn": "#cb181d", "head": "#d94801",
           "neuron": "#2171b5"}


class LayerProfile:
    """``LayerProfile(widget).figure`` is a bqplot Figure; display it next to the widget."""

    def __init__(self, widget: Any) -> None:
        import bqplot as bq

        self.widget = widget
        self._x = bq.OrdinalScale()
        self._y = bq.LinearScale()
        self._bars = bq.Bars(x=[], y=[], scales={"x": self._x, "y": self._y},
                             colors=[COLOURS["resid"]])
        self._axes = [bq.Axis(scale=self._x, label="layer"),
                      bq.Axis(scale=self._y, side="left", label="effect",
                              tick_format=".2f")]
        self.figure = bq.Figure(marks=[self._bars], axes=self._axes, title="select a cell",
                                fig_margin={"top": 40, "bottom": 40, "left": 60, "right": 10},
                                layout={"height": "260px", "width": "100%"})
        widget.observe(self._redraw, ["selection", "views", "view_index"])
        self._redraw()

    def _redraw(self, _change: Any = None) -> None:
        """Redraw the profile of the selected token (a column of a layer x token grid)."""
        selection = self.widget.selection
        grids = self.widget.grids
        k = selection.get("grid", 0)
        if "col" not in selection or not 0 <= k < len(grids):
            self.figure.title = "select a cell of a layer x token grid"
            self._bars.x, self._bars.y = [], []
            return
        grid = grids[k]
        if grid.row_name != "layer":
            self.figure.title = f"no layer profile for a {grid.row_name} x {grid.col_name} grid"
            self._bars.x, self._bars.y = [], []
            return
        col = selection["col"]
        effects = np.nan_to_num(grid.effects()[:, col])
        self._bars.colors = [COLOURS.get(grid.component, "#555")]
        self._bars.x, self._bars.y = list(grid.row_labels), effects
        self._axes[1].label = f"effect on {grid.metric_label}"
        self.figure.title = (f"{grid.component} {grid.experiment} at token "
                             f"{grid.col_labels[col]!r}, by layer")
