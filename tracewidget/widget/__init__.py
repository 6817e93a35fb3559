"""The notebook widget: traits, messages and a worker thread over the engine; no effect maths."""

from .trace_widget import TraceWidget

__all__ = ["TraceWidget"]
