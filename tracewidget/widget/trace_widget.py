"""`TraceWidget`: clickable causal-tracing heatmaps that drill down, in a notebook.

The widget holds traits and runs sweeps; it computes no effects. Every grid comes from the engine
(`tracewidget.tracing`) through the plan in `drilldown`. Sweeps run on one worker thread, so the
notebook stays usable while cells fill in. A click during a sweep *replaces the pending click*:
the running sweep finishes (or is cancelled with Cancel), then only the latest click runs. The
view on screen stays until the new one has its first cells, so a click never blanks the widget.
"""

from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from tracewidget.models.architectures import shape
from tracewidget.models.loading import display_name
from tracewidget.models.sharing import reporting_waits
from tracewidget.tracing.experiments import default_window
from tracewidget.tracing.grid import EffectGrid
from tracewidget.tracing.metrics import METRICS
from tracewidget.tracing.reuse import RunCache, reusing
from tracewidget.tracing.sweep import CancelToken, SweepCancelled

from . import protocol
from .drilldown import Step, overview, refine
from .payload import grid_payload
from .protocol import Status
from .settings import (
    COMPONENTS,
    CONTROLS,
    EXPERIMENTS,
    Settings,
    default_subject,
)

STATIC = Path(__file__).resolve().parent.parent / "static"


@dataclass
class _View:
    """One view of the breadcrumb: its plan, the settings it was computed with, its grids (the
    layouts until cells arrive), their attribution estimates, and a line saying where it is."""

    step: Step
    settings: Settings
    grids: list[EffectGrid | None]
    previews: list[EffectGrid | None]
    summary: str = "computing…"


@dataclass(frozen=True)
class _Job:
    """What the worker runs: the overview, the sweep below a clicked cell (view, grid, row,
    col), or the rest of a cancelled view."""

    kind: str
    cell: tuple[int, int, int, int] | None = None


@dataclass
class _ResumePoint:
    """Where a cancelled view stopped: its slot, and the engine's partial grid for it (None
    where the engine cannot continue that sweep, or it had no cell yet: it runs again)."""

    view: _View
    index: int
    slot: int
    partial: EffectGrid | None = None


class TraceWidget(anywidget.AnyWidget):
    """Causal tracing you click through.

    ``TraceWidget(model, clean=..., corrupt=..., target=...)`` patches between two prompts
    (``experiment="restore"`` or ``"ablate"``); ``TraceWidget(model, prompt=..., subject=...)``
    runs a ROME noise trace. The overview (``component`` by layer and token) starts at once;
    clicking a cell runs the finer sweep below it (see `tracewidget.widget.drilldown`).
    ``w.grid`` is the EffectGrid in view; ``w.refine(row, col, wait=True)`` does what a click does.
    With ``preview=True`` each view of restore and ablate (overview, strips, heads) first shows
    an attribution-patching estimate (one backward pass), drawn faded, which exact cells replace
    as they arrive. ``window`` defaults to ROME's 10 of 48 layers scaled to the model's depth
    (`tracing.default_window`); the subject field defaults to the words where the clean and
    corrupt prompts differ, so switching to a noise trace needs nothing typed.
    """

    _esm = STATIC / "widget.js"

    views = traitlets.List(traitlets.Dict()).tag(sync=True)
    view_index = traitlets.Int(-1).tag(sync=True)
    status = traitlets.Dict(Status().to_trait()).tag(sync=True)
    selection = traitlets.Dict().tag(sync=True)
    value_kind = traitlets.Enum(protocol.VALUE_KINDS, "score").tag(sync=True)
    colour_scale = traitlets.Enum(protocol.SCALES, "shared").tag(sync=True)
    experiment = traitlets.Enum(EXPERIMENTS, "restore").tag(sync=True)
    component = traitlets.Enum(COMPONENTS, "resid").tag(sync=True)
    metric = traitlets.Enum(METRICS, "prob").tag(sync=True)
    window = traitlets.Int(1).tag(sync=True)
    samples = traitlets.Int(10).tag(sync=True)
    subject = traitlets.Unicode("").tag(sync=True)

    def __init__(self, model: Any, clean: str | None = None, corrupt: str | None = None,
                 target: str | None = None, *, prompt: str | None = None,
                 subject: str | None = None, foil: str | None = None,
                 experiment: str | None = None, component: str = "resid",
                 metric: str = "prob", window: int | None = None, samples: int = 10,
                 noise: float = 3.0, seed: int = 0, align: bool = False,
                 batch_size: int | None = None, preview: bool = False, autorun: bool = True,
                 **kwargs: Any) -> None:
        if prompt is not None and clean is not None:
            raise ValueError("give either clean= and corrupt= (patching) or prompt= and "
                             "subject= (noise trace), not both")
        text = prompt if prompt is not None else clean
        settings = Settings(
            model=model, clean=text, corrupt=corrupt, target=target, foil=foil,
            subject=subject or default_subject(model, text, corrupt, align),
            experiment=experiment or ("noise" if prompt is not None else "restore"),
            component=component, metric=metric,
            window=default_window(shape(model).n_layers) if window is None else window,
            samples=samples, noise=noise, seed=seed, align=align, batch_size=batch_size,
            preview=preview)
        settings.validate()
        self._settings = settings
        super().__init__(**settings.controls(), **kwargs)
        self._views: list[_View] = []
        self._lock = threading.RLock()
        self._pending: tuple[_Job, Future, int] | None = None
        self._submitted = 0  # jobs submitted so far; each job is numbered by it
        self._job_number = 0  # the number of the job the worker runs
        self._error_after = 0  # jobs submitted when the error on screen was raised
        self._running: CancelToken | None = None
        self._resume_point: _ResumePoint | None = None
        self._showing_controls = False
        self._worker_busy = False
        self._idle = threading.Event()
        self._idle.set()
        # the recordings of the overview's prompts, reused by the sweeps of its clicks
        self._runs = RunCache()
        self.on_msg(self._on_message)
        self.observe(self._controls_changed, list(CONTROLS))
        if autorun:
            self.run()

    # --- settings -------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings the next overview runs with (the constructor's, changed by controls)."""
        return self._settings

    def _controls_changed(self, change: dict) -> None:
        """A control changed: rerun the overview, or (invalid settings) say why and put the
        controls back to what the view on screen shows."""
        if self._showing_controls:
            return
        wanted = self._settings.with_controls(**{name: getattr(self, name) for name in CONTROLS})
        try:
            wanted.validate()
        except ValueError as err:
            self._set_status(state="error", message=f"{type(err).__name__}: {err}",
                             detail="", view=self.view_index)
            self._show_controls(self._settings)
            return
        self._settings = wanted
        self.run()

    def _show_controls(self, settings: Settings) -> None:
        """Set the control traits to ``settings`` without rerunning anything."""
        self._settings = settings
        self._showing_controls = True
        try:
            with self.hold_trait_notifications():
                for name, value in settings.controls().items():
                    setattr(self, name, value)
        finally:
            self._showing_controls = False

    # --- public API -----------------------------------------------------------------------

    @property
    def grid(self) -> EffectGrid | None:
        """The (first) EffectGrid of the view on screen; None before anything is computed."""
        grids = self.grids
        return grids[0] if grids else None

    @property
    def grids(self) -> list[EffectGrid]:
        """Every computed EffectGrid of the view on screen (two when panels are side by
        side; a panel whose sweep has not started yet is left out)."""
        with self._lock:
            if not 0 <= self.view_index < len(self._views):
                return []
            view = self._views[self.view_index]
            return [g for g, sweep in zip(view.grids, view.step.sweeps, strict=True)
                    if g is not None and g is not sweep.layout]

    def run(self, wait: bool = False) -> Future:
        """(Re)start from the overview with the current controls; clears the breadcrumb once
        its first cells are in."""
        return self._submit(_Job("overview"), wait)

    def refine(self, row: int, col: int, grid: int = 0, wait: bool = False) -> Future:
        """Exactly what clicking cell (``row``, ``col``) of grid ``grid`` of the current view
        does. With ``wait=True``, block until the sweep is done and raise its error, if any."""
        return self._submit(_Job("refine", (self.view_index, grid, row, col)), wait)

    def resume(self, wait: bool = False) -> Future:
        """Continue the cancelled sweep from the cells it had computed (what Resume does)."""
        return self._submit(_Job("resume"), wait)

    def wait(self, timeout: float | None = None) -> None:
        """Block until no sweep is running or pending (for scripts and tests)."""
        if not self._idle.wait(timeout):
            raise TimeoutError(f"the widget was still busy after {timeout} s")

    def cancel(self) -> None:
        """Stop the running sweep between batches and drop the pending one."""
        with self._lock:
            pending, self._pending = self._pending, None
            self._error_after = 0  # Cancel comes after the error: its own status shows
            if self._running is not None:
                self._running.cancel()
        if pending is not None:
            pending[1].cancel()
            self._set_status(pending="", clicked=None)

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
        crumbs = " > ".join(v["crumb"] for v in self.views[: self.view_index + 1])
        where = f"view {self.view_index + 1}/{len(self.views)}: {crumbs}" if self.views \
            else "no view yet"
        model = display_name(self._settings.model)
        return (f"TraceWidget(model={model!r}, experiment={self.experiment!r}, "
                f"component={self.component!r}, {where}, status={self.status.get('state')!r})")

    # --- messages from the frontend -------------------------------------------------------

    def _on_message(self, _widget: Any, content: dict, buffers: list) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == protocol.REFINE:
                self._submit(_Job("refine", (int(content["view"]), int(content.get("grid", 0)),
                                             int(content["row"]), int(content["col"]))), False)
            elif kind == protocol.CANCEL:
                self.cancel()
            elif kind == protocol.RESUME:
                self.resume()
            elif kind == protocol.NAVIGATE:
                self.navigate(int(content["index"]))
            elif kind == protocol.EXPORT_JSON:
                self._export_json(str(content.get("request", "")))
        except (KeyError, TypeError, ValueError) as err:
            self._set_status(state="error", message=f"bad message: {err}", detail="")

    def _export_json(self, request: str) -> None:
        grids = self.grids
        if not grids:
            return
        crumb = self.views[self.view_index]["crumb"] if self.views else "grid"
        text = grids[0].to_json(indent=1) if len(grids) == 1 else \
            "[" + ",\n".join(g.to_json(indent=1) for g in grids) + "]"
        safe = "".join(ch if ch.isalnum() else "_" for ch in crumb).strip("_") or "grid"
        self.send({"type": protocol.EXPORT_JSON, "request": request,
                   "filename": f"tracewidget_{safe}.json", "text": text})

    # --- status ---------------------------------------------------------------------------

    def _set_status(self, **changes: Any) -> None:
        """Change some fields of the status trait (the one place it is written).

        An error stays on screen until a job submitted after it writes the status. An invalid
        control is refused while earlier jobs run or wait, and their starts and ends ("running",
        "done") would otherwise replace the error before anyone read it; those jobs still
        update their views, whose summaries the status line shows beside the error.
        """
        with self._lock:
            status = Status.from_trait(self.status)
            if changes.get("state") == "error":
                self._error_after = self._submitted
            elif (status.state == "error" and "state" in changes
                  and self._job_number <= self._error_after):
                changes = {k: v for k, v in changes.items()
                           if k not in ("state", "message", "detail", "view")}
            self.status = status.replace(**changes).to_trait()

    def _report_wait(self, message: str | None) -> None:
        """Show in the status line that this sweep waits for another run on the model."""
        self._set_status(waiting=message)

    def _describe_job(self, job: _Job) -> str:
        """A queued job in words: "L3 ' Tower' of resid" or "the overview"."""
        if job.cell is None:
            return "the overview with the new settings" if job.kind == "overview" else "Resume"
        view, grid, row, col = job.cell
        with self._lock:
            source = self._grid_at(view, grid)
        if source is None or not (0 <= row < source.shape[0] and 0 <= col < source.shape[1]):
            return f"cell ({row}, {col})"
        return f"{source.row_labels[row]} {source.col_labels[col]!r} of {source.component}"

    # --- the worker -----------------------------------------------------------------------

    def _submit(self, job: _Job, wait: bool) -> Future:
        future: Future = Future()
        with self._lock:
            replaced = self._pending is not None
            if replaced:
                self._pending[1].cancel()
            self._submitted += 1
            self._pending = (job, future, self._submitted)
            queued = self._worker_busy
            self._worker_busy = True
            self._idle.clear()
        if queued:
            note = ("it replaces the earlier pending click" if replaced
                    else "a later click replaces it")
            self._set_status(pending=f"next: {self._describe_job(job)}, when the running sweep "
                             f"ends; {note}", clicked=self._clicked(job, queued=True))
        else:
            threading.Thread(target=self._work, name="tracewidget-sweeps", daemon=True).start()
        if wait:
            future.result()
        return future

    @staticmethod
    def _clicked(job: _Job, queued: bool) -> dict | None:
        if job.cell is None:
            return None
        view, grid, row, col = job.cell
        return {"view": view, "grid": grid, "row": row, "col": col, "queued": queued}

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._pending is None:
                    self._worker_busy = False
                    self._idle.set()
                    return
                job, future, self._job_number = self._pending
                self._pending = None
                self._running = CancelToken()
                token = self._running
            if not future.set_running_or_notify_cancel():
                continue
            self._set_status(pending="", clicked=self._clicked(job, queued=False))
            try:
                with reporting_waits(self._report_wait, activity="a TraceWidget sweep"), \
                        reusing(self._runs):
                    future.set_result(self._execute(job, token))
            except SweepCancelled as stop:
                future.set_exception(stop)
            except Exception as err:
                self._failed(job, err)
                future.set_exception(err)
            finally:
                with self._lock:
                    self._running = None

    def _failed(self, job: _Job, err: Exception) -> None:
        """Show ``err`` (from planning or from a sweep) and, after a failed overview, put the
        controls back to what the view on screen shows."""
        with self._lock:
            on_screen = self._views[self.view_index].settings \
                if 0 <= self.view_index < len(self._views) else None
        if job.kind == "overview" and on_screen is not None:
            self._show_controls(on_screen)
        self._set_status(state="error", message=f"{type(err).__name__}: {err}".split("\n")[0],
                         detail=traceback.format_exc(), done=0, total=0, eta_seconds=None,
                         clicked=None, resumable=False, view=self.view_index)

    def _grid_at(self, view: int, grid: int) -> EffectGrid | None:
        if not (0 <= view < len(self._views) and 0 <= grid < len(self._views[view].grids)):
            return None
        return self._views[view].grids[grid]

    def _execute(self, job: _Job, token: CancelToken) -> list[EffectGrid] | None:
        if job.kind == "resume":
            return self._resume(token)
        self._resume_point = None  # another job: the cancelled view is no longer resumable
        if job.kind == "overview":
            self._runs.clear()  # a new overview records afresh (e.g. after editing weights)
            settings = self._settings
            view = _View(overview(settings), settings, [], [])
            return self._run_step(view, 0, token)
        view_index, grid_index, row, col = job.cell
        with self._lock:
            source = self._grid_at(view_index, grid_index)
            settings = self._views[view_index].settings if source is not None else None
        if source is None:
            raise ValueError(f"there is no grid {grid_index} in view {view_index} to refine")
        step = refine(settings, source, row, col)
        if step is None:
            self._set_status(state="idle", message=f"{source.component} cells have no finer "
                             "sweep here", clicked=None, view=view_index, done=0, total=0)
            return None
        return self._run_step(_View(step, settings, [], []), view_index + 1, token)

    def _resume(self, token: CancelToken) -> list[EffectGrid]:
        with self._lock:
            point, self._resume_point = self._resume_point, None
        if point is None:
            raise ValueError("there is no cancelled sweep to resume")
        return self._run_step(point.view, point.index, token, start=point.slot,
                              resume=point.partial)

    def _run_step(self, view: _View, index: int, token: CancelToken, start: int = 0,
                  resume: EffectGrid | None = None) -> list[EffectGrid]:
        """Compute ``view``'s sweeps from slot ``start`` (continuing ``resume`` there) and put
        the view at ``index`` of the breadcrumb once it has its first cells; the view on screen
        stays until then."""
        step = view.step
        if not view.grids:
            view.grids = [sweep.layout for sweep in step.sweeps]
            view.previews = [None] * len(step.sweeps)
        started = time.perf_counter()
        self._set_status(state="running", message=f"computing {step.title}", done=0, total=0,
                         eta_seconds=None, detail="", resumable=False, view=index)
        view.summary = "computing…"
        slot = start
        try:
            if self._settings.preview and start == 0 and resume is None:
                self._estimate(view, index)
            for slot in range(start, len(step.sweeps)):
                self._run_sweep(view, index, slot, token, started,
                                resume if slot == start else None)
        except SweepCancelled as stop:
            self._cancelled(view, index, slot, stop.partial)
            raise
        except Exception:
            self._drop(view, index)
            raise
        seconds = time.perf_counter() - started
        cells = sum(g.values.size for g in view.grids if g is not None)
        view.summary = f"{cells} cells in {seconds:.1f} s"
        self._publish(view, index)
        self._set_status(state="idle", message=f"done: {step.title} in {seconds:.1f} s",
                         eta_seconds=None, clicked=None, view=index)
        return [g for g in view.grids if g is not None]

    def _estimate(self, view: _View, index: int) -> None:
        """Every panel's attribution estimate first, so that the whole view is drawn at once."""
        for slot, sweep in enumerate(view.step.sweeps):
            if sweep.preview is not None:
                estimate = sweep.preview()
                with self._lock:
                    view.previews[slot] = estimate
                    view.grids[slot] = estimate.with_values(np.full(estimate.shape, np.nan))
        if any(p is not None for p in view.previews):
            self._publish(view, index)

    def _run_sweep(self, view: _View, index: int, slot: int, token: CancelToken,
                   started: float, resume: EffectGrid | None) -> None:
        n = len(view.step.sweeps)

        def progress(done: int, total: int, partial: EffectGrid) -> None:
            with self._lock:
                view.grids[slot] = partial
            elapsed = time.perf_counter() - started
            left = (n - slot - 1) * total + total - done
            eta = elapsed / max(1, slot * total + done) * left
            samples_in = partial.spec.get("samples_done")
            samples = "" if samples_in is None else \
                f"{samples_in}/{partial.spec['samples']} noise samples in, "
            view.summary = f"computing: {samples}{done}/{total} runs"
            self._set_status(done=slot * total + done, total=n * total, eta_seconds=eta)
            self._publish(view, index)

        grid = view.step.sweeps[slot].run(progress, token, resume)
        with self._lock:
            view.grids[slot] = grid
        self._publish(view, index)

    def _cancelled(self, view: _View, index: int, slot: int, partial: EffectGrid) -> None:
        """Keep the cells computed so far on screen and offer Resume from them."""
        computed = int(np.isfinite(partial.values).sum())
        with self._lock:
            view.grids[slot] = partial
            shown = index < len(self._views) and self._views[index] is view
        sweep = view.step.sweeps[slot]
        kept = partial if sweep.resumable and computed else None
        self._resume_point = _ResumePoint(view, index, slot, kept)
        view.summary = (f"cancelled at {computed}/{partial.values.size} cells of {sweep.title}; "
                        + ("Resume continues from them" if kept else "Resume runs it again"))
        if computed or shown:
            self._publish(view, index)
        self._set_status(state="cancelled", eta_seconds=None, clicked=None, resumable=True,
                         message=f"cancelled: {view.summary}", view=index)

    def _drop(self, view: _View, index: int) -> None:
        """Take a failed view off the breadcrumb (if it was on it)."""
        with self._lock:
            if index < len(self._views) and self._views[index] is view:
                self._views = self._views[:index]
                self.views = self.views[:index]
                self.view_index = min(self.view_index, len(self.views) - 1)

    def _publish(self, view: _View, index: int) -> None:
        """Send ``view``'s grids to the frontend; the first time, put it on the breadcrumb at
        ``index`` (dropping the views after it) and show it."""
        with self._lock:
            first = not (index < len(self._views) and self._views[index] is view)
            if first:
                self._views = [*self._views[:index], view]
            grids = [(k, g, preview, sweep) for k, (g, preview, sweep) in enumerate(zip(
                view.grids, view.previews, view.step.sweeps, strict=True)) if g is not None]
            payloads = [grid_payload(g, key=f"{index}.{k}", title=sweep.title,
                                     refinable=sweep.refinable, preview=preview)
                        for k, g, preview, sweep in grids]
            computed = [g for _, g, _, sweep in grids if g is not sweep.layout]
            target = computed[0].spec.get("target") if computed else None
            context = view.settings.context(target)
            if computed:
                context.append(["metric", computed[0].axis_label()])
            self.views = [*self.views[:index],
                          {"title": view.step.title, "crumb": view.step.crumb,
                           "summary": view.summary, "context": context, "grids": payloads}]
            if first:
                self.selection = {}
                self.view_index = index
                if self.status.get("clicked"):
                    self._set_status(clicked=None)
