"""The API reference is generated from the docstrings and must match them; the notebooks' checked
outputs and saved widget state are what a reader should see."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_api_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location("api_reference",
                                                  REPO / "scripts" / "api_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (REPO / "docs" / "api.md").read_text() == module.render(), \
        "docs/api.md is stale: run `.venv/bin/python scripts/api_reference.py` and commit it"


def _sanitize(text: str) -> str:
    """``text`` as nbval compares it under the test command's sanitizer file."""
    import re

    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((REPO / "notebooks" / "nbval_sanitize.cfg").read_text())
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def test_checked_notebook_outputs_ignore_signed_zeros_from_other_blas_paths():
    # Seen on a fresh machine: notebook 03 printed the first array where the notebook holds the
    # second, and nbval failed on it.
    assert "--nbval-sanitize-with notebooks/nbval_sanitize.cfg" in \
        (REPO / "scripts" / "test").read_text()
    assert _sanitize("[ 1.    0.98  0.6   0.11  0.   -0.  ]") == \
        _sanitize("[1.   0.98 0.6  0.11 0.   0.  ]")
    assert _sanitize("0.050 -0.000") == _sanitize("0.050 0.000")


def test_sanitizer_keeps_real_differences():
    assert _sanitize("[ 1.    0.98 -0.01]") != _sanitize("[1.   0.98 0.01]")
    assert _sanitize("-0.001") != _sanitize("0.001")
    assert _sanitize("0.60") != _sanitize("0.06")


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")),
                         ids=lambda path: path.name)
def test_saved_widget_state_is_the_current_widget_and_nothing_stale(path):
    """A reader without a kernel (GitHub, nbviewer) sees what the saved widget state draws: it
    holds only widgets an output shows, and a saved TraceWidget draws with today's frontend
    and traits. Re-run scripts/execute_notebooks.py on a notebook this fails for."""
    import nbformat

    from tracewidget import TraceWidget

    execute = _script("execute_notebooks")
    nb = nbformat.read(path, as_version=4)
    states = nb.metadata.get("widgets", {}).get(execute.WIDGET_STATE, {}).get("state", {})
    unshown = set(states) - execute.shown_widgets(nb)
    assert not unshown, (f"{len(unshown)} saved widgets no output shows (stale progress "
                         "bars?): " + ", ".join(sorted(states[k]["model_name"] for k in unshown)))
    bundle = (REPO / "tracewidget" / "static" / "widget.js").read_text()
    # anywidget adds the frontend (_esm) and its id to each instance, not to the class
    traits = set(TraceWidget.class_trait_names(sync=True)) | {"_esm", "_anywidget_id"}
    for model_id, saved in states.items():
        if saved["model_name"] != "AnyModel":
            continue
        current = saved["state"]["_esm"] == bundle  # (a bool: no diff of two bundles)
        assert current, f"{model_id}: saved with an older frontend"
        assert set(saved["state"]) == traits, f"{model_id}: saved with other traits"
