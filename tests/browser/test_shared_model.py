"""Run All of a notebook whose widget and next cell use one model at the same time."""

from __future__ import annotations

import pytest

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

pytestmark = pytest.mark.timeout(300)

# Every forward sleeps, so the widget's sweep (one run per batch) is still going when the next
# cell's tw.patch starts: the two must take turns on the model, not mix their patches.
CELLS = [
    "import time\nimport numpy as np\nimport tracewidget as tw\nmodel = tw.load_model()\n"
    "model._module.base_model.register_forward_hook(lambda *args: time.sleep(0.1))",
    f"w = tw.TraceWidget(model, clean={CLEAN!r}, corrupt={CORRUPT!r}, target=' Paris', "
    "batch_size=1)\nw",
    f"busy_when_patching = w.status['state']\n"
    f"g = tw.patch(model, {CLEAN!r}, {CORRUPT!r}, ' Paris', progress=False)",
]
CHECK = (f"(busy_when_patching, w.wait(120), w.status['state'], "
         f"bool(np.allclose(g.values, tw.patch(model, {CLEAN!r}, {CORRUPT!r}, ' Paris', "
         f"progress=False).values, atol=1e-6)), "
         f"bool(np.allclose(w.grid.values, g.values, atol=1e-6)))")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = JupyterServer("lab", tmp_path_factory.mktemp("lab-shared")).start()
    yield server
    server.stop()


def test_run_all_with_a_widget_and_a_patch_on_one_model(lab):
    write_notebook(lab.root / "nb" / "shared.ipynb", CELLS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    timeout=30_000)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"{lab.base}/lab/tree/shared.ipynb?reset&token={TOKEN}")
        page.wait_for_function("window.jupyterapp?.shell?.currentWidget?.sessionContext"
                               "?.session?.kernel?.status === 'idle'", timeout=90_000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        root = page.locator(".jp-OutputArea-output .tracewidget-root").first
        expect(root).to_have_attribute("data-state", "idle", timeout=180_000)
        # the last cell has run (a failed tw.patch leaves g undefined: the check says so)
        page.wait_for_function("window.jupyterapp.shell.currentWidget.sessionContext.session"
                               ".kernel.status === 'idle'", timeout=180_000)
        result = page.evaluate("""async (expr) => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const reply = await k.requestExecute({code: '', user_expressions: {r: expr}}).done;
            const r = reply.content.user_expressions.r;
            return r.status === 'ok' ? r.data['text/plain'] : 'ERROR ' + r.ename + ': ' + r.evalue;
        }""", CHECK)
        browser.close()
    assert result == "('running', None, 'idle', True, True)", result
