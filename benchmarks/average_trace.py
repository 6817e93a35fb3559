"""ROME's Figure 2 on the bundled model: noise traces averaged over facts by token role.

    python -m benchmarks.factlm_average_trace [--facts N] [--window W] [--figure PATH]

Prints, for resid, mlp and attn, the average indirect effect (AIE) by token role and layer with
95% intervals, and the peak (layer, effect) of each role; saves the figure shown in the model card.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import tracewidget as tw
from tracewidget.models.factlm import WEIGHTS_DIR

COLOURS = {"resid": "Purples", "mlp": "Greens", "attn": "Reds"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=200, help="facts sampled from the table")
    parser.add_argument("--window", type=int, default=1, help="layers restored for mlp/attn")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--figure", type=Path,
                        default=WEIGHTS_DIR.parent / "average_trace.png")
    args = parser.parse_args()
    model = tw.load_model()
    facts = random.Random(0).sample(tw.datasets.facts(), args.facts)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    for ax, component in zip(axes, ("resid", "mlp", "attn"), strict=True):
        start = time.perf_counter()
        grid = tw.average_trace(model, facts, component=component,
                                window=1 if component == "resid" else args.window,
                                samples=args.samples, progress=False)
        seconds = time.perf_counter() - start
        effects = grid.effects()
        print(f"\n{component}: {len(facts)} facts, {seconds:.1f} s, clean {grid.clean_score:.3f}, "
              f"corrupt {grid.corrupt_score:.3f}")
        print("role".ljust(24) + "".join(f"{r:>14}" for r in grid.row_labels) + "   peak")
        for j, role in enumerate(grid.col_labels):
            cells = "".join(f"{effects[i, j]:8.3f}±{grid.ci95[i, j]:.3f}"
                            for i in range(grid.shape[0]))
            peak = int(np.nanargmax(effects[:, j]))
            print(f"{role:24}{cells}   L{peak} {effects[peak, j]:.3f}")
        image = ax.imshow(effects.T, cmap=COLOURS[component], aspect="auto", vmin=0)
        ax.set_yticks(range(len(grid.col_labels)), grid.col_labels)
        ax.set_xticks(range(grid.shape[0]), grid.row_labels)
        ax.set_xlabel("layer")
        ax.set_title(f"AIE of restored {component}" + (f" (window {args.window})"
                                                        if component != "resid" else ""))
        fig.colorbar(image, ax=ax, label="AIE on p(answer)")
    fig.tight_layout()
    fig.savefig(args.figure, dpi=80)
    print(f"\nsaved {args.figure}")


if __name__ == "__main__":
    main()
