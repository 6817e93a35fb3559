"""TraceWidget without a browser: messages in, traits out, errors, cancel, back and forward."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tracewidget as tw
from tests.prompts import CLEAN, CORRUPT
from tracewidget.tracing import default_window, prompts
from tracewidget.widget import protocol
from tracewidget.widget.protocol import Status
from tracewidget.widget.settings import default_subject


def _widget(factlm, **kwargs):
    w = tw.TraceWidget(factlm, clean=CLEAN, corrupt=CORRUPT, target=" Paris", window=3,
                       **kwargs)
    w.wait(60)
    return w


def _click(w, row, col, grid=0):
    """What the frontend sends when a cell is clicked."""
    w._on_message(w, {"type": "refine", "view": w.view_index, "grid": grid, "row": row,
                      "col": col}, [])
    w.wait(60)


def _decode(payload, field="scores"):
    return np.frombuffer(payload[field], dtype="<f4").reshape(payload["rows"], payload["cols"])


def test_overview_runs_at_once_and_matches_the_engine(factlm):
    w = _widget(factlm)
    assert w.status["state"] == "idle" and w.view_index == 0 and len(w.views) == 1
    expected = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    assert np.allclose(w.grid.values, expected.values)
    payload = w.views[0]["grids"][0]
    assert np.allclose(_decode(payload), expected.values.astype(np.float32))
    assert np.allclose(_decode(payload, "effects"), expected.effects().astype(np.float32))
    assert payload["subject"] == [1] and payload["refinable"]
    assert payload["done"] == payload["total"] == expected.values.size


def test_click_resid_then_attn_then_back_and_forward(factlm):
    w = _widget(factlm)
    _click(w, 0, 1)
    assert w.view_index == 1
    assert [g.component for g in w.grids] == ["mlp", "attn"]
    assert all(g.col_labels == (" Eiffel",) for g in w.grids)
    assert w.views[1]["crumb"] == "L0 ' Eiffel'"
    _click(w, 3, 0, grid=1)  # the attn strip: heads of layer 3
    assert w.view_index == 2 and [g.component for g in w.grids] == ["head", "head"]
    assert w.grids[0].col_name == "head" and w.grids[1].row_name == "head"
    views_before = w.views
    w._on_message(w, {"type": "navigate", "index": 1}, [])
    assert w.view_index == 1 and w.views is views_before  # nothing recomputed
    w.forward()
    assert w.view_index == 2
    w.back()
    w.back()
    assert w.view_index == 0 and w.grid.component == "resid"
    _click(w, 0, 1)  # a new click from an earlier view replaces the forward history
    assert len(w.views) == 2 and w.view_index == 1


def test_mlp_cell_refines_to_confirmed_neurons(factlm):
    w = _widget(factlm)
    _click(w, 0, 1)
    _click(w, 0, 0, grid=0)
    g = w.grid
    assert g.component == "neuron" and g.shape == (10, 1)
    assert not w.views[-1]["grids"][0]["refinable"]


def test_refine_method_is_the_same_as_a_click(factlm):
    w = _widget(factlm)
    w.refine(0, 1, wait=True)
    clicked = _widget(factlm)
    _click(clicked, 0, 1)
    assert [g.values.tolist() for g in w.grids] == [g.values.tolist() for g in clicked.grids]


def test_error_in_a_sweep_is_shown_and_the_next_click_works(factlm, monkeypatch):
    w = _widget(factlm)

    def broken(*args, **kwargs):
        raise RuntimeError("boom inside the engine")

    monkeypatch.setattr(tw.tracing, "patch_heads", broken)
    _click(w, 0, 1)
    _click(w, 3, 0, grid=1)
    assert w.status["state"] == "error"
    assert w.status["message"] == "RuntimeError: boom inside the engine"
    assert "Traceback" in w.status["detail"]
    assert len(w.views) == 2 and w.view_index == 1  # the failed view is gone, the rest stays
    monkeypatch.undo()
    _click(w, 3, 0, grid=1)
    assert w.status["state"] == "idle" and w.view_index == 2


def test_cancel_stops_within_a_batch_and_keeps_partial_cells(factlm):
    w = tw.TraceWidget(factlm, clean=CLEAN, corrupt=CORRUPT, target=" Paris", batch_size=2,
                       autorun=False)
    started = threading.Event()

    def on_status(change):
        if change["new"].get("done", 0) >= 2:
            started.set()

    w.observe(on_status, "status")
    future = w.run()
    assert started.wait(60)
    w._on_message(w, {"type": "cancel"}, [])
    w.wait(60)
    assert w.status["state"] == "cancelled"
    assert isinstance(future.exception(), tw.SweepCancelled)
    computed = np.isfinite(w.grid.values).sum()
    assert 2 <= computed < 54  # stopped between batches, the cells done so far are kept


def test_rapid_clicks_run_only_the_last_pending_one(factlm):
    w = _widget(factlm)
    statuses = []
    w.observe(lambda change: statuses.append(change["new"]["message"]), "status")
    for col in (1, 2, 3, 4, 8):  # five clicks on the overview, faster than a sweep
        w._on_message(w, {"type": "refine", "view": 0, "grid": 0, "row": 0, "col": col}, [])
    w.wait(120)
    assert len(w.views) == 2 and w.view_index == 1
    assert w.grids[0].col_labels == (" of",) and w.status["state"] == "idle"
    started = [m for m in statuses if m.startswith("computing mlp and attn at token")]
    assert 1 <= len(set(started)) <= 2  # the running sweep may finish; the others were dropped


def test_noise_trace_widget_and_value_kinds(factlm):
    w = tw.TraceWidget(factlm, prompt=CLEAN, subject="Eiffel Tower", samples=3, window=3)
    w.wait(60)
    assert w.experiment == "noise" and w.grid.spec["experiment_kind"] == "noise_trace"
    assert w.grid.subject == (1, 2)
    _click(w, 0, 2)
    assert [g.component for g in w.grids] == ["mlp", "attn"]
    assert not any(g["refinable"] for g in w.views[1]["grids"])
    _click(w, 2, 0, grid=1)  # noise traces have no corrupt prompt for heads: the path ends
    assert w.view_index == 1 and "no finer sweep" in w.status["message"]


def test_changing_a_control_reruns_the_overview(factlm):
    w = _widget(factlm)
    w.component = "mlp"
    w.wait(60)
    assert w.grid.component == "mlp" and w.grid.spec["window"] == 3 and len(w.views) == 1


@pytest.mark.parametrize("kwargs, error, message", [
    ({"clean": CLEAN}, ValueError, "needs clean= and corrupt="),
    ({"prompt": CLEAN}, ValueError, "needs subject="),
    ({"clean": CLEAN, "corrupt": CORRUPT, "target": " Paris Rome"}, prompts.PromptError,
     "2 tokens"),
    ({"clean": CLEAN, "corrupt": "The Kremlin is located in the city of"},
     prompts.PromptError, "different token counts"),
    ({"clean": CLEAN, "corrupt": CORRUPT, "metric": "logit_diff"}, tw.MetricError, "foil"),
    ({"prompt": "Z" * 200 + " " + CLEAN, "subject": "Eiffel"}, prompts.PromptError,
     "reads at most 64"),
])
def test_bad_inputs_fail_in_the_constructor(factlm, kwargs, error, message):
    with pytest.raises(error, match=message):
        tw.TraceWidget(factlm, **kwargs)


def test_repr_is_deterministic(factlm):
    w = _widget(factlm)
    assert repr(w) == ("TraceWidget(model='factlm', experiment='restore', component='resid', "
                       "view 1/1: resid, status='idle')")


def test_export_json_sends_the_grid(factlm):
    w = _widget(factlm)
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)
    w._on_message(w, {"type": "export_json", "request": "r1"}, [])
    assert sent[0]["request"] == "r1" and sent[0]["filename"].endswith(".json")
    assert tw.EffectGrid.from_json(sent[0]["text"]).values.tolist() == w.grid.values.tolist()


def test_layer_profile_follows_the_selection(factlm):
    w = _widget(factlm)
    figure = w.layer_profile()
    bars = figure.marks[0]
    w.selection = {"grid": 0, "row": 0, "col": 1}
    assert list(bars.x) == [f"L{i}" for i in range(6)]
    assert np.allclose(bars.y, w.grid.effects()[:, 1])
    assert "' Eiffel'" in figure.title


def test_preview_shows_attribution_estimates_until_exact_cells_replace_them(factlm):
    w = tw.TraceWidget(factlm, clean=CLEAN, corrupt=CORRUPT, target=" Paris", preview=True,
                       batch_size=9, autorun=False)
    seen = []
    w.observe(lambda change: seen.append(change["new"][-1]["grids"]) if change["new"] and
              change["new"][-1]["grids"] else None, "views")
    w.run(wait=True)
    estimate = tw.attribution_patch(factlm, CLEAN, CORRUPT, " Paris")
    first, last = seen[0][0], seen[-1][0]
    assert np.all(_decode(first, "estimated") == 1) and first["done"] == 0
    assert np.allclose(_decode(first), estimate.values.astype(np.float32))
    middle = next(g[0] for g in seen if 0 < g[0]["done"] < g[0]["total"])
    mask = _decode(middle, "estimated") == 1
    assert 0 < mask.sum() < mask.size  # some cells exact, the rest still estimated
    assert np.allclose(_decode(middle)[mask], estimate.values[mask].astype(np.float32))
    assert np.all(_decode(last, "estimated") == 0) and last["done"] == last["total"]
    exact = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    assert np.allclose(w.grid.values, exact.values) and "method" not in w.grid.spec


def test_preview_covers_the_strips_and_heads_views(factlm):
    w = tw.TraceWidget(factlm, clean=CLEAN, corrupt=CORRUPT, target=" Paris", preview=True,
                       batch_size=2, autorun=False)
    w.run(wait=True)
    shown = []  # (views on the stack, grids of the last view) at every update
    w.observe(lambda change: shown.append((len(change["new"]), change["new"][-1]["grids"])),
              "views")

    def first_drawn(views: int) -> list:
        return next(grids for n, grids in shown if n == views and grids)

    w.refine(3, 2, wait=True)  # resid L3 at " Tower": mlp and attn at that token
    pair = {"clean": CLEAN, "corrupt": CORRUPT, "target": " Paris"}
    for first, component in zip(first_drawn(2), ("mlp", "attn"), strict=True):
        estimate = tw.attribution_patch(factlm, component=component, window=w.window,
                                        positions=[2], **pair)
        assert np.all(_decode(first, "estimated") == 1) and first["done"] == 0
        assert np.allclose(_decode(first), estimate.values.astype(np.float32))
    assert all(np.all(_decode(g, "estimated") == 0) for g in w.views[-1]["grids"])
    exact = tw.patch(factlm, component="attn", window=w.window, positions=[2],
                     progress=False, **pair)
    assert np.allclose(w.grids[1].values, exact.values)
    w.refine(3, 0, grid=1, wait=True)  # attn L3: its heads
    heads_here, heads_by_token = first_drawn(3)
    around = list(tw.tracing.window_layers(3, w.window, 6))
    estimate = tw.attribution_patch(factlm, component="head", layers=around, position=2, **pair)
    assert np.all(_decode(heads_here, "estimated") == 1)
    assert np.allclose(_decode(heads_here), estimate.values.astype(np.float32))
    estimate = tw.attribution_patch(factlm, component="head", layer=3, **pair)
    assert np.allclose(_decode(heads_by_token), estimate.values.astype(np.float32))


# --- issue 14: scales, context, noise from the widget, interaction under load -------------------


@pytest.mark.parametrize("n_layers, window", [(1, 1), (6, 1), (12, 3), (24, 5), (30, 6),
                                              (48, 10), (80, 17)])
def test_default_window_is_romes_fraction_of_the_depth(n_layers, window):
    assert default_window(n_layers) == window


def test_the_default_window_tells_layers_apart_on_the_bundled_model(factlm):
    w = tw.TraceWidget(factlm, clean=CLEAN, corrupt=CORRUPT, target=" Paris")
    w.wait(60)
    assert w.window == 1
    w.refine(0, 1, wait=True)  # the first drill-down of the quickstart: " Eiffel"
    for grid in w.grids:
        column = grid.normalized()[:, 0]
        assert column.max() - column.min() > 0.5, (grid.component, column)  # not a solid bar


def test_panel_titles_say_what_was_patched_and_over_which_layers(factlm):
    w = _widget(factlm)
    assert w.views[0]["grids"][0]["title"] == "resid restored at each layer and token"
    w.refine(0, 2, wait=True)
    assert [g["title"] for g in w.views[1]["grids"]] == [
        "mlp restored at ' Tower', 3 layers centred on the row",
        "attn restored at ' Tower', 3 layers centred on the row"]
    w.refine(3, 0, grid=1, wait=True)
    assert [g["title"] for g in w.views[2]["grids"]] == [
        "single heads restored at ' Tower', layers L2-L4",
        "single heads of L3 restored at each token"]
    noise = tw.TraceWidget(factlm, prompt=CLEAN, subject="Eiffel", samples=2, window=3,
                           component="mlp")
    noise.wait(60)
    assert noise.views[0]["grids"][0]["title"] == (
        "mlp restored at each layer and token, 3 layers centred on the row, 2 noise samples")


def test_every_view_carries_its_context_and_the_target_in_the_metric(factlm):
    w = _widget(factlm)
    context = dict(w.views[0]["context"])
    assert context["model"] == "factlm (6 layers)"
    assert context["clean"] == CLEAN and context["corrupt"] == CORRUPT
    assert context["target"] == '" Paris"' and context["metric"] == 'p(" Paris")'
    assert w.views[0]["grids"][0]["metric_label"] == 'p(" Paris")'
    untargeted = tw.TraceWidget(factlm, prompt=CLEAN, subject="Eiffel Tower", samples=2)
    untargeted.wait(60)
    context = dict(untargeted.views[0]["context"])
    assert context["subject"] == "Eiffel Tower" and context["target"] == '" Paris"'
    assert context["noise"].startswith("3 x the embeddings' std, 2 samples")


def test_the_subject_defaults_to_where_the_prompts_differ(factlm):
    w = _widget(factlm)
    assert w.subject == "Eiffel"
    assert default_subject(factlm, CLEAN, "The Kremlin is located in the city of", True) == \
        "Eiffel Tower"


def test_noise_trace_from_the_controls_uses_the_subject_field(factlm):
    w = _widget(factlm, samples=2)
    w.experiment = "noise"
    w.wait(60)
    assert w.status["state"] == "idle", w.status
    assert w.grid.spec["experiment_kind"] == "noise_trace" and w.grid.subject == (1,)
    w.subject = "Eiffel Tower"
    w.wait(60)
    assert w.grid.spec["subject"] == "Eiffel Tower" and w.grid.subject == (1, 2)


def test_a_failed_switch_puts_the_controls_back_to_what_is_drawn(factlm):
    w = _widget(factlm)
    w.subject = ""
    w.wait(60)
    w.experiment = "noise"  # no subject: a noise trace cannot run
    assert w.status["state"] == "error" and "subject" in w.status["message"]
    assert w.experiment == "restore" and w.grid.experiment == "restore"
    w.experiment = "noise"
    w.subject = "Louvre"  # not in the prompt: still restore on screen, the subject field back
    assert w.experiment == "restore" and w.subject == ""
    assert "Louvre" in w.status["message"] and len(w.views) == 1


def test_errors_while_a_click_is_planned_reach_the_status(factlm):
    w = _widget(factlm)
    _click(w, 17, 1)  # outside the grid: refine() raises before any sweep starts
    assert w.status["state"] == "error" and "outside the 6 x 9 grid" in w.status["message"]
    assert w.view_index == 0 and len(w.views) == 1


def _slowed(model, seconds: float):
    """Slow every forward of ``model`` by ``seconds`` (a sweep to watch mid-way). The hook is on
    the base model: a local sweep's batches run it alone (their scores are read from its final
    hidden states), recordings run it inside the whole model."""
    return model._module.base_model.register_forward_hook(lambda *args: time.sleep(seconds))


def test_a_click_during_a_sweep_keeps_the_view_until_the_new_one_has_cells(factlm):
    w = _widget(factlm, batch_size=1)
    overview_payload = w.views[0]
    shown = []  # (view on screen, cells computed in it) at every change

    def on_change(change):
        view = w.views[w.view_index]
        shown.append((w.view_index, sum(g["done"] for g in view["grids"])))

    w.observe(on_change, ["views", "view_index"])
    handle = _slowed(factlm, 0.05)
    try:
        w._on_message(w, {"type": "refine", "view": 0, "grid": 0, "row": 1, "col": 8}, [])
        w._on_message(w, {"type": "refine", "view": 0, "grid": 0, "row": 1, "col": 2}, [])
        assert w.status["clicked"] == {"view": 0, "grid": 0, "row": 1, "col": 2, "queued": True}
        assert "L1 ' Tower' of resid" in w.status["pending"]
        w._on_message(w, {"type": "refine", "view": 0, "grid": 0, "row": 2, "col": 2}, [])
        assert "replaces the earlier pending click" in w.status["pending"]
        w.wait(120)
    finally:
        handle.remove()
    assert w.views[0] is overview_payload or w.views[0] == overview_payload
    assert any(index == 1 for index, _ in shown)
    assert all(done > 0 for _, done in shown), "never an empty view on screen"
    assert w.grids[0].col_labels == (" Tower",) and w.status["clicked"] is None


def test_every_panel_of_a_view_is_there_from_its_first_update(factlm):
    w = _widget(factlm, batch_size=1)
    first = []
    w.observe(lambda change: first.append(change["new"][-1]["grids"]) if len(change["new"]) == 2
              and not first else None, "views")
    w.refine(1, 2, wait=True)
    titles = [g["title"] for g in first[0]]
    assert len(titles) == 2 and first[0][1]["done"] == 0  # attn laid out, no cell yet
    final = w.views[1]["grids"]
    for laid, done in zip(first[0], final, strict=True):
        for key in ("row_labels", "col_labels", "subject", "rows", "cols", "row_name",
                    "col_name"):
            assert laid[key] == done[key], key
    w.refine(3, 0, grid=1, wait=True)
    heads = w.views[2]["grids"]
    from tracewidget.widget.drilldown import refine as plan
    step = plan(w.settings, w._views[1].grids[1], 3, 0)
    for sweep, done in zip(step.sweeps, heads, strict=True):
        assert list(sweep.layout.row_labels) == done["row_labels"]
        assert list(sweep.layout.col_labels) == done["col_labels"]


def test_cancel_then_resume_gives_the_uninterrupted_grid(factlm):
    w = tw.TraceWidget(factlm, clean=CLEAN, corrupt=CORRUPT, target=" Paris", batch_size=2,
                       autorun=False)
    started = threading.Event()
    w.observe(lambda change: started.set() if change["new"].get("done", 0) >= 4 else None,
              "status")
    w.run()
    assert started.wait(60)
    w.cancel()
    w.wait(60)
    assert w.status["state"] == "cancelled" and w.status["resumable"]
    partial = w.grid.values.copy()
    assert 0 < np.isfinite(partial).sum() < partial.size
    assert "Resume continues" in w.views[0]["summary"]
    computed = []
    w.observe(lambda change: computed.append(change["new"].get("done", 0)), "status")
    w._on_message(w, {"type": "resume"}, [])
    w.wait(60)
    assert w.status["state"] == "idle"
    exact = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    # float32 sums of other batch layouts (the widget reuses its recordings) differ in the last
    # bits; a wrong cell would differ by orders of magnitude more
    assert np.allclose(w.grid.values, exact.values, rtol=1e-4, atol=1e-6)
    kept = np.isfinite(partial)
    assert np.array_equal(w.grid.values[kept], partial[kept])  # the kept cells, not recomputed


def test_noise_progress_sends_samples_and_spread(factlm):
    w = tw.TraceWidget(factlm, prompt=CLEAN, subject="Eiffel Tower", samples=4, batch_size=4,
                       autorun=False)
    seen, summaries = [], []
    w.observe(lambda change: seen.append(change["new"][-1]["grids"][0])
              if change["new"] and change["new"][-1]["grids"] else None, "views")
    w.observe(lambda change: summaries.append(change["new"][-1]["summary"])
              if change["new"] else None, "views")
    w.run(wait=True)
    last = seen[-1]
    assert last["samples"] == 4 and last["samples_done"] == 4
    assert _decode(last, "ci95").shape == (6, 9)
    assert any(g["samples_done"] is not None and g["samples_done"] < 4 for g in seen)
    # the status line (the view's summary while it computes) says how many samples are in
    assert "computing: 3/4 noise samples in, 162/216 runs" in summaries, summaries


def test_status_is_one_type_with_the_protocol_fields(factlm):
    w = _widget(factlm)
    assert set(w.status) == {f.name for f in dataclasses.fields(Status)} - {"waiting"}
    assert Status.from_trait(w.status).to_trait() == w.status
    js = (Path(__file__).resolve().parents[1] / "js" / "protocol.js").read_text()
    for name in protocol.MESSAGES + protocol.STATES + protocol.SCALES:
        assert f'"{name}"' in js, name


def test_metric_labels_name_the_tokens(factlm):
    grid = tw.patch(factlm, CLEAN, CORRUPT, " Paris", metric="logit_diff", foil=" Rome",
                    positions=[8], progress=False)
    assert grid.axis_label() == 'logit(" Paris") - logit(" Rome")'


def _held(model):
    """Hold every forward of ``model`` until ``release`` is set; ``started`` is set by the
    first one (a sweep caught mid-way, however fast the machine)."""
    started, release = threading.Event(), threading.Event()

    def hold(*args):
        started.set()
        assert release.wait(60), "the test never released the sweep"

    return started, release, model._module.base_model.register_forward_hook(hold)


def test_an_invalid_control_during_a_sweep_stays_on_screen_after_the_sweep(factlm):
    w = _widget(factlm, samples=2)
    started, release, handle = _held(factlm)
    try:
        w.component = "mlp"  # valid: its overview starts and is held mid-sweep
        assert started.wait(60)
        w.subject = ""  # valid for restore: a second rerun, queued behind the first
        w.experiment = "noise"  # no subject: invalid, said while both reruns are in flight
        assert w.status["state"] == "error" and "subject" in w.status["message"]
    finally:
        release.set()
        handle.remove()
    w.wait(60)
    assert w.status["state"] == "error" and "subject" in w.status["message"], w.status
    assert w.experiment == "restore" and w.grid.component == "mlp"  # the reruns still landed
    assert "cells in" in w.views[0]["summary"]  # the status line shows it beside the error
    w.subject = "Eiffel"  # the next change the user makes replaces the error
    w.wait(60)
    assert w.status["state"] == "idle" and w.status["message"].startswith("done")


def test_cancel_after_an_invalid_control_offers_resume(factlm):
    w = _widget(factlm, batch_size=1)
    started, release, handle = _held(factlm)
    try:
        w.component = "attn"
        assert started.wait(60)
        w.subject = "Louvre"  # not in the prompt: an error while the rerun is held
        w.cancel()  # a later action than the error: its "cancelled" (and Resume) shows
    finally:
        release.set()
        handle.remove()
    w.wait(60)
    assert w.status["state"] == "cancelled" and w.status["resumable"], w.status
