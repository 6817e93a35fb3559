"""Loading models and knowing where their parts live."""

from .architectures import (
    ARCHITECTURES,
    Architecture,
    Shape,
    UnsupportedArchitectureError,
    architecture,
    register_architecture,
    shape,
)
from .loading import ModelLoadError, load_model, remote_setting, require_model

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "ModelLoadError",
    "Shape",
    "UnsupportedArchitectureError",
    "architecture",
    "load_model",
    "register_architecture",
    "remote_setting",
    "require_model",
    "shape",
]
