"""What ships: the wheel holds the bundled model, the facts and the frontend bundle, and the
committed bundle is what esbuild makes from js/."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tracked_copy(dest: Path) -> Path:
    """The repository's tracked files (and the working tree's versions of them) under ``dest``:
    a build there leaves nothing (build/, *.egg-info) in the working tree."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def test_wheel_contains_model_facts_card_and_bundle(tmp_path):
    source = _tracked_copy(tmp_path / "repo")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "dist"), str(source)], check=True)
    wheel = next((tmp_path / "dist").glob("tracewidget-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ["tracewidget/static/widget.js", "tracewidget/models/factlm/facts.json",
                 "tracewidget/data/known_facts.json",
                 "tracewidget/models/factlm/MODEL_CARD.md",
                 "tracewidget/models/factlm/average_trace.png",
                 "tracewidget/models/factlm/weights/model.safetensors",
                 "tracewidget/models/factlm/weights/tokenizer.json",
                 "tracewidget/models/factlm/weights/config.json"]:
        assert path in names, path
    assert wheel.stat().st_size < 15 * 2**20


@pytest.mark.skipif(not (REPO / "node_modules" / ".bin" / "esbuild").exists(),
                    reason="esbuild not installed (npm ci)")
def test_committed_bundle_is_built_from_js_sources(tmp_path):
    out = tmp_path / "widget.js"
    subprocess.run(["node", "scripts/build_js.mjs", str(out)], cwd=REPO, check=True)
    assert out.read_text() == (REPO / "tracewidget" / "static" / "widget.js").read_text(), \
        "tracewidget/static/widget.js is stale: run `npm run build` and commit it"



@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_commonjs_scripts_inside_the_repo_still_run(tmp_path):
    """The frontend's ES-module setting stays in js/: node scripts that Python tools install
    under .venv (JupyterLab's yarn.js) are CommonJS and broke when the repo root said
    "type": "module"."""
    root = tmp_path / "repo"  # node reads the nearest package.json: the repository's, copied
    (root / ".venv-probe").mkdir(parents=True)
    shutil.copy2(REPO / "package.json", root / "package.json")
    probe = root / ".venv-probe" / "probe.js"
    probe.write_text('const util = require("util"); console.log(typeof util.format);\n')
    result = subprocess.run(["node", str(probe)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "function"


def test_the_version_is_written_once():
    """tracewidget.__version__ is the version; pyproject reads it, package.json has none."""
    import json
    from importlib.metadata import version

    import tracewidget

    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and "\nversion = \"" not in pyproject
    assert 'version = {attr = "tracewidget.__version__"}' in pyproject
    assert "version" not in json.loads((REPO / "package.json").read_text())
    assert version("tracewidget") == tracewidget.__version__
