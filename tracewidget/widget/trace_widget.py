"""`TraceWidget`: clickable causal-tracing heatmaps that drill down, in a notebook.

The widget holds traits and runs sweeps; it computes no effects. Every grid comes from the engine
(`tracewidget.tracing`) through the plan in `drilldown`. Sweeps run on one worker thread, so the
notebook stays usable while cells fill in. A click during a sweep *replaces the pending click*:
the running sweep finishes (or is cancelled with Cancel), then only the latest click runs.
"""

from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from tracewidget.models.loading import display_name
from tracewidget.models.sharing import reporting_waits
from tracewidget.tracing.experiments import prepare_pair, prepare_prompt
from tracewidget.tracing.grid import EffectGrid
from tracewidget.tracing.metrics import METRICS, make_metric
from tracewidget.tracing.prompts import single_token
from tracewidget.tracing.sweep import CancelToken, SweepCancelled

from .drilldown import EXPERIMENTS, Setup, Step, overview, refine
from .payload import grid_payload

STATIC = Path(__file__).resolve().parent.parent / "static"
COMPONENTS = ("resid", "mlp", "attn")
VALUE_KINDS = ("score", "effect", "normalized")


def _idle(message: str = "") -> dict:
    return {"state": "idle", "done": 0, "total": 0, "eta_seconds": None, "message": message,
            "detail": ""}


class TraceWidget(anywidget.AnyWidget):
    """Causal tracing you click through.

    ``TraceWidget(model, clean=..., corrupt=..., target=...)`` patches between two prompts
    (``experiment="restore"`` or ``"ablate"``); ``TraceWidget(model, prompt=..., subject=...)``
    runs a ROME noise trace. The overview (``component`` by layer and token) starts at once;
    clicking a cell runs the finer sweep below it (see `tracewidget.widget.drilldown`).
    ``w.grid`` is the EffectGrid in view; ``w.refine(row, col, wait=True)`` does what a click does.
    With ``preview=True`` each view of restore and ablate (overview, strips, heads) first shows
    an attribution-patching estimate (one backward pass), drawn faded, which exact cells replace
    as they arrive.
    """

    _esm = STATIC / "widget.js"

    views = traitlets.List(traitlets.Dict()).tag(sync=True)
    view_index = traitlets.Int(-1).tag(sync=True)
    status = traitlets.Dict(_idle()).tag(sync=True)
    selection = traitlets.Dict().tag(sync=True)
    value_kind = traitlets.Enum(VALUE_KINDS, "score").tag(sync=True)
    experiment = traitlets.Enum(EXPERIMENTS, "restore").tag(sync=True)
    component = traitlets.Enum(COMPONENTS, "resid").tag(sync=True)
    metric = traitlets.Enum(METRICS, "prob").tag(sync=True)
    window = traitlets.Int(10).tag(sync=True)
    samples = traitlets.Int(10).tag(sync=True)

    def __init__(self, model: Any, clean: str | None = None, corrupt: str | None = None,
                 target: str | None = None, *, prompt: str | None = None,
                 subject: str | None = None, foil: str | None = None,
                 experiment: str | None = None, component: str = "resid",
                 metric: str = "prob", window: int = 10, samples: int = 10,
                 noise: float = 3.0, seed: int = 0, align: bool = False,
                 batch_size: int | None = None, preview: bool = False, autorun: bool = True,
                 **kwargs: Any) -> None:
        if prompt is not None and clean is not None:
            raise ValueError("give either clean= and corrupt= (patching) or prompt= and "
                             "subject= (noise trace), not both")
        experiment = experiment or ("noise" if prompt is not None else "restore")
        text = prompt if prompt is not None else clean
        self._model = model
        self._inputs = {"clean": text, "corrupt": corrupt, "subject": subject,
                        "target": target, "foil": foil, "noise": noise, "seed": seed,
                        "align": align, "batch_size": batch_size, "preview": preview}
        self._validate(experiment, metric, window, samples)
        super().__init__(experiment=experiment, component=component, metric=metric,
                         window=window, samples=samples, **kwargs)
        self._grids: list[list[EffectGrid | None]] = []
        self._previews: list[list[EffectGrid | None]] = []
        self._steps: list[Step] = []
        self._lock = threading.RLock()
        self._pending: tuple[Any, Future] | None = None
        self._running: CancelToken | None = None
        self._worker_busy = False
        self._idle = threading.Event()
        self._idle.set()
        self.on_msg(self._on_message)
        self.observe(self._controls_changed, ["experiment", "component", "metric", "window",
                                              "samples"])
        if autorun:
            self.run()

    # --- inputs ---------------------------------------------------------------------------

    def _validate(self, experiment: str, metric: str, window: int, samples: int) -> None:
        """Check the prompts and settings now, so mistakes surface in the cell that made them."""
        i = self._inputs
        if experiment not in EXPERIMENTS:
            raise ValueError(f"experiment must be one of {', '.join(EXPERIMENTS)}, got "
                             f"{experiment!r}")
        if experiment == "noise":
            if not i["subject"]:
                raise ValueError("a noise trace needs subject= (the words to corrupt)")
            prepare_prompt(self._model, i["clean"], i["subject"])
        else:
            if i["corrupt"] is None or i["clean"] is None:
                raise ValueError(f"experiment={experiment!r} needs clean= and corrupt= prompts; "
                                 "for a noise trace give prompt= and subject=")
            prepare_pair(self._model, i["clean"], i["corrupt"], i["subject"], i["align"])
        if i["target"] is not None:
            single_token(self._model.tokenizer, i["target"], "target")
        foil = None if i["foil"] is None else single_token(self._model.tokenizer, i["foil"],
                                                            "foil")
        make_metric(metric, 0, foil)
        if window < 1 or samples < 1:
            raise ValueError(f"window and samples must be >= 1, got {window} and {samples}")

    def _setup(self) -> Setup:
        i = self._inputs
        return Setup(model=self._model, experiment=self.experiment, clean=i["clean"],
                     corrupt=i["corrupt"], subject=i["subject"], target=i["target"],
                     foil=i["foil"], metric=self.metric, window=self.window,
                     samples=self.samples, noise=i["noise"], seed=i["seed"], align=i["align"],
                     batch_size=i["batch_size"])

    def _controls_changed(self, change: dict) -> None:
        try:
            self._validate(self.experiment, self.metric, self.window, self.samples)
        except ValueError as err:
            self.status = {**_idle(), "state": "error", "message": str(err)}
            return
        self.run()

    # --- public API -----------------------------------------------------------------------

    @property
    def grid(self) -> EffectGrid | None:
        """The (first) EffectGrid of the view on screen; None before anything is computed."""
        grids = self.grids
        return grids[0] if grids else None

    @property
    def grids(self) -> list[EffectGrid]:
        """Every EffectGrid of the view on screen (two when mlp and attn are side by side)."""
        with self._lock:
            if not 0 <= self.view_index < len(self._grids):
                return []
            return [g for g in self._grids[self.view_index] if g is not None]

    def run(self, wait: bool = False) -> Future:
        """(Re)start from the overview with the current controls; clears the breadcrumb."""
        return self._submit(("overview", None), wait)

    def refine(self, row: int, col: int, grid: int = 0, wait: bool = False) -> Future:
        """Exactly what clicking cell (``row``, ``col``) of grid ``grid`` of the current view
        does. With ``wait=True``, block until the sweep is done and raise its error, if any."""
        return self._submit(("refine", (self.view_index, grid, row, col)), wait)

    def wait(self, timeout: float | None = None) -> None:
        """Block until no sweep is running or pending (for scripts and tests)."""
        if not self._idle.wait(timeout):
            raise TimeoutError(f"the widget was still busy after {timeout} s")

    def cancel(self) -> None:
        """Stop the running sweep between batches and drop the pending one."""
        with self._lock:
            pending, self._pending = self._pending, None
            if self._running is not None:
                self._running.cancel()
        if pending is not None:
            pending[1].cancel()

    def layer_profile(self) -> Any:
        """A bqplot chart of the effect by layer at the selected token, linked to the widget:
        ``display(w, w.layer_profile())``."""
        from tracewidget.views.profile import LayerProfile

        return LayerProfile(self).figure

    def back(self) -> None:
        self.navigate(self.view_index - 1)

    def forward(self) -> None:
        self.navigate(self.view_index + 1)

    def navigate(self, index: int) -> None:
        """Show view ``index`` of the breadcrumb (nothing is recomputed)."""
        with self._lock:
            if 0 <= index < len(self.views):
                self.selection = {}
                self.view_index = index

    def __repr__(self) -> str:
        crumbs = " > ".join(v["crumb"] for v in self.views[: self.view_index + 1]) or "-"
        return (f"TraceWidget(model={display_name(self._model)!r}, experiment={self.experiment!r}, "
                f"component={self.component!r}, view {self.view_index + 1}/{len(self.views)}: "
                f"{crumbs}, status={self.status.get('state')!r})")

    # --- messages from the frontend -------------------------------------------------------

    def _on_message(self, _widget: Any, content: dict, buffers: list) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "refine":
                self._submit(("refine", (int(content["view"]), int(content.get("grid", 0)),
                                         int(content["row"]), int(content["col"]))), False)
            elif kind == "cancel":
                self.cancel()
            elif kind == "navigate":
                self.navigate(int(content["index"]))
            elif kind == "export_json":
                self._export_json(str(content.get("request", "")))
        except (KeyError, TypeError, ValueError) as err:
            self.status = {**_idle(), "state": "error", "message": f"bad message: {err}"}

    def _export_json(self, request: str) -> None:
        grids = self.grids
        if not grids:
            return
        crumb = self.views[self.view_index]["crumb"] if self.views else "grid"
        text = grids[0].to_json(indent=1) if len(grids) == 1 else \
            "[" + ",\n".join(g.to_json(indent=1) for g in grids) + "]"
        safe = "".join(ch if ch.isalnum() else "_" for ch in crumb).strip("_") or "grid"
        self.send({"type": "export_json", "request": request,
                   "filename": f"tracewidget_{safe}.json", "text": text})

    # --- the worker -----------------------------------------------------------------------

    def _submit(self, job: tuple[str, Any], wait: bool) -> Future:
        future: Future = Future()
        with self._lock:
            if self._pending is not None:
                self._pending[1].cancel()
            self._pending = (job, future)
            start = not self._worker_busy
            self._worker_busy = True
            self._idle.clear()
        if start:
            threading.Thread(target=self._work, name="tracewidget-sweeps", daemon=True).start()
        if wait:
            future.result()
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._pending is None:
                    self._worker_busy = False
                    self._idle.set()
                    return
                job, future = self._pending
                self._pending = None
                self._running = CancelToken()
                token = self._running
            if not future.set_running_or_notify_cancel():
                continue
            try:
                with reporting_waits(self._report_wait, activity="a TraceWidget sweep"):
                    future.set_result(self._execute(job, token))
            except BaseException as err:
                future.set_exception(err)
            finally:
                with self._lock:
                    self._running = None

    def _report_wait(self, message: str | None) -> None:
        """Show in the status line that this sweep waits for another run on the model."""
        status = {key: value for key, value in self.status.items() if key != "waiting"}
        self.status = status if message is None else {**status, "waiting": message}

    def _execute(self, job: tuple[str, Any], token: CancelToken) -> list[EffectGrid] | None:
        kind, args = job
        setup = self._setup()
        if kind == "overview":
            step: Step | None = overview(setup, self.component)
            keep = 0
        else:
            view, grid_index, row, col = args
            with self._lock:
                source = self._grids[view][grid_index] if 0 <= view < len(self._grids) and \
                    0 <= grid_index < len(self._grids[view]) else None
            if source is None:
                raise ValueError(f"there is no grid {grid_index} in view {view} to refine")
            step = refine(setup, source, row, col)
            if step is None:
                self.status = {**_idle(f"{source.component} cells have no finer sweep here")}
                return None
            keep = view + 1
        return self._run_step(step, keep, token)

    def _run_step(self, step: Step, keep: int, token: CancelToken) -> list[EffectGrid]:
        """Push ``step`` after the first ``keep`` views and fill its grids as batches arrive."""
        with self._lock:
            self._grids = [*self._grids[:keep], [None] * len(step.sweeps)]
            self._previews = [*self._previews[:keep], [None] * len(step.sweeps)]
            self._steps = [*self._steps[:keep], step]
            index = len(self._grids) - 1
        started = time.perf_counter()
        self.selection = {}
        self.status = {"state": "running", "done": 0, "total": 0, "eta_seconds": None,
                       "message": step.title, "detail": ""}
        self._publish(index, show=True)
        finished: list[EffectGrid] = []
        try:
            # every grid's estimate first, so that the whole view is drawn at once
            previews = [sweep.preview for sweep in step.sweeps] if self._inputs["preview"] \
                else []
            for slot, preview in enumerate(previews):
                if preview is not None:
                    estimate = preview()
                    with self._lock:
                        self._previews[index][slot] = estimate
                        self._grids[index][slot] = estimate.with_values(
                            np.full(estimate.shape, np.nan))
            if any(previews):
                self._publish(index)
            for slot, sweep in enumerate(step.sweeps):
                def progress(done: int, total: int, partial: EffectGrid, slot: int = slot
                             ) -> None:
                    with self._lock:
                        self._grids[index][slot] = partial
                    elapsed = time.perf_counter() - started
                    left = (len(step.sweeps) - slot - 1) * total + total - done
                    eta = elapsed / max(1, slot * total + done) * left
                    self.status = {**self.status, "done": slot * total + done,
                                   "total": len(step.sweeps) * total, "eta_seconds": eta}
                    self._publish(index)

                grid = sweep.run(progress, token)
                with self._lock:
                    self._grids[index][slot] = grid
                finished.append(grid)
                self._publish(index)
        except SweepCancelled as stop:
            with self._lock:
                self._grids[index][len(finished)] = stop.partial
            self._publish(index)
            self.status = {**self.status, "state": "cancelled", "eta_seconds": None,
                           "message": f"cancelled: {step.title}"}
            raise
        except Exception as err:
            with self._lock:
                self._grids = self._grids[:index]
                self._previews = self._previews[:index]
                self._steps = self._steps[:index]
            self.views = self.views[:index]
            self.view_index = min(self.view_index, len(self.views) - 1)
            self.status = {**_idle(), "state": "error",
                           "message": f"{type(err).__name__}: {err}".split("\n")[0],
                           "detail": traceback.format_exc()}
            raise
        self.status = {**_idle(f"done: {step.title} in {time.perf_counter() - started:.1f} s"),
                       "done": self.status.get("total", 0), "total": self.status.get("total", 0)}
        return finished

    def _publish(self, index: int, show: bool = False) -> None:
        """Send the grids of view ``index`` to the frontend (and show it, if asked)."""
        with self._lock:
            step = self._steps[index]
            payloads = [grid_payload(g, key=f"{index}.{k}", title=sweep.title,
                                     refinable=sweep.refinable, preview=preview)
                        for k, (g, preview, sweep) in enumerate(zip(
                            self._grids[index], self._previews[index], step.sweeps,
                            strict=True)) if g is not None]
            self.views = [*self.views[:index],
                          {"title": step.title, "crumb": step.crumb, "grids": payloads}]
            if show:
                self.view_index = index
