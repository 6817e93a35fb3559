from __future__ import annotations

import pytest

import tracewidget as tw
from tests.tiny_models import CONFIGS, save_tiny_model


@pytest.fixture(scope="session")
def factlm():
    """The bundled model, loaded once per test session."""
    return tw.load_model()


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct (the test command installs its package) through the default cache:
    dequantized on the first run on a machine (about a minute), read from the cache after that."""
    return tw.load_model("smollm2")


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory):
    """A saved tiny random model of every supported family: {family: folder}."""
    root = tmp_path_factory.mktemp("tiny")
    return {family: save_tiny_model(family, root / family) for family in CONFIGS}


@pytest.fixture(scope="session")
def tiny_models(tiny_dirs):
    """Every tiny family loaded through tw.load_model: {family: nnsight model}."""
    return {family: tw.load_model(path) for family, path in tiny_dirs.items()}
