"""tracewidget: find where a language model computes a behaviour, by clicking through it.

The engine (`tracewidget.tracing`) runs causal-tracing experiments on any HF causal LM through
nnsight and returns `EffectGrid`s; the widget draws them as clickable heatmaps.
"""

from . import datasets
from .models import (
    Architecture,
    ModelLoadError,
    UnsupportedArchitectureError,
    architecture,
    load_model,
    register_architecture,
)
from .models.sharing import exclusive
from .tracing import (
    CancelToken,
    EffectGrid,
    GridFormatError,
    MetricError,
    PromptError,
    SweepCancelled,
    attribution_noise_trace,
    attribution_patch,
    average_trace,
    noise_trace,
    patch,
    patch_heads,
    patch_neurons,
)


def __getattr__(name: str) -> object:
    # The widget pulls in ipywidgets and anywidget: import it on first use, so scripts that only
    # run the engine start faster.
    if name == "TraceWidget":
        from .widget import TraceWidget

        return TraceWidget
    raise AttributeError(f"module 'tracewidget' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "Architecture",
    "CancelToken",
    "EffectGrid",
    "GridFormatError",
    "MetricError",
    "ModelLoadError",
    "PromptError",
    "SweepCancelled",
    "TraceWidget",
    "UnsupportedArchitectureError",
    "architecture",
    "attribution_noise_trace",
    "attribution_patch",
    "average_trace",
    "datasets",
    "exclusive",
    "load_model",
    "noise_trace",
    "patch",
    "patch_heads",
    "patch_neurons",
    "register_architecture",
]
