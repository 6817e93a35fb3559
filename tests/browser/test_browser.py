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
from tests.browser.jupyter import (
    CHROMIUM_ARGS,
    TOKEN,
    JupyterServer,
    chromium_or_skip,
    write_notebook,
)
from tests.prompts import CLEAN, CORRUPT

CHROMIUM = chromium_or_skip()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.timeout(240)

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
            f"model._module.base_model.register_forward_hook(lambda *args: time.sleep({seconds}))\n"
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
    axis = root.locator("svg.tracewidget-heatmap text.tracewidget-axis-label")
    assert max(map(len, axis.all_text_contents())) < 40  # the 100,000-character token is cut
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


# --- issue 14: colours, context, noise from the widget, interaction under load ------------------


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    if importlib.util.find_spec("notebook") is None:
        pytest.skip("notebook 7 not installed")
    server = JupyterServer("notebook", tmp_path_factory.mktemp("nb7")).start()
    yield server
    server.stop()


@pytest.fixture(params=["lab", "notebook7"])
def server(request):
    """JupyterLab 4 and Notebook 7, one module-scoped server each."""
    return request.getfixturevalue(request.param)


def _darkness(fill: str) -> int:
    """How far a "#rrggbb" fill is from white: 0 (white, no effect) .. 765 (black)."""
    return sum(255 - int(fill[i:i + 2], 16) for i in (1, 3, 5))


def _fills(heatmap) -> list[str]:
    return heatmap.locator("rect.tracewidget-cell").evaluate_all(
        "cells => cells.map(c => c.getAttribute('fill'))")


def _shot(root, name: str) -> None:
    """Keep a screenshot of the widget under $TRACEWIDGET_SHOTS (for looking at it)."""
    folder = os.environ.get("TRACEWIDGET_SHOTS")
    if folder:
        root.screenshot(path=str(Path(folder) / f"{name}.png"))


def test_one_colour_scale_per_view_and_context_everywhere(page, server):
    widget = f"w = tw.TraceWidget(model, clean={CLEAN!r}, corrupt={CORRUPT!r}, target=' Paris')\nw"
    _open(page, server, f"scales_{server.app}.ipynb", [SETUP, widget])
    root = _root(page)
    expect(root).to_have_attribute("data-state", "idle")
    expect(root.locator("input[name=window]")).to_have_value("1")  # a fifth of 6 layers
    context = root.locator(".tracewidget-context")
    for text in ("factlm (6 layers)", CLEAN, CORRUPT, '" Paris"', 'p(" Paris")'):
        expect(context).to_contain_text(text)
    expect(root.locator(".tracewidget-colourbar")).to_contain_text('p(" Paris")')
    expect(root.locator(".tracewidget-legend")).to_contain_text("subject token")
    stroke = root.locator("rect.tracewidget-cell").first.evaluate(
        "c => getComputedStyle(c).stroke")
    assert stroke not in ("none", ""), stroke  # faint borders: the grid's edges show on white
    # " of" at L1: attn carries the answer, mlp at most a few percent of it
    root.locator('rect.tracewidget-cell[data-row="1"][data-col="8"]').click()
    expect(root).to_have_attribute("data-view-index", "1")
    expect(root).to_have_attribute("data-state", "idle")
    mlp = root.locator('svg.tracewidget-heatmap[data-component="mlp"]')
    attn = root.locator('svg.tracewidget-heatmap[data-component="attn"]')
    expect(mlp).to_contain_text("mlp restored at ' of', one layer per row")
    _shot(root, f"strips_shared_{server.app}")
    strong = max(map(_darkness, _fills(attn)))
    weak = max(map(_darkness, _fills(mlp)))
    assert strong > 300 and weak < 0.25 * strong, (strong, weak)
    assert mlp.get_attribute("data-scale") == attn.get_attribute("data-scale")
    root.locator("select[name=value_kind]").select_option("normalized")
    expect(mlp).to_have_attribute("data-scale", "[-1,1]")
    assert max(map(_darkness, _fills(mlp))) < 0.25 * max(map(_darkness, _fills(attn)))
    root.locator("select[name=colour_scale]").select_option("panel")
    expect(mlp).not_to_have_attribute("data-scale", "[-1,1]")
    assert max(map(_darkness, _fills(mlp))) > 300  # its own range: the user asked to zoom
    root.locator("select[name=colour_scale]").select_option("shared")
    # heads: the two panels share a scale; the tooltip names heads H0, not 'H0'
    attn.locator('rect.tracewidget-cell[data-row="1"]').click()
    expect(root).to_have_attribute("data-view-index", "2")
    expect(root).to_have_attribute("data-state", "idle")
    heads = root.locator('svg.tracewidget-heatmap[data-component="head"]')
    expect(heads).to_have_count(2)
    assert heads.nth(0).get_attribute("data-scale") == heads.nth(1).get_attribute("data-scale")
    heads.nth(0).locator('rect.tracewidget-cell[data-row="0"][data-col="0"]').hover()
    tooltip = root.locator(".tracewidget-tooltip")
    expect(tooltip).to_contain_text("head: H0")
    expect(tooltip).not_to_contain_text("'H0'")
    _shot(root, f"heads_{server.app}")
    svg = _download(page, root, ".tracewidget-export-svg").decode()
    texts = " ".join(t.text or "" for t in ElementTree.fromstring(svg).iter()
                     if t.tag.endswith("text") or t.tag.endswith("tspan"))
    for text in (f"clean: {CLEAN}", f"corrupt: {CORRUPT}", 'target: " Paris"',
                 'metric: p(" Paris")', "model: factlm", "subject token",
                 "single heads restored at ' of'"):
        assert text in texts, text
    assert _download(page, root, ".tracewidget-export-png").startswith(b"\x89PNG")


def _type(root, name: str, text: str) -> None:
    """Type into a control and press Enter (no blur: Enter alone must apply it)."""
    field = root.locator(f"input[name={name}]")
    field.fill(text)
    field.press("Enter")


def test_noise_trace_from_the_widget_with_its_subject_field(page, server):
    _open(page, server, f"noise_{server.app}.ipynb", [SETUP, WIDGET])
    root = _root(page)
    expect(root).to_have_attribute("data-state", "idle")
    expect(root.locator("input[name=subject]")).to_have_value("Eiffel")  # where prompts differ
    _type(root, "samples", "3")
    expect(root).to_have_attribute("data-state", "idle")
    root.locator("select[name=experiment]").select_option("noise")
    heatmap = root.locator("svg.tracewidget-heatmap")
    expect(heatmap).to_contain_text("3 noise samples")
    expect(root).to_have_attribute("data-state", "idle")
    expect(heatmap.locator(".tracewidget-subject")).to_have_count(1)
    expect(root.locator(".tracewidget-context")).to_contain_text("Eiffel")
    _type(root, "subject", "Eiffel Tower")
    expect(heatmap.locator(".tracewidget-subject")).to_have_count(2)
    expect(root).to_have_attribute("data-state", "idle")
    _shot(root, f"noise_{server.app}")
    cell = heatmap.locator('rect.tracewidget-cell[data-row="0"][data-col="2"]')
    cell.hover()
    expect(root.locator(".tracewidget-tooltip")).to_contain_text("(95%, 3/3 samples)")
    _type(root, "subject", "Louvre")  # not in the prompt: an error, and the field goes back
    expect(root.locator(".tracewidget-error")).to_contain_text("Louvre")
    expect(root.locator("input[name=subject]")).to_have_value("Eiffel Tower")
    expect(heatmap.locator(".tracewidget-subject")).to_have_count(2)
    root.locator("select[name=experiment]").select_option("restore")
    expect(root).to_have_attribute("data-state", "idle")
    _type(root, "subject", "")
    # no subject: cannot switch; said while the rerun the empty subject started may still run,
    # whose start and "done" must not replace the error
    root.locator("select[name=experiment]").select_option("noise")
    expect(root.locator(".tracewidget-error")).to_contain_text("subject")
    assert _python(page, "w.wait(60), w.subject, w.status['state']") == "(None, '', 'error')"
    expect(root.locator(".tracewidget-error")).to_contain_text("subject")
    expect(root.locator("select[name=experiment]")).to_have_value("restore")
    assert _python(page, "w.experiment, w.grid.experiment") == "('restore', 'restore')"


def test_click_during_a_sweep_then_cancel_and_resume(page, server):
    slow = ("import time\nDELAY = [0.0]\n"
            "model._module.base_model.register_forward_hook(lambda *args: time.sleep(DELAY[0]))\n"
            f"w = tw.TraceWidget(model, clean={CLEAN!r}, corrupt={CORRUPT!r}, target=' Paris', "
            "batch_size=1)\nw")
    _open(page, server, f"load_{server.app}.ipynb", [SETUP, slow])
    root = _root(page)
    expect(root).to_have_attribute("data-state", "idle")
    overview = root.locator("rect.tracewidget-cell")
    expect(overview).to_have_count(54)
    # 1 s a forward: a click's first cells come a second after it (it records nothing: the
    # widget reuses the overview's recordings), time enough to queue two clicks behind it
    _python(page, "DELAY.__setitem__(0, 1.0)")
    root.locator('rect.tracewidget-cell[data-row="1"][data-col="8"]').click()  # runs
    root.locator('rect.tracewidget-cell[data-row="1"][data-col="2"]').click()  # queued
    pending = root.locator("div.tracewidget-pending")  # not the pending cells' rects
    expect(pending).to_contain_text("L1 ' Tower' of resid")
    root.locator('rect.tracewidget-cell[data-row="2"][data-col="2"]').click()  # replaces it
    expect(pending).to_contain_text("replaces the earlier pending click")
    expect(root.locator('rect.tracewidget-queued[data-queued="queued"]')).to_have_count(1)
    expect(root).to_have_attribute("data-view-index", "0")  # still the overview, cells and all
    assert overview.evaluate_all("cs => cs.filter(c => c.getAttribute('data-value')).length") \
        == 54
    _shot(root, f"queued_click_{server.app}")
    # the first click's view arrives; back to the overview while the queued one waits
    expect(root).to_have_attribute("data-view-index", "1")
    root.locator(".tracewidget-back").click()
    expect(root).to_have_attribute("data-view-index", "0")
    expect(root.locator(".tracewidget-status")).to_contain_text("resid by layer and token")
    # the queued click starts: the overview stays on screen until its view has cells
    page.wait_for_function("""(root) => root.querySelector('rect[data-queued="computing"]')
        || root.dataset.viewIndex === '1'""", arg=root.element_handle())
    assert overview.evaluate_all("cs => cs.filter(c => c.getAttribute('data-value')).length") \
        == 54 or root.get_attribute("data-view-index") == "1"
    expect(root).to_have_attribute("data-view-index", "1")
    expect(root.locator("svg.tracewidget-heatmap")).to_have_count(2)  # both panels at once
    root.locator(".tracewidget-cancel").click()
    expect(root).to_have_attribute("data-state", "cancelled")
    expect(root.locator(".tracewidget-resume")).to_be_visible()
    _shot(root, f"cancelled_{server.app}")
    _python(page, "DELAY.__setitem__(0, 0.0)")
    root.locator(".tracewidget-resume").click()
    expect(root).to_have_attribute("data-state", "idle")
    same = ("[__import__('numpy').allclose(g.values, tw.patch(model, g.spec['clean'], "
            "g.spec['corrupt'], ' Paris', component=g.component, window=1, positions=[2], "
            "progress=False).values) for g in w.grids]")
    assert _python(page, same) == "[True, True]"
    root.locator(".tracewidget-back").click()
    expect(root.locator(".tracewidget-status")).to_contain_text("resid by layer and token")


PLANNING = ("import tracewidget.widget.trace_widget as widget_module\n"
            "planned = widget_module.refine\n\n"
            "def refuse(*args):\n"
            "    raise ValueError('this cell cannot be planned (refused by the test)')")


def test_an_error_while_a_click_is_planned_reaches_the_status_line(page, server):
    _open(page, server, f"planning_{server.app}.ipynb", [SETUP, PLANNING, WIDGET])
    root = _root(page)
    expect(root).to_have_attribute("data-state", "idle")
    expect(root.locator("rect.tracewidget-cell")).to_have_count(54)
    # planning the click fails, before any sweep starts
    assert _python(page, "setattr(widget_module, 'refine', refuse)") == "None"
    root.locator('rect.tracewidget-cell[data-row="0"][data-col="1"]').click()
    error = root.locator(".tracewidget-error")
    expect(error).to_contain_text("ValueError: this cell cannot be planned")
    expect(root).to_have_attribute("data-state", "error")
    expect(root).to_have_attribute("data-view-index", "0")  # the overview stays on screen
    expect(root.locator("rect.tracewidget-queued")).to_have_count(0)
    assert _python(page, "w.status['state'], len(w.views)") == "('error', 1)"
    _shot(root, f"planning_error_{server.app}")
    # the next click plans again, and its view replaces the error
    assert _python(page, "setattr(widget_module, 'refine', planned)") == "None"
    root.locator('rect.tracewidget-cell[data-row="0"][data-col="1"]').click()
    expect(root).to_have_attribute("data-view-index", "1")
    expect(root).to_have_attribute("data-state", "idle")
    expect(error).to_be_hidden()
