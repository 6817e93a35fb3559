"""The API reference is generated from the docstrings and must match them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
