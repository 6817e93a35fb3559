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
