"""What a click means: the finer sweep below each kind of cell (DESIGN.md, section 3).

| you click            | the finer sweep                                                          |
| -------------------- | ------------------------------------------------------------------------ |
| a resid cell (L, t)  | mlp and attn at token t for every layer (window as configured)           |
| an attn cell (L, t)  | every head of the layers in L's window at t, and heads x tokens at L     |
| an mlp cell (L, t)   | the top neurons of that MLP at t by attribution, confirmed exactly       |

This module only *plans*: each `Sweep` wraps an engine call. Noise traces have no corrupt prompt
to take head or neuron activations from, so their mlp and attn cells are the end of the path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tracewidget.tracing as tracing
from tracewidget.models.architectures import shape
from tracewidget.tracing.grid import EffectGrid
from tracewidget.tracing.sweep import CancelToken, ProgressFn

EXPERIMENTS = ("restore", "ablate", "noise")
TOP_NEURONS = 10

SweepFn = Callable[[ProgressFn, CancelToken], EffectGrid]


@dataclass(frozen=True)
class Setup:
    """Everything the user chose: the prompts and how to score and corrupt them."""

    model: Any
    experiment: str
    clean: str
    corrupt: str | None
    subject: str | None
    target: str | None
    foil: str | None
    metric: str
    window: int
    samples: int
    noise: float = 3.0
    seed: int = 0
    align: bool = False
    batch_size: int | None = None

    def pair_kwargs(self) -> dict:
        return {"clean": self.clean, "corrupt": self.corrupt, "target": self.target,
                "foil": self.foil, "metric": self.metric, "subject": self.subject,
                "align": self.align, "batch_size": self.batch_size}


@dataclass(frozen=True)
class Sweep:
    """One grid to compute: its title, the engine call, whether its cells refine further, and
    (where one exists) an attribution-patching estimate of the same grid to show first."""

    title: str
    run: SweepFn
    refinable: bool
    preview: Callable[[], EffectGrid] | None = None


@dataclass(frozen=True)
class Step:
    """A view of the breadcrumb: one or two sweeps shown side by side."""

    crumb: str
    title: str
    sweeps: tuple[Sweep, ...]


def _trace(setup: Setup, component: str, positions: Any = None) -> SweepFn:
    window = 1 if component == "resid" else setup.window

    def run(on_progress: ProgressFn, cancel: CancelToken) -> EffectGrid:
        common = {"component": component, "window": window, "metric": setup.metric,
                  "foil": setup.foil, "positions": positions, "on_progress": on_progress,
                  "cancel": cancel, "progress": False, "batch_size": setup.batch_size}
        if setup.experiment == "noise":
            return tracing.noise_trace(setup.model, setup.clean, setup.subject, setup.target,
                                       samples=setup.samples, noise=setup.noise,
                                       seed=setup.seed, **common)
        return tracing.patch(setup.model, setup.clean, setup.corrupt, setup.target,
                             experiment=setup.experiment, subject=setup.subject,
                             align=setup.align, **common)

    return run


def overview(setup: Setup, component: str) -> Step:
    """The first view: ``component`` over every layer and token; for restore and ablate with an
    attribution preview (one backward pass) to draw while the exact cells come in."""
    kind = "noise trace" if setup.experiment == "noise" else setup.experiment
    window = 1 if component == "resid" else setup.window
    return Step(crumb=f"{component}", title=f"{kind}: {component} by layer and token",
                sweeps=(Sweep(f"{component} ({kind})", _trace(setup, component),
                              refinable=component == "resid" or setup.experiment != "noise",
                              preview=_estimate(setup, component=component, window=window)),))


def _estimate(setup: Setup, **grid: Any) -> Callable[[], EffectGrid] | None:
    """The attribution-patching estimate of the grid ``grid`` describes (the arguments of
    `tracing.attribution_patch`), to draw first; None for noise traces, which have none."""
    if setup.experiment == "noise":
        return None
    pair = {k: v for k, v in setup.pair_kwargs().items() if k != "batch_size"}

    def estimate() -> EffectGrid:
        return tracing.attribution_patch(setup.model, experiment=setup.experiment, **grid,
                                         **pair)

    return estimate


def refine(setup: Setup, grid: EffectGrid, row: int, col: int) -> Step | None:
    """The step below cell (``row``, ``col``) of ``grid``, or None where the path ends."""
    if not (0 <= row < grid.shape[0] and 0 <= col < grid.shape[1]):
        raise IndexError(f"cell ({row}, {col}) is outside the {grid.shape[0]} x {grid.shape[1]} "
                         "grid")
    if grid.row_name != "layer" or grid.col_name != "token":
        return None
    layer = grid.spec["layers"][row]
    position = grid.spec["positions"][col]
    token = grid.col_labels[col]
    if grid.component == "resid":
        sweeps = tuple(Sweep(f"{c} at {token!r}", _trace(setup, c, [position]),
                             refinable=setup.experiment != "noise",
                             preview=_estimate(setup, component=c, window=setup.window,
                                               positions=[position]))
                       for c in ("mlp", "attn"))
        return Step(crumb=f"L{layer} {token!r}", title=f"mlp and attn at token {token!r}",
                    sweeps=sweeps)
    if setup.experiment == "noise":
        return None
    if grid.component == "attn":
        n_layers = shape(setup.model).n_layers
        around = list(tracing.window_layers(layer, setup.window, n_layers))

        def heads_here(on_progress: ProgressFn, cancel: CancelToken) -> EffectGrid:
            return tracing.patch_heads(setup.model, layers=around, position=position,
                                       experiment=setup.experiment, on_progress=on_progress,
                                       cancel=cancel, progress=False, **setup.pair_kwargs())

        def heads_by_token(on_progress: ProgressFn, cancel: CancelToken) -> EffectGrid:
            return tracing.patch_heads(setup.model, layer=layer, experiment=setup.experiment,
                                       on_progress=on_progress, cancel=cancel, progress=False,
                                       **setup.pair_kwargs())

        return Step(crumb=f"heads L{layer}", title=f"attention heads at layer {layer}",
                    sweeps=(Sweep(f"heads at {token!r}", heads_here, refinable=False,
                                  preview=_estimate(setup, component="head", layers=around,
                                                    position=position)),
                            Sweep(f"heads of L{layer} by token", heads_by_token,
                                  refinable=False,
                                  preview=_estimate(setup, component="head", layer=layer))))
    if grid.component == "mlp":
        def neurons(on_progress: ProgressFn, cancel: CancelToken) -> EffectGrid:
            return tracing.patch_neurons(setup.model, layer=layer, position=position,
                                         top_k=TOP_NEURONS, experiment=setup.experiment,
                                         on_progress=on_progress, cancel=cancel,
                                         progress=False, **setup.pair_kwargs())

        return Step(crumb=f"neurons L{layer}", title=f"top MLP neurons at layer {layer}, "
                    f"token {token!r}", sweeps=(Sweep("neurons", neurons, refinable=False),))
    return None
