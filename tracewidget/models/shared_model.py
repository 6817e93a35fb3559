"""The nnsight model class `load_model` returns: nnsight's own, with traces that hold the model.

A user's ``with model.trace(...)`` arms the model's one nnsight interleaver and runs a forward;
when a widget's sweep runs on the same model in another thread, each would see the other's
interventions. Traces of a `SharedModel` run under `sharing.exclusive`, like every run of
tracewidget's own, so they take turns with widgets and functional calls.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

from nnsight import TransformersModel
from nnsight.intervention.tracer import InterleavingTracer

from .sharing import exclusive


class ExclusiveTracer(InterleavingTracer):
    """An nnsight trace that holds its model (`sharing.exclusive`) while it runs."""

    def execute(self, code: CodeType) -> None:
        with exclusive(self.envoy):
            super().execute(code)


class SharedModel(TransformersModel):
    """``nnsight.TransformersModel`` whose local traces (``trace``, ``generate``) take turns with
    every other run on the same model. Remote traces (NDIF) run on the server, as before."""

    def trace(self, *inputs: Any, **kwargs: Any) -> Any:
        if not kwargs.get("remote") and kwargs.get("backend") is None:
            kwargs.setdefault("tracer_cls", ExclusiveTracer)
        return super().trace(*inputs, **kwargs)

    def interleave(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # direct calls (``model.generate(ids)`` outside a with block) come straight here
        with exclusive(self):
            return super().interleave(fn, *args, **kwargs)

    def _remoteable_class(self) -> type:
        # NDIF knows the model by nnsight's class, not by this subclass
        return TransformersModel
