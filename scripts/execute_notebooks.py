"""Re-run the example notebooks in place, keeping their outputs and widget state.

    .venv/bin/python scripts/execute_notebooks.py [notebooks/01_quickstart.ipynb ...]

Commit what it writes: nbval compares the cells marked NBVAL_CHECK_OUTPUT against these outputs,
and the saved widget state lets GitHub and nbviewer show the last heatmap without a kernel.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbclient
import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                store_widget_state=True,
                                resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(nb, path)
        print(f"{path.name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
