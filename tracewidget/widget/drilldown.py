"""What a click means: the finer sweep below each kind of cell (DESIGN.md, section 3).

| you click            | the finer sweep                                                          |
| -------------------- | ------------------------------------------------------------------------ |
| a resid cell (L, t)  | mlp and attn at token t for every layer (window as configured)           |
| an attn cell (L, t)  | every head of the layers in L's window at t, and heads x tokens at L     |
| an mlp cell (L, t)   | the top neurons of that MLP at t by attribution, confirmed exactly       |

This module only *plans*: each `Sweep` wraps an engine call. Noise traces have no corrupt prompt
to take head or neuron activations from, so their mlp and attn cells are the end of the path.
Every sweep of a view also carries its *layout* (an all-pending grid with the final labels), so
the widget lays the panels of a view out together before any of them has a cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

import tracewidget.tracing as tracing
from tracewidget.models.architectures import shape
from tracewidget.models.loading import display_name
from tracewidget.tracing.experiments import prepare_pair, prepare_prompt
from tracewidget.tracing.grid import EffectGrid
from tracewidget.tracing.metrics import make_metric
from tracewidget.tracing.sweep import CancelToken, ProgressFn

from .settings import Settings

TOP_NEURONS = 10


class SweepFn(Protocol):
    """An engine call: ``resume`` is the partial grid of the same call, cancelled earlier."""

    def __call__(self, on_progress: ProgressFn, cancel: CancelToken,
                 resume: EffectGrid | None = None) -> EffectGrid: ...


@dataclass(frozen=True)
class Sweep:
    """One grid to compute: its title, the engine call, whether its cells refine further, its
    layout (None where the labels are known only once it runs: the neurons), whether a
    cancelled run can be resumed, and (where one exists) an attribution-patching estimate of
    the same grid to show first."""

    title: str
    run: SweepFn
    refinable: bool
    layout: EffectGrid | None
    resumable: bool = True
    preview: Callable[[], EffectGrid] | None = None


@dataclass(frozen=True)
class Step:
    """A view of the breadcrumb: one or two sweeps shown side by side."""

    crumb: str
    title: str
    sweeps: tuple[Sweep, ...]


def _tokens(settings: Settings) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The grid columns' labels and the subject's columns, as the engine will label them."""
    if settings.is_noise:
        prompt = prepare_prompt(settings.model, settings.clean, settings.subject)
        return prompt.tokens, prompt.subject
    alignment = prepare_pair(settings.model, settings.clean, settings.corrupt, settings.subject,
                             settings.align)[2]
    return alignment.labels, alignment.subject


def _layout(settings: Settings, component: str, rows: list[str], cols: list[str], *,
            row_name: str = "layer", col_name: str = "token", subject: tuple[int, ...] = (),
            spec: dict | None = None) -> EffectGrid:
    """An all-pending grid of the sweep's shape and labels (scores unknown: NaN)."""
    foil = None if settings.foil is None else 1
    metric = make_metric(settings.metric, 0, foil)
    return EffectGrid(
        values=np.full((len(rows), len(cols)), np.nan), row_labels=rows, col_labels=cols,
        clean_score=math.nan, corrupt_score=math.nan,
        experiment="ablate" if settings.experiment == "ablate" else "restore",
        component=component, metric=metric.name, metric_label=metric.label, row_name=row_name,
        col_name=col_name, subject=subject, model_name=display_name(settings.model),
        spec={"target": settings.target, "foil": settings.foil, **(spec or {})})


def _verb(settings: Settings) -> str:
    return "ablated" if settings.experiment == "ablate" else "restored"


def panel_title(settings: Settings, component: str, where: str) -> str:
    """What a panel patched, where, over how many layers, and (noise) with how many samples:
    "mlp restored at ' Tower', 3 layers centred on the row, 10 noise samples"."""
    parts = [f"{component} {_verb(settings)} {where}"]
    if component != "resid":
        parts.append(settings.window_phrase(component))
    if settings.is_noise:
        parts.append(f"{settings.samples} noise samples")
    return ", ".join(parts)


def _trace(settings: Settings, component: str, positions: Any = None) -> SweepFn:
    window = 1 if component == "resid" else settings.window

    def run(on_progress: ProgressFn, cancel: CancelToken,
            resume: EffectGrid | None = None) -> EffectGrid:
        common = {"component": component, "window": window, "metric": settings.metric,
                  "foil": settings.foil, "positions": positions, "on_progress": on_progress,
                  "cancel": cancel, "progress": False, "batch_size": settings.batch_size,
                  "resume": resume}
        if settings.is_noise:
            return tracing.noise_trace(settings.model, settings.clean, settings.subject,
                                       settings.target, samples=settings.samples,
                                       noise=settings.noise, seed=settings.seed, **common)
        return tracing.patch(settings.model, settings.clean, settings.corrupt, settings.target,
                             experiment=settings.experiment, subject=settings.subject,
                             align=settings.align, **common)

    return run


def overview(settings: Settings) -> Step:
    """The first view: the chosen component over every layer and token; for restore and ablate
    with an attribution preview (one backward pass) to draw while the exact cells come in."""
    component = settings.component
    kind = "noise trace" if settings.is_noise else settings.experiment
    window = 1 if component == "resid" else settings.window
    labels, subject = _tokens(settings)
    n_layers = shape(settings.model).n_layers
    layout = _layout(settings, component, [f"L{x}" for x in range(n_layers)], list(labels),
                     subject=subject, spec={"layers": list(range(n_layers)),
                                            "positions": list(range(len(labels)))})
    sweep = Sweep(panel_title(settings, component, "at each layer and token"),
                  _trace(settings, component),
                  refinable=component == "resid" or not settings.is_noise, layout=layout,
                  preview=_estimate(settings, component=component, window=window))
    return Step(crumb=component, title=f"{kind}: {component} by layer and token",
                sweeps=(sweep,))


def _estimate(settings: Settings, **grid: Any) -> Callable[[], EffectGrid] | None:
    """The attribution-patching estimate of the grid ``grid`` describes (the arguments of
    `tracing.attribution_patch`), to draw first. None for noise traces: their estimate
    (`tracing.attribution_noise_trace`) missed real sites on SmolLM2 (docs/concepts.md)."""
    if settings.is_noise:
        return None
    pair = {k: v for k, v in settings.pair_kwargs().items() if k != "batch_size"}

    def estimate() -> EffectGrid:
        return tracing.attribution_patch(settings.model, experiment=settings.experiment,
                                         **grid, **pair)

    return estimate


def refine(settings: Settings, grid: EffectGrid, row: int, col: int) -> Step | None:
    """The step below cell (``row``, ``col``) of ``grid``, or None where the path ends."""
    if not (0 <= row < grid.shape[0] and 0 <= col < grid.shape[1]):
        raise IndexError(f"cell ({row}, {col}) is outside the {grid.shape[0]} x {grid.shape[1]} "
                         "grid")
    if grid.row_name != "layer" or grid.col_name != "token":
        return None
    layer = grid.spec["layers"][row]
    position = grid.spec["positions"][col]
    token = grid.col_labels[col]
    n_layers, n_heads = shape(settings.model).n_layers, shape(settings.model).n_heads
    layer_labels = [f"L{x}" for x in range(n_layers)]
    if grid.component == "resid":
        subject = (0,) if col in grid.subject else ()
        sweeps = tuple(Sweep(panel_title(settings, c, f"at {token!r}"),
                             _trace(settings, c, [position]),
                             refinable=not settings.is_noise,
                             layout=_layout(settings, c, layer_labels, [token], subject=subject,
                                            spec={"layers": list(range(n_layers)),
                                                  "positions": [position]}),
                             preview=_estimate(settings, component=c, window=settings.window,
                                               positions=[position]))
                       for c in ("mlp", "attn"))
        return Step(crumb=f"L{layer} {token!r}", title=f"mlp and attn at token {token!r}",
                    sweeps=sweeps)
    if settings.is_noise:
        return None
    if grid.component == "attn":
        return _heads(settings, layer, position, token, n_layers, n_heads)
    if grid.component == "mlp":
        def neurons(on_progress: ProgressFn, cancel: CancelToken,
                    resume: EffectGrid | None = None) -> EffectGrid:
            return tracing.patch_neurons(settings.model, layer=layer, position=position,
                                         top_k=TOP_NEURONS, experiment=settings.experiment,
                                         on_progress=on_progress, cancel=cancel,
                                         progress=False, **settings.pair_kwargs())

        title = f"top {TOP_NEURONS} MLP neurons of L{layer} at {token!r}, {_verb(settings)}"
        return Step(crumb=f"neurons L{layer}", title=f"top MLP neurons at layer {layer}, "
                    f"token {token!r}", sweeps=(Sweep(title, neurons, refinable=False,
                                                      layout=None, resumable=False),))
    return None


def _heads(settings: Settings, layer: int, position: int, token: str, n_layers: int,
           n_heads: int) -> Step:
    """The heads view below an attn cell: the heads of the window's layers at the token, and
    the heads of the cell's layer at every token."""
    around = list(tracing.window_layers(layer, settings.window, n_layers))
    heads = [f"H{h}" for h in range(n_heads)]
    labels, subject = _tokens(settings)

    def heads_here(on_progress: ProgressFn, cancel: CancelToken,
                   resume: EffectGrid | None = None) -> EffectGrid:
        return tracing.patch_heads(settings.model, layers=around, position=position,
                                   experiment=settings.experiment, on_progress=on_progress,
                                   cancel=cancel, progress=False, resume=resume,
                                   **settings.pair_kwargs())

    def heads_by_token(on_progress: ProgressFn, cancel: CancelToken,
                       resume: EffectGrid | None = None) -> EffectGrid:
        return tracing.patch_heads(settings.model, layer=layer, experiment=settings.experiment,
                                   on_progress=on_progress, cancel=cancel, progress=False,
                                   resume=resume, **settings.pair_kwargs())

    span = f"L{around[0]}" if len(around) == 1 else f"L{around[0]}-L{around[-1]}"
    return Step(
        crumb=f"heads L{layer}", title=f"attention heads at layer {layer}",
        sweeps=(Sweep(f"single heads {_verb(settings)} at {token!r}, layers {span}",
                      heads_here, refinable=False,
                      layout=_layout(settings, "head", [f"L{x}" for x in around], heads,
                                     col_name="head"),
                      preview=_estimate(settings, component="head", layers=around,
                                        position=position)),
                Sweep(f"single heads of L{layer} {_verb(settings)} at each token",
                      heads_by_token, refinable=False,
                      layout=_layout(settings, "head", heads, list(labels), row_name="head",
                                     subject=subject),
                      preview=_estimate(settings, component="head", layer=layer))))
