"""Before/after screenshots of the widget's three worst cases of issue 14 (strips, heads, noise).

    . .venv/bin/activate && python scripts/before_after_screenshots.py \
        [--out docs/screenshots/widget-before-after] [--before 8605ba8] [--cache states.pkl]

The grids are computed once, with the current engine, on SmolLM2-135M (``tw.load_model("smollm2")``)
for clean "The Eiffel Tower is located in the city of", corrupt "The Space Needle is located in
the city of", target " Paris", window 10 (the old default, so both sides draw the same grids):

- strips: the mlp and attn strips below a click on the subject token 'iffel' of the overview;
- heads: the heads view below a click on the strongest attn cell of the strips at ' of';
- noise: "before", the restore overview with the experiment switched to "noise trace" and the
  error the widget of ``--before`` gave without ``subject=``; "after", the same switch in the
  current widget (subject defaulted from the prompts), caught while 3 of 10 samples are in.

Each state is drawn by two frontend bundles: ``git show <before>:tracewidget/static/widget.js``
(fed the trait shapes its Python published: its panel titles, "p(answer)" and its status dict)
and the working tree's tracewidget/static/widget.js. They render from a static embed of the
widget's state (no kernel) in Debian's Chromium through Playwright, and each screenshot is cropped
to the widget; one over 150 KB is quantized to 256 colours. It needs the npm devDependencies
(``npm ci``: html-manager and requirejs) and /usr/bin/chromium. It took 11 minutes on 2 cores
shared with other jobs; ``--cache`` keeps the computed states in a pickle, so a rerun only renders.
"""

from __future__ import annotations

import argparse
import copy
import pickle
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

REPO = Path(__file__).resolve().parents[1]
CLEAN = "The Eiffel Tower is located in the city of"
CORRUPT = "The Space Needle is located in the city of"
TARGET = " Paris"
MAX_BYTES = 150_000


def _snapshot(w: Any) -> dict:
    return {"views": copy.deepcopy(w.views), "view_index": w.view_index,
            "status": dict(w.status)}


def compute_states() -> dict:
    """Every state to draw, from one widget driven as a user would (clicks, then the switch)."""
    import tracewidget as tw

    w = tw.TraceWidget(tw.load_model("smollm2"), CLEAN, CORRUPT, target=TARGET, window=10,
                       autorun=False)
    w.run(wait=True)
    states = {"overview": _snapshot(w)}
    overview = w.grid

    def click_resid(token: str) -> None:
        col = overview.col_labels.index(token)
        w.navigate(0)
        w.refine(int(np.nanargmax(overview.values[:, col])), col, wait=True)

    click_resid("iffel")
    states["strips"] = _snapshot(w)
    click_resid(" of")
    attn = w.grids[1]
    layer = int(np.nanargmax(attn.effects()[:, 0]))
    w.refine(layer, 0, grid=1, wait=True)
    states["heads"] = {**_snapshot(w), "layer": layer}

    w.navigate(0)
    filling: list[dict] = []

    def grab(change: dict) -> None:
        grids = change["new"][-1]["grids"] if change["new"] else []
        if grids and grids[0].get("samples_done") is not None:
            filling.append({"views": copy.deepcopy(change["new"]),
                            "view_index": len(change["new"]) - 1, "status": dict(w.status)})

    w.observe(grab, "views")
    w.experiment = "noise"
    w.wait()
    partial = [s for s in filling if 3 <= s["views"][-1]["grids"][0]["samples_done"] < w.samples]
    states["noise"] = (partial or filling)[0]
    states["noise"]["controls"] = {k: getattr(w, k) for k in ("experiment", "subject", "samples")}
    return states


def as_before(views: list[dict], heads_layer: int | None = None) -> list[dict]:
    """``views`` as the old Python published them: its panel titles, the metric label
    "p(answer)", no summary, context or noise-sample fields."""
    out = []
    for i, view in enumerate(views):
        grids = []
        for g in view["grids"]:
            g = {k: v for k, v in g.items() if k not in ("ci95", "samples", "samples_done")}
            g["metric_label"] = "p(answer)"
            if i == 0:
                g["title"] = f"{g['component']} ({g['experiment']})"
            elif g["component"] == "head":
                token = views[i - 1]["grids"][0]["col_labels"][0]
                g["title"] = f"heads at {token!r}" if g["row_name"] == "layer" \
                    else f"heads of L{heads_layer} by token"
            else:
                g["title"] = f"{g['component']} at {g['col_labels'][0]!r}"
            grids.append(g)
        out.append({"title": view["title"], "crumb": view["crumb"], "grids": grids})
    return out


def before_status(message: str, state: str = "idle", cells: int = 0) -> dict:
    return {"state": state, "done": cells, "total": cells, "eta_seconds": None,
            "message": message, "detail": ""}


def pages(states: dict, old_esm: str, new_esm: str) -> dict[str, tuple[str, dict]]:
    """Each screenshot's bundle and widget state."""
    new = {"selection": {}, "value_kind": "score", "colour_scale": "shared",
           "experiment": "restore", "component": "resid", "metric": "prob", "window": 10,
           "samples": 10, "subject": "Eiffel Tower"}
    old = {k: v for k, v in new.items() if k not in ("colour_scale", "subject")}
    out = {}
    for name in ("strips", "heads"):
        s = states[name]
        cells = sum(g["total"] for g in s["views"][s["view_index"]]["grids"])
        out[f"{name}_before"] = (old_esm, {
            **old, "views": as_before(s["views"], s.get("layer")), "view_index": s["view_index"],
            "status": before_status(s["status"]["message"], cells=cells)})
        out[f"{name}_after"] = (new_esm, {**new, **{k: s[k] for k in
                                                    ("views", "view_index", "status")}})
    s = states["overview"]
    out["noise_before"] = (old_esm, {
        **old, "experiment": "noise", "views": as_before(s["views"]),
        "view_index": s["view_index"],
        "status": before_status("a noise trace needs subject= (the words to corrupt)", "error")})
    s = states["noise"]
    out["noise_after"] = (new_esm, {**new, **s["controls"],
                                    **{k: s[k] for k in ("views", "view_index", "status")}})
    return out


def _widget(esm: str, traits: dict) -> anywidget.AnyWidget:
    cls = type("Snapshot", (anywidget.AnyWidget,),
               {"_esm": esm, **{k: traitlets.Any(v).tag(sync=True) for k, v in traits.items()}})
    return cls()


def render(shots: dict[str, tuple[str, dict]], out: Path) -> None:
    """Screenshot each state, drawn by its bundle, from a static embed in Chromium."""
    from ipywidgets.embed import embed_snippet
    from PIL import Image
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        work = Path(tmp)
        shutil.copy(REPO / "node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js", work)
        shutil.copy(REPO / "node_modules/requirejs/require.js", work)
        shutil.copy(REPO / ".venv/share/jupyter/nbextensions/anywidget/index.js",
                    work / "anywidget.js")
        head = ('<script src="require.js"></script>'
                '<script>require.config({paths: {anywidget: "anywidget"}});</script>')
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for name, (esm, traits) in shots.items():
            html = embed_snippet([_widget(esm, traits)], drop_defaults=False,
                                 embed_url="embed-amd.js", cors=False)
            html = re.sub(r"<script[^>]*require\.js[^>]*></script>", "", html)
            (work / f"{name}.html").write_text(
                f"<!doctype html><html><head><meta charset='utf-8'>{head}</head>"
                f"<body style='margin:8px;width:980px'>{html}</body></html>")
            page.goto((work / f"{name}.html").as_uri())
            root = page.locator(".tracewidget-root")
            page.locator("rect.tracewidget-cell").first.wait_for(timeout=30_000)
            page.wait_for_timeout(300)
            png = out / f"{name}.png"
            root.screenshot(path=str(png))
            if png.stat().st_size > MAX_BYTES:
                Image.open(png).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
                    png, optimize=True)
            print(f"{png}: {png.stat().st_size // 1024} KB")
        browser.close()
    if errors:
        raise RuntimeError(f"the page raised: {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path,
                        default=REPO / "docs/screenshots/widget-before-after")
    parser.add_argument("--before", default="8605ba8", help="the commit drawn as 'before'")
    parser.add_argument("--cache", type=Path, help="a pickle of the computed states")
    args = parser.parse_args()
    if args.cache and args.cache.exists():
        states = pickle.loads(args.cache.read_bytes())
    else:
        states = compute_states()
        if args.cache:
            args.cache.write_bytes(pickle.dumps(states))
    old_esm = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{args.before}:tracewidget/static/widget.js"],
        capture_output=True, text=True, check=True).stdout
    new_esm = (REPO / "tracewidget/static/widget.js").read_text()
    render(pages(states, old_esm, new_esm), args.out)


if __name__ == "__main__":
    main()
