"""EffectGrid: derived values, lossless JSON, pandas, plotting, and refusing bad files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracewidget as tw


def _grid(**over):
    fields = dict(values=[[0.1, 0.5], [0.9, math.nan]], row_labels=["L0", "L1"],
                  col_labels=[" Eiffel", " of"], subject=[0], clean_score=0.95,
                  corrupt_score=0.05, component="mlp", spec={"window": 10},
                  model_name="factlm")
    fields.update(over)
    return tw.EffectGrid(**fields)


def test_effects_and_normalized_follow_the_documented_signs():
    restore = _grid()
    assert np.allclose(restore.effects()[0], [0.05, 0.45])
    assert np.allclose(restore.normalized()[1, 0], (0.9 - 0.05) / 0.9)
    ablate = _grid(experiment="ablate")
    assert np.allclose(ablate.effects()[0], [0.85, 0.45])
    assert not restore.complete


def test_normalized_refuses_zero_total_effect():
    with pytest.raises(ValueError, match="total effect is 0"):
        _grid(clean_score=0.3, corrupt_score=0.3).normalized()


def test_grid_is_frozen():
    g = _grid()
    with pytest.raises(ValueError):
        g.values[0, 0] = 1.0
    with pytest.raises(AttributeError):
        g.clean_score = 1.0


def test_json_round_trip_is_exact_and_keeps_nan():
    g = _grid(values=[[1 / 3, 2 / 3], [math.pi, math.nan]], ci95=[[0.1, 0.2], [0.3, math.nan]])
    back = tw.EffectGrid.from_json(g.to_json())
    assert np.array_equal(back.values, g.values, equal_nan=True)
    assert np.array_equal(back.ci95, g.ci95, equal_nan=True)
    assert back.to_dict() == json.loads(g.to_json())
    assert back.col_labels == g.col_labels and back.subject == (0,)


@pytest.mark.parametrize("text, message", [
    ("not json", "not JSON"),
    ("[1, 2]", "not a saved EffectGrid"),
    ('{"format": "tracewidget.EffectGrid", "version": 99}', "version 99"),
])
def test_from_json_rejects_foreign_text(text, message):
    with pytest.raises(tw.GridFormatError, match=message):
        tw.EffectGrid.from_json(text)


@pytest.mark.parametrize("field, bad", [
    ("values", [[1, 2]]), ("values", "x"), ("values", [[1, "a"], [1, 2]]),
    ("clean_score", "high"), ("row_labels", None), ("experiment", "steal"),
    ("values", [[1, 2, 3], [4, 5]]),
])
def test_from_json_rejects_tampered_fields(field, bad):
    data = _grid().to_dict()
    data[field] = bad
    with pytest.raises(tw.GridFormatError):
        tw.EffectGrid.from_json(json.dumps(data))


def test_to_pandas_labels_positions_and_subject():
    frame = _grid().to_pandas()
    assert list(frame.columns) == ["0:  Eiffel*", "1:  of"]
    assert list(frame.index) == ["L0", "L1"]
    assert frame.iloc[1, 0] == 0.9


def test_plot_uses_rome_colours_and_starts_at_corrupt_score():
    import matplotlib

    matplotlib.use("Agg")
    ax = _grid().plot()
    image = ax.images[0]
    assert image.get_cmap().name == "Greens"
    assert image.norm.vmin == pytest.approx(0.05)
    assert ax.figure.axes[1].get_ylabel() == "p(answer)"
    effect_ax = _grid(component="resid").plot(values="effect")
    assert effect_ax.images[0].norm.vmin == -effect_ax.images[0].norm.vmax


def test_plot_scales_mean_the_same_in_every_plot():
    """A grid of near-zero effects is drawn near white, not saturated (its scale runs to the
    clean score, not to its own maximum); normalized effects are fixed to -1..1; the colour bar
    names the target and the title the window."""
    import matplotlib

    matplotlib.use("Agg")
    weak = _grid(values=[[0.051, 0.052], [0.053, 0.05]], spec={"window": 6, "target": " Paris"})
    ax = weak.plot()
    norm = ax.images[0].norm
    assert (norm.vmin, norm.vmax) == (pytest.approx(0.05), pytest.approx(0.95))
    assert norm(0.053) < 0.01
    assert ax.figure.axes[1].get_ylabel() == 'p(" Paris")'
    assert ax.get_title() == "restored MLP, window 6"
    normalized = weak.plot(values="normalized").images[0].norm
    assert (normalized.vmin, normalized.vmax) == (-1.0, 1.0)
    effect = weak.plot(values="effect").images[0].norm
    assert effect.vmax == pytest.approx(0.009)  # 1% of the total effect (0.9) beats 0.003
    ablated = _grid(experiment="ablate", values=[[0.9, 0.5], [0.1, 0.95]]).plot().images[0]
    assert ablated.get_cmap().name == "Greens_r"
    assert (ablated.norm.vmin, ablated.norm.vmax) == (pytest.approx(0.05), pytest.approx(0.95))


def test_plot_of_a_deep_model_labels_every_kth_layer():
    import matplotlib

    matplotlib.use("Agg")
    rows = [f"L{i}" for i in range(30)]
    ax = _grid(values=np.full((30, 2), 0.5), row_labels=rows).plot()
    assert [t.get_text() for t in ax.get_yticklabels()] == rows[::2]


labels = st.text(min_size=0, max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.data())
def test_json_round_trip_property(rows, cols, data):
    values = data.draw(st.lists(st.lists(st.one_of(finite, st.just(math.nan)), min_size=cols,
                                         max_size=cols), min_size=rows, max_size=rows))
    g = tw.EffectGrid(values=values, row_labels=data.draw(st.lists(labels, min_size=rows,
                                                                   max_size=rows)),
                      col_labels=data.draw(st.lists(labels, min_size=cols, max_size=cols)),
                      clean_score=data.draw(finite), corrupt_score=data.draw(finite),
                      subject=data.draw(st.lists(st.integers(0, cols - 1), max_size=cols)),
                      spec={"prompt": data.draw(labels)})
    back = tw.EffectGrid.from_json(g.to_json())
    assert np.array_equal(back.values, g.values, equal_nan=True)
    assert (back.row_labels, back.col_labels, back.subject, back.spec) == \
        (g.row_labels, g.col_labels, g.subject, g.spec)
    assert (back.clean_score, back.corrupt_score) == (g.clean_score, g.corrupt_score)
