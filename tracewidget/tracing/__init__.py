"""The causal-tracing engine: pure functions over a loaded model that return `EffectGrid`s.

No widgets here: the widget and the functional API both call these functions.
"""

from .attribution import attribution_noise_trace, attribution_patch, patch_neurons
from .averages import ROLES, average_trace, token_roles
from .executors import EXECUTORS, executor_for, use_executor
from .experiments import (
    default_window,
    embedding_std,
    noise_trace,
    patch,
    patch_heads,
    window_layers,
)
from .grid import EffectGrid, GridFormatError
from .metrics import METRICS, MetricError
from .plan import Site
from .prompts import PromptError
from .sweep import CancelToken, SweepCancelled

__all__ = [
    "EXECUTORS",
    "METRICS",
    "ROLES",
    "CancelToken",
    "EffectGrid",
    "GridFormatError",
    "MetricError",
    "PromptError",
    "Site",
    "SweepCancelled",
    "attribution_noise_trace",
    "attribution_patch",
    "average_trace",
    "default_window",
    "embedding_std",
    "executor_for",
    "noise_trace",
    "patch",
    "patch_heads",
    "patch_neurons",
    "token_roles",
    "use_executor",
    "window_layers",
]
