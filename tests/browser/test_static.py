"""A saved notebook shows the widget's last view without a kernel (the widget state it stores).

The page is the saved quickstart's widget state, rendered by @jupyter-widgets/html-manager (from
npm) with anywidget's own AMD module, all from local files: no server, no kernel, no network.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from tests.browser.jupyter import CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VENDOR = {
    "embed-amd.js": REPO / "node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js",
    "require.js": REPO / "node_modules/requirejs/require.js",
    "anywidget.js": Path(sys.prefix) / "share/jupyter/nbextensions/anywidget/index.js",
}
missing = [str(p) for p in [Path(CHROMIUM), *VENDOR.values()] if not p.exists()]
if missing:
    if os.environ.get("TRACEWIDGET_REQUIRE_BROWSER"):
        raise RuntimeError(f"static-embed test required but missing: {missing} (npm ci?)")
    pytest.skip(f"missing {missing} (apt-get install chromium; npm ci)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _page(notebook: Path, folder: Path) -> Path:
    """An HTML page with the notebook's widget state and a view of its TraceWidget."""
    nb = nbformat.read(notebook, as_version=4)
    state = nb.metadata["widgets"][WIDGET_STATE]
    model_id = next(output["data"][WIDGET_VIEW]["model_id"] for cell in nb.cells
                    for output in cell.get("outputs", [])
                    if WIDGET_VIEW in output.get("data", {})
                    and state["state"][output["data"][WIDGET_VIEW]["model_id"]]["model_name"]
                    == "AnyModel")
    for name, source in VENDOR.items():
        shutil.copy(source, folder / name)
    view = {"version_major": 2, "version_minor": 0, "model_id": model_id}
    page = folder / "saved.html"
    page.write_text(f"""<!doctype html><html><head><meta charset="utf-8">
<script src="require.js"></script>
<script>require.config({{paths: {{anywidget: "anywidget"}}}});</script>
<script src="embed-amd.js"></script>
<script type="{WIDGET_STATE}">{json.dumps(state)}</script>
</head><body><script type="{WIDGET_VIEW}">{json.dumps(view)}</script></body></html>""")
    return page


@pytest.mark.timeout(120)
def test_saved_quickstart_shows_the_last_view_without_a_kernel(tmp_path):
    page_path = _page(REPO / "notebooks" / "01_quickstart.ipynb", tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        widget_errors: list[str] = []
        page.on("pageerror", lambda e: widget_errors.append(str(e.stack))
                if "blob:" in str(e.stack) else None)
        page.goto(page_path.as_uri())
        root = page.locator(".tracewidget-root")
        expect(root).to_have_attribute("data-views", "2", timeout=30_000)
        expect(root).to_have_attribute("data-view-index", "1")
        for component in ("mlp", "attn"):
            heatmap = root.locator(f'svg.tracewidget-heatmap[data-component="{component}"]')
            # the quickstart's click on SmolLM2: one strip cell per layer, 30 layers
            expect(heatmap.locator("rect.tracewidget-cell")).to_have_count(30)
        values = root.locator("rect.tracewidget-cell").evaluate_all(
            "cells => cells.map(c => c.getAttribute('data-value'))")
        assert all(v not in (None, "") for v in values)  # every cell drawn from saved numbers
        browser.close()
    assert not widget_errors, widget_errors
