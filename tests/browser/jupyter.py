"""Start and stop a real Jupyter server (JupyterLab 4 or Notebook 7) for browser tests.

Everything the server and its kernels write goes to a temporary folder, never to $HOME.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

TOKEN = "tracewidget-test-token"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_or_skip() -> str:
    """The Chromium the browser tests drive (``$CHROMIUM``, default Debian's): skip the calling
    test module without one, unless ``TRACEWIDGET_REQUIRE_BROWSER`` is set (CI), which fails."""
    import pytest

    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        if os.environ.get("TRACEWIDGET_REQUIRE_BROWSER"):
            raise RuntimeError(f"browser tests required but no Chromium at {chromium}")
        pytest.skip(f"no Chromium at {chromium} (apt-get install chromium)",
                    allow_module_level=True)
    return chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook with a kernelspec (no kernel picker dialog) and the given code cells."""
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "outputs": [],
                     "execution_count": None, "source": src} for i, src in enumerate(cells)]}
    path.write_text(json.dumps(nb))


class JupyterServer:
    """``jupyter lab`` or ``jupyter notebook`` on a free local port, isolated in ``root``."""

    def __init__(self, app: str, root: Path) -> None:
        self.app, self.root = app, root
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = root / f"{app}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> JupyterServer:
        env = dict(os.environ)
        for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                         ("JUPYTERLAB_SETTINGS_DIR", "settings")]:
            (self.root / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.root / sub)
        notify = self.root / "settings" / "@jupyterlab" / "apputils-extension"
        notify.mkdir(parents=True, exist_ok=True)
        (notify / "notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false", "checkForUpdates": false}')
        app_class = "LabApp" if self.app == "lab" else "JupyterNotebookApp"
        cmd = [sys.executable, "-m", "jupyter", self.app, "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--port-retries=0", "--allow-root",
               f"--ServerApp.root_dir={self.root / 'nb'}", f"--IdentityProvider.token={TOKEN}",
               "--ServerApp.password=", f"--{app_class}.expose_app_in_browser=True"]
        if self.app == "lab":
            cmd += ["--LabApp.news_url=None",
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        (self.root / "nb").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.root, start_new_session=True,
                                     stdout=self.log_path.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={TOKEN}", timeout=2)
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jupyter {self.app} did not start in 90 s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
