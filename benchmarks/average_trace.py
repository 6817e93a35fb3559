"""ROME's Figure 2: noise traces averaged over known facts by token role, on any model.

    python -m benchmarks.average_trace [--model factlm|smollm2|PATH] [--facts N] [--samples S]
        [--window W] [--components resid mlp attn] [--figure PATH] [--results PATH]

For resid, mlp and attn it prints the average indirect effect (AIE) by token role and layer with
95% intervals over facts, the peak (layer, effect) of each role and the time taken, and saves the
figure: ROME's heatmaps (roles x layers) above the AIE at the last subject token and at the last
token with their intervals. ``--results`` writes the numbers as JSON, so docs tables can be built
from one run without re-running it (a SmolLM2 run takes an hour on 2 CPU cores).

Facts: the bundled model's own table for factlm; otherwise `tw.datasets.known_facts(model)`, the
real-world facts the model predicts top-1, of which ``--facts`` are sampled (seed 0).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tracewidget as tw
from tracewidget.models.architectures import shape
from tracewidget.models.factlm import WEIGHTS_DIR
from tracewidget.tracing import default_window

COMPONENTS = ("resid", "mlp", "attn")
COLOURS = {"resid": "Purples", "mlp": "Greens", "attn": "Reds"}
LINE_ROLES = ("last subject token", "last token")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="factlm", help="factlm, smollm2, or a path/name that "
                        "tw.load_model takes")
    parser.add_argument("--facts", type=int, default=200, help="facts sampled (seed 0)")
    parser.add_argument("--samples", type=int, default=10, help="noise samples per fact")
    parser.add_argument("--window", type=int, default=None,
                        help="layers restored for mlp/attn (default: ROME's 10 of 48 layers, "
                        "scaled to the model's depth)")
    parser.add_argument("--figure", type=Path, default=None,
                        help="where to save the figure (default: the model card's for factlm)")
    parser.add_argument("--results", type=Path, default=None, help="write the numbers as JSON")
    parser.add_argument("--components", nargs="+", choices=COMPONENTS, default=list(COMPONENTS))
    args = parser.parse_args()

    start = time.perf_counter()
    model = tw.load_model(None if args.model == "factlm" else args.model)
    load_seconds = time.perf_counter() - start
    n_layers = shape(model).n_layers
    window = args.window or default_window(n_layers)
    if args.model == "factlm":
        pool = tw.datasets.facts()
        figure = args.figure or WEIGHTS_DIR.parent / "average_trace.png"
        pool_note = f"{len(pool)} facts of the bundled table"
    else:
        start = time.perf_counter()
        pool = tw.datasets.known_facts(model)
        pool_note = f"{pool!r}, filtered in {time.perf_counter() - start:.1f} s"
        figure = args.figure or Path(f"average_trace_{args.model}.png")
    facts = random.Random(0).sample(list(pool), min(args.facts, len(pool)))
    print(f"model {args.model!r} loaded in {load_seconds:.1f} s, {n_layers} layers; {pool_note}")
    print(f"{len(facts)} facts, {args.samples} noise samples each, window {window} for mlp/attn")

    results: dict = {"model": args.model, "n_layers": n_layers, "facts": len(facts),
                     "samples": args.samples, "window": window, "components": {}}
    fig, axes = plt.subplots(2, len(args.components), figsize=(5.4 * len(args.components), 6.4),
                             height_ratios=(1.1, 1), squeeze=False)
    for column, component in enumerate(args.components):
        start = time.perf_counter()
        grid = tw.average_trace(model, facts, component=component,
                                window=1 if component == "resid" else window,
                                samples=args.samples, progress=False)
        seconds = time.perf_counter() - start
        effects = grid.effects()
        results["components"][component] = _report(grid, effects, seconds)
        if args.results:
            args.results.write_text(json.dumps(results, indent=1))
        _draw(axes[:, column], grid, effects, component, window)
    first = results["components"][args.components[0]]
    samples = f"{args.samples} noise sample{'s' if args.samples > 1 else ''} each"
    fig.suptitle(f"Average indirect effect over {len(facts)} facts, {args.model} ({samples}; "
                 f"clean p = {first['clean']:.3f}, corrupted p = {first['corrupt']:.3f})")
    fig.tight_layout()
    fig.savefig(figure, dpi=80)
    print(f"\nsaved {figure}" + (f" and {args.results}" if args.results else ""))


def _report(grid: tw.EffectGrid, effects: np.ndarray, seconds: float) -> dict:
    component = grid.component
    print(f"\n{component}: {grid.spec['n_prompts']} facts, {seconds:.1f} s, "
          f"clean {grid.clean_score:.3f}, corrupt {grid.corrupt_score:.3f}")
    peaks = {}
    for j, role in enumerate(grid.col_labels):
        if np.all(np.isnan(effects[:, j])):
            continue
        peak = int(np.nanargmax(effects[:, j]))
        peaks[role] = {"layer": peak, "aie": float(effects[peak, j]),
                       "ci95": float(grid.ci95[peak, j])}
        print(f"  {role:24} peak L{peak} {effects[peak, j]:.3f} ± {grid.ci95[peak, j]:.3f}   "
              + " ".join(f"{v:.2f}" for v in effects[:, j]))
    return {"seconds": seconds, "clean": grid.clean_score, "corrupt": grid.corrupt_score,
            "roles": list(grid.col_labels), "prompts_per_role": grid.spec["prompts_per_role"],
            "aie": np.where(np.isnan(effects), None, effects).tolist(),
            "ci95": np.where(np.isnan(grid.ci95), None, grid.ci95).tolist(), "peaks": peaks}


def _draw(axes: np.ndarray, grid: tw.EffectGrid, effects: np.ndarray, component: str,
          window: int) -> None:
    heat, lines = axes
    restored = component if component == "resid" else f"{component}, window {window}"
    image = heat.imshow(effects.T, cmap=COLOURS[component], aspect="auto", vmin=0)
    heat.set_yticks(range(len(grid.col_labels)), grid.col_labels)
    heat.set_xlabel("layer")
    heat.set_title(f"AIE of restored {restored}")
    plt.colorbar(image, ax=heat, label="AIE on p(answer)")
    layers = np.arange(grid.shape[0])
    for role, colour in zip(LINE_ROLES, ("tab:blue", "tab:orange"), strict=True):
        j = grid.col_labels.index(role)
        lines.plot(layers, effects[:, j], color=colour, label=role)
        lines.fill_between(layers, effects[:, j] - grid.ci95[:, j],
                           effects[:, j] + grid.ci95[:, j], color=colour, alpha=0.25)
    lines.axhline(0, color="grey", linewidth=0.5)
    lines.set_xlim(0, grid.shape[0] - 1)
    lines.set_xlabel("layer")
    lines.set_ylabel("AIE (95% interval)")
    lines.legend(loc="upper left", fontsize=8)


if __name__ == "__main__":
    main()
