"""The widget in a real JupyterLab 4 and Notebook 7, driven by Playwright with Debian's Chromium.

Every wait is on a selector or on Python state, never a sleep. Set TRACEWIDGET_SCREENSHOT to a
path to keep a screenshot of the widget (the README's picture comes from here).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from xml.etree import ElementTree

import pytest

import tracewidget as tw
from tests.browser.jupyter import CHROMIUM_ARGS, TOKEN, JupyterServer, write_notebook

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    if os.environ.get("TRACEWIDGET_REQUIRE_BROWSER"):
        raise RuntimeError(f"browser tests required but no Chromium at {CHROMIUM}")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.timeout(240)

CLEAN = "The Eiffel Tower is located in the city of"
CORRUPT = "The Colosseum Tower is located in the city of"
SETUP = "import tracewidget as tw\nmodel = tw.load_model()"
WIDGET = (f"w = tw.TraceWidget(model, clean={CLEAN!r}, corrupt={CORRUPT!r}, target=' Paris', "
          "window=3)\nw")
REPO = Path(__file__).resolve().parents[2]
# one token each (a word-level tokenizer made by the test), so every label carries a payload
HOSTILE = ["<img/src=x/onerror=window.__pwned=1>", "<script>window.__pwned=1</script>",
           '"quotes"', "'single'", "RTL\u202eltr", "zero\u200bwidth", "Z" * 100_000]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        yield b
        b.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = JupyterServer("lab", tmp_path_factory.mktemp("lab")).start()
    yield server
    server.stop()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    widget_errors: list[str] = []
    pg.on("pageerror", lambda e: widget_errors.append(str(e.stack))
          if "blob:" in str(e.stack) or "tracewidget" in str(e.stack) else None)
    expect.set_options(timeout=60_000)
    yield pg
    context.close()
    assert not widget_errors, widget_errors


def _open(page, server: JupyterServer, name: str, cells: list[str]) -> None:
    write_notebook(server.root / "nb" / name, cells)
    path = f"/lab/tree/{name}?reset" if server.app == "lab" else f"/notebooks/{name}?"
    page.goto(f"{server.base}{path}&token={TOKEN}")
    page.wait_for_function("window.jupyterapp?.shell?.currentWidget?.sessionContext?.session"
                           "?.kernel?.status === 'idle'", timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def _python(page, expr: str) -> str:
    """Evaluate ``expr`` in the page's kernel (the same kernel the widget lives in)."""
    return page.evaluate("""async (expr) => {
        const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        const reply = await k.requestExecute({code: '', user_expressions: {r: expr}}).done;
        const r = reply.content.user_expressions.r;
        return r.status === 'ok' ? r.data['text/plain'] : 'ERROR ' + r.ename + ': ' + r.evalue;
    }""", expr)


def _root(page):
    return page.locator(".jp-OutputArea-output .tracewidget-root").first


def _click_through(page, server: JupyterServer, name: str, screenshot: bool = False) -> None:
    _open(page, server, name, [SETUP, WIDGET])
    root = _root(page)
    expect(root).to_have_attribute("data-state", "idle")
    expect(root).to_have_attribute("data-views", "1")
    cells = root.locator("svg.tracewidget-heatmap rect.tracewidget-cell")
    expect(cells).to_have_count(6 * 9)
    assert _python(page, "w.view_index, w.grid.component") == "(0, 'resid')"
    if screenshot and os.environ.get("TRACEWIDGET_SCREENSHOT"):
        root.screenshot(path=os.environ["TRACEWIDGET_SCREENSHOT"])
    root.locator('svg.tracewidget-heatmap rect.tracewidget-cell[data-row="0"][data-col="1"]'
                 ).click()
    expect(root).to_have_attribute("data-view-index", "1")
    expect(root).to_have_attribute("data-state", "idle")
    expect(root.locator('svg.tracewidget-heatmap[data-component="mlp"]')).to_have_count(1)
    expect(root.locator('svg.tracewidget-heatmap[data-component="attn"]')).to_have_count(1)
    assert _python(page, "w.view_index, [g.component for g in w.grids]") == \
        "(1, ['mlp', 'attn'])"
    root.locator(".tracewidget-back").click()
    expect(root).to_have_attribute("data-view-index", "0")
    assert _python(page, "w.view_index, len(w.views)") == "(0, 2)"


def test_jupyterlab_click_through_and_back(page, lab):
    _click_through(page, lab, "click.ipynb", screenshot=True)


def _slow_widget(seconds: float, arguments: str) -> str:
    """A notebook cell that slows every forward by ``seconds`` (so a sweep can be watched
    mid-way) and shows ``TraceWidget(model, <arguments>)``."""
    return ("import time\n"
            f"model._module.register_forward_hook(lambda *args: time.sleep({seconds}))\n"
            f"w = tw.TraceWidget(model, {arguments})\nw")


def test_jupyterlab_cancel_a_running_sweep(page, lab):
    slow = _slow_widget(0.3, f"prompt={CLEAN!r}, subject='Eiffel Tower', samples=2, "
                             "batch_size=1")
    _open(page, lab, "cancel.ipynb", [SETUP, slow])
    root = _root(page)
    expect(root).to_have_attribute("data-state", "running")
    # wait until the first cells have been drawn, then cancel mid-sweep
    expect(root.locator('rect.tracewidget-cell:not([data-value=""])').first).to_be_attached()
    # the kernel answers while the sweep runs on its worker thread
    assert _python(page, "w.status['state'], 6 * 7") == "('running', 42)"
    root.locator(".tracewidget-cancel").click()
    expect(root).to_have_attribute("data-state", "cancelled")
    assert _python(page, "w.status['state']") == "'cancelled'"
    done = int(_python(page, "int((~__import__('numpy').isnan(w.grid.values)).sum())"))
    assert 0 < done < 54


def test_hostile_strings_render_as_text(page, lab):
    hostile = (f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
               "from pathlib import Path\n"
               "from tests.tiny_models import WORDS, save_tiny_model\n"
               f"HOSTILE = {HOSTILE!r}\n"
               "hm = tw.load_model(save_tiny_model('gpt2', Path('hostile_model'), "
               "words=WORDS + HOSTILE))\n"
               "prompt = ' '.join(HOSTILE + 'The Eiffel Tower is located in the city of'.split())\n"
               "w = tw.TraceWidget(hm, prompt=prompt, subject='Eiffel Tower', target='Paris', "
               "samples=2, window=1)\nw")
    _open(page, lab, "hostile.ipynb", [SETUP, hostile])
    root = _root(page)
    expect(root).to_have_attribute("data-state", "idle")
    expect(root.locator("rect.tracewidget-cell")).to_have_count(2 * 16)
    assert page.evaluate("window.__pwned") is None
    assert root.locator("img, script, iframe").count() == 0
    labels = root.locator("svg.tracewidget-heatmap text").all_text_contents()
    assert any(t.startswith("<img/src=x") for t in labels)  # markup shown as text, truncated
    assert any(t.startswith("<script>") for t in labels)
    assert max(map(len, labels)) < 40  # the 100,000-character token is cut for display
    arias = root.locator("rect.tracewidget-cell").evaluate_all(
        "cells => cells.map(c => c.getAttribute('aria-label'))")
    assert any("<script>window.__pwned=1</script>" in a for a in arias)
    assert any("RTL\u202eltr" in a for a in arias)
    _check_exports(page, root)


def _download(page, root, button: str) -> bytes:
    with page.expect_download() as info:
        root.locator(button).click()
    return Path(info.value.path()).read_bytes()


def _check_exports(page, root) -> None:
    """SVG, PNG and JSON exports of the hostile view carry the strings as text and data."""
    svg = _download(page, root, ".tracewidget-export-svg").decode()
    tags = {element.tag.rsplit("}", 1)[-1] for element in ElementTree.fromstring(svg).iter()}
    assert not tags & {"script", "img", "iframe", "foreignObject"}, tags
    assert "&lt;script&gt;window.__pwned=1" in svg
    assert _download(page, root, ".tracewidget-export-png").startswith(b"\x89PNG")
    grid = tw.EffectGrid.from_json(_download(page, root, ".tracewidget-export-json"))
    assert list(grid.col_labels[:len(HOSTILE)]) == HOSTILE
    assert page.evaluate("window.__pwned") is None


@pytest.mark.skipif(importlib.util.find_spec("notebook") is None,
                    reason="notebook 7 not installed")
def test_notebook7_click_through_and_back(page, tmp_path_factory):
    server = JupyterServer("notebook", tmp_path_factory.mktemp("nb7")).start()
    try:
        _click_through(page, server, "click7.ipynb")
    finally:
        server.stop()


def test_jupyterlab_preview_cells_fade_until_exact(page, lab):
    slow = _slow_widget(0.2, f"clean={CLEAN!r}, corrupt={CORRUPT!r}, target=' Paris', "
                             "preview=True, batch_size=9")
    _open(page, lab, "preview.ipynb", [SETUP, slow])
    root = _root(page)
    expect(root.locator('rect.tracewidget-cell[data-estimated="true"]').first).to_be_attached()
    expect(root).to_have_attribute("data-state", "idle")
    expect(root.locator('rect.tracewidget-cell[data-estimated="true"]')).to_have_count(0)
    expect(root.locator('rect.tracewidget-cell[data-estimated="false"]')).to_have_count(54)
