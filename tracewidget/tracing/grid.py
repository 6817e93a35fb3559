"""`EffectGrid`: the result of one sweep, the one currency of tracewidget.

The functional API returns it, the widget draws it, users save it. It stores *scores* (the metric
of each patched run) and derives effects from them, so switching between score, effect and
normalized effect never needs the model again.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

FORMAT = "tracewidget.EffectGrid"
VERSION = 1
EXPERIMENTS = ("restore", "ablate")


class GridFormatError(ValueError):
    """A JSON text is not a valid saved EffectGrid."""


def _frozen(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class EffectGrid:
    """Scores of patched runs over a grid of sites, with everything needed to read them.

    Attributes:
        values: ``[rows, cols]`` scores of the patched runs (NaN where not computed yet).
        row_labels, col_labels: what each row and column is ("L3", " Tower", "H2", ...).
        row_name, col_name: what the axes are ("layer", "token", "head", "neuron", "role").
        subject: column indices of the subject's tokens.
        clean_score, corrupt_score: the metric of the unpatched clean and corrupt runs.
        experiment: "restore" (run corrupt, paste clean) or "ablate" (run clean, paste corrupt).
        component: what was patched: "resid", "mlp", "attn", "head" or "neuron".
        metric: the metric's name; ``metric_label`` is its axis label ("p(answer)").
        spec: the arguments that produced the grid (JSON-able), for reproducing it.
        model_name: the model it was computed on.
        ci95: half-width of 95% intervals of ``values`` for averaged grids, else None.
    """

    values: np.ndarray
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    clean_score: float
    corrupt_score: float
    experiment: str = "restore"
    component: str = "resid"
    metric: str = "prob"
    metric_label: str = "p(answer)"
    row_name: str = "layer"
    col_name: str = "token"
    subject: tuple[int, ...] = ()
    spec: dict = field(default_factory=dict)
    model_name: str = ""
    ci95: np.ndarray | None = None

    def __post_init__(self) -> None:
        values = _frozen(self.values)
        if values.ndim != 2:
            raise ValueError(f"values must be 2-D [rows, cols], got shape {values.shape}")
        if values.shape != (len(self.row_labels), len(self.col_labels)):
            raise ValueError(f"values have shape {values.shape} but there are "
                             f"{len(self.row_labels)} row and {len(self.col_labels)} col labels")
        if self.experiment not in EXPERIMENTS:
            raise ValueError(f"experiment must be one of {EXPERIMENTS}, got {self.experiment!r}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "row_labels", tuple(str(x) for x in self.row_labels))
        object.__setattr__(self, "col_labels", tuple(str(x) for x in self.col_labels))
        object.__setattr__(self, "subject", tuple(int(i) for i in self.subject))
        object.__setattr__(self, "clean_score", float(self.clean_score))
        object.__setattr__(self, "corrupt_score", float(self.corrupt_score))
        if self.ci95 is not None:
            ci = _frozen(self.ci95)
            if ci.shape != values.shape:
                raise ValueError(f"ci95 has shape {ci.shape}, values {values.shape}")
            object.__setattr__(self, "ci95", ci)

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    @property
    def total_effect(self) -> float:
        """score(clean) - score(corrupt): what the corruption took away."""
        return self.clean_score - self.corrupt_score

    @property
    def complete(self) -> bool:
        """True once every cell has a value."""
        return not np.isnan(self.values).any()

    def effects(self) -> np.ndarray:
        """Effect of each patch: score(patched) - score(corrupt) for restore (what came back),
        score(clean) - score(patched) for ablate (what was lost). Both are positive when the
        site matters for the behaviour."""
        if self.experiment == "restore":
            return self.values - self.corrupt_score
        return self.clean_score - self.values

    def normalized(self) -> np.ndarray:
        """Effects as a fraction of the total effect: 1 means the site carries all of it.

        Raises ValueError when the clean and corrupt scores are equal (nothing to normalize by).
        """
        total = self.total_effect
        if not math.isfinite(total) or abs(total) < 1e-12:
            raise ValueError(
                f"the clean and corrupt scores are equal ({self.clean_score:.6g}), so the total "
                "effect is 0 and a normalized effect is undefined; use effects(), or choose a "
                "corrupt prompt that changes the answer")
        return self.effects() / total

    def marked_col_labels(self, mark: str = "*") -> tuple[str, ...]:
        """Column labels with ``mark`` after each subject token."""
        return tuple(f"{c}{mark}" if i in self.subject else c
                     for i, c in enumerate(self.col_labels))

    def with_values(self, values: np.ndarray) -> EffectGrid:
        """A copy holding other values (partial grids during a sweep)."""
        return replace(self, values=values)

    # --- serialization ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain JSON-able data; NaN (cells not computed) becomes null."""
        def nested(a: np.ndarray | None) -> list | None:
            if a is None:
                return None
            return [[None if math.isnan(v) else float(v) for v in row] for row in a.tolist()]

        return {
            "format": FORMAT, "version": VERSION,
            "values": nested(self.values), "ci95": nested(self.ci95),
            "row_labels": list(self.row_labels), "col_labels": list(self.col_labels),
            "row_name": self.row_name, "col_name": self.col_name,
            "subject": list(self.subject),
            "clean_score": self.clean_score, "corrupt_score": self.corrupt_score,
            "experiment": self.experiment, "component": self.component,
            "metric": self.metric, "metric_label": self.metric_label,
            "spec": self.spec, "model_name": self.model_name,
        }

    def to_json(self, indent: int | None = None) -> str:
        """Lossless JSON (floats round-trip exactly); read it back with `EffectGrid.from_json`."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> EffectGrid:
        """Read a grid written by `to_json`; anything else raises `GridFormatError`."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise GridFormatError(f"not JSON ({err}); was this written by EffectGrid.to_json()?"
                                  ) from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> EffectGrid:
        """Build a grid from `to_dict` output, checking every field."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise GridFormatError(f"not a saved EffectGrid: expected an object with "
                                  f"format={FORMAT!r}")
        if data.get("version") != VERSION:
            raise GridFormatError(f"EffectGrid format version {data.get('version')!r} is not "
                                  f"supported (this tracewidget reads version {VERSION})")
        expected = {"values": list, "row_labels": list, "col_labels": list, "row_name": str,
                    "col_name": str, "subject": list, "clean_score": (int, float),
                    "corrupt_score": (int, float), "experiment": str, "component": str,
                    "metric": str, "metric_label": str, "spec": dict, "model_name": str}
        for key, kind in expected.items():
            if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
                raise GridFormatError(f"saved EffectGrid field {key!r} is missing or has the "
                                      f"wrong type ({type(data.get(key)).__name__})")

        def matrix(rows: Any, name: str) -> np.ndarray:
            ok = isinstance(rows, list) and all(
                isinstance(r, list) and all(
                    v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                    for v in r) for r in rows)
            if not ok:
                raise GridFormatError(f"saved EffectGrid field {name!r} must be a list of rows "
                                      "of numbers or null")
            width = {len(r) for r in rows}
            if len(width) > 1:
                raise GridFormatError(f"saved EffectGrid field {name!r} has rows of different "
                                      "lengths")
            n_cols = width.pop() if width else len(data["col_labels"])
            return np.array([[math.nan if v is None else v for v in r] for r in rows],
                            dtype=np.float64).reshape(len(rows), n_cols)

        fields = {k: data[k] for k in expected}
        fields["values"] = matrix(data["values"], "values")
        fields["ci95"] = None if data.get("ci95") is None else matrix(data["ci95"], "ci95")
        try:
            return cls(**fields)
        except (ValueError, TypeError) as err:
            raise GridFormatError(f"saved EffectGrid is inconsistent: {err}") from None

    def to_pandas(self) -> Any:
        """A DataFrame of scores: index = row labels, columns = "position: token" labels."""
        import pandas as pd

        cols = [f"{i}: {c}" for i, c in enumerate(self.marked_col_labels())]
        frame = pd.DataFrame(self.values, index=list(self.row_labels), columns=cols)
        frame.index.name, frame.columns.name = self.row_name, self.col_name
        return frame

    def axis_label(self) -> str:
        """The metric's label with the actual tokens: 'p(" Paris")' for 'p(answer)', as ROME's
        figures label their colour bars; unchanged while the target is not known yet."""
        label = self.metric_label
        for placeholder, key in (("(answer)", "target"), ("(target)", "target"),
                                 ("(foil)", "foil")):
            token = self.spec.get(key)
            if token is not None:
                label = label.replace(placeholder, f"({json.dumps(token)})")
        return label

    def plot(self, ax: Any = None, values: str = "score") -> Any:
        """A static matplotlib heatmap in ROME's colours (see `tracewidget.views.static`)."""
        from tracewidget.views.static import plot_grid

        return plot_grid(self, ax=ax, values=values)

    def __repr__(self) -> str:
        rows, cols = self.shape
        return (f"EffectGrid({self.experiment} {self.component}, {rows} {self.row_name}s x "
                f"{cols} {self.col_name}s, metric={self.metric}, clean={self.clean_score:.4g}, "
                f"corrupt={self.corrupt_score:.4g}, model={self.model_name!r})")
