from __future__ import annotations

import pytest

import tracewidget as tw
from tests.tiny_models import CONFIGS, save_tiny_model


@pytest.fixture(scope="session")
def factlm():
    """The bundled model, loaded once per test session."""
    return tw.load_model()


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory):
    """A saved tiny random model of every supported family: {family: folder}."""
    root = tmp_path_factory.mktemp("tiny")
    return {family: save_tiny_model(family, root / family) for family in CONFIGS}


@pytest.fixture(scope="session")
def tiny_models(tiny_dirs):
    """Every tiny family loaded through tw.load_model: {family: nnsight model}."""
    return {family: tw.load_model(path) for family, path in tiny_dirs.items()}
