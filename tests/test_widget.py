"""TraceWidget without a browser: messages in, traits out, errors, cancel, back and forward."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tracewidget as tw
from tracewidget.tracing import prompts

CLEAN = "The Eiffel Tower is located in the city of"
CORRUPT = "The Colosseum Tower is located in the city of"


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
    started = [m for m in statuses if m.startswith("mlp and attn at token")]
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
