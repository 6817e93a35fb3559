"""Re-run the example notebooks in place, keeping their outputs and widget state.

    .venv/bin/python scripts/execute_notebooks.py [notebooks/01_quickstart.ipynb ...]

Commit what it writes: nbval compares the cells marked NBVAL_CHECK_OUTPUT against these outputs,
and the saved widget state lets GitHub and nbviewer show the last heatmap without a kernel. Run it
after every change to the widget's frontend: a saved TraceWidget carries the bundle it was drawn
with, and tests/test_docs.py checks that it is the current one.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import nbclient
import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def shown_widgets(nb: nbformat.NotebookNode) -> set[str]:
    """The ids of the widget models a reader of ``nb`` sees: those its outputs display, and
    every model they refer to (layouts, styles, children, a figure's axes and scales)."""
    states = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    todo = [output["data"][WIDGET_VIEW]["model_id"] for cell in nb.cells
            for output in cell.get("outputs", []) if WIDGET_VIEW in output.get("data", {})]
    shown: set[str] = set()
    while todo:
        model_id = todo.pop()
        if model_id in shown or model_id not in states:
            continue
        shown.add(model_id)
        todo += re.findall(r"IPY_MODEL_(\w+)", json.dumps(states[model_id]["state"]))
    return shown


def drop_unshown_widgets(nb: nbformat.NotebookNode) -> None:
    """Keep only the saved state of the widgets some output shows. tqdm makes a widget for
    every sweep's progress bar, also for the fast sweeps whose bar never appears (it waits
    2 s), and a bar that did appear is removed when its sweep ends; their saved states are
    stale bars that nothing displays."""
    saved = nb.metadata.get("widgets", {}).get(WIDGET_STATE)
    if saved is None:
        return
    shown = shown_widgets(nb)
    saved["state"] = {k: v for k, v in saved["state"].items() if k in shown}
    if not saved["state"]:
        del nb.metadata["widgets"]


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                store_widget_state=True,
                                resources={"metadata": {"path": str(path.parent)}}).execute()
        drop_unshown_widgets(nb)
        nbformat.write(nb, path)
        print(f"{path.name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
