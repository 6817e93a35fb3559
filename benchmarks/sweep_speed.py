"""Sweep speed: tracewidget against the naive loop the field writes, in one process.

    python -m benchmarks.sweep_speed            # every case (about 10 minutes on 2 CPU cores)
    python -m benchmarks.sweep_speed --quick    # without the growth cases (d)
    python -m benchmarks.sweep_speed --only-gpt2 | --only-growth | --only-real
    python -m benchmarks.sweep_speed --only-real --no-traces   # SmolLM2 overview and strips

The naive loop is the seed tutorial's: one ``model.trace`` per cell (nnsight 0.8 API), full
logits, clean activations recorded once. Each case prints the naive time, tracewidget's time, their
ratio, the largest difference between the two grids, and the peak memory (process RSS above the
case's start). Then: this machine's matmul GFLOP/s, each sweep's FLOP count and the fraction of
that peak it reached, how the cost grows with prompt length and depth, the bundled model's widget
timings, and the attribution preview's time and rank correlation with exact patching.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import torch
from transformers import GPT2Config, GPT2LMHeadModel

import tracewidget as tw
from tracewidget.models.architectures import block, main_tensor, shape, submodule
from tracewidget.tracing import default_window
from tracewidget.tracing.experiments import embedding_std, window_layers
from tracewidget.tracing.reuse import RunCache, reusing

CLEAN = "The Eiffel Tower is located in the city of"
CORRUPT = "The Colosseum Tower is located in the city of"
SUBJECT = "Eiffel Tower"


class PeakMemory:
    """Peak resident memory of this process above its level at the start (sampled every 5 ms)."""

    def __enter__(self) -> PeakMemory:
        self._proc = psutil.Process()
        self.start = self._proc.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def mib(self) -> float:
        return (self.peak - self.start) / 2**20


def timed(fn):
    with PeakMemory() as mem:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return result, seconds, mem.mib


def _module(model, component, layer):
    blk = block(model, layer)
    arch = tw.architecture(model)
    return blk if component == "resid" else submodule(blk, getattr(arch, component))


def _record_clean(model, ids, component):
    """The clean run's ``component`` output at every layer, and its top-1 token."""
    saved = []
    with torch.no_grad(), model.trace(ids):
        for x in range(shape(model).n_layers):  # a list made outside the trace outlives it
            saved.append(main_tensor(_module(model, component, x).output).clone().save())
        target = model.output.logits[0, -1].argmax().save()
    return saved, target


def naive_patch(model, component, window):
    """The seed's loop: record the clean run, then one trace per (layer, position) cell."""
    tok = model.tokenizer
    clean = torch.tensor([tok(CLEAN)["input_ids"]])
    corrupt = torch.tensor([tok(CORRUPT)["input_ids"]])
    n = shape(model).n_layers
    saved, target = _record_clean(model, clean, component)
    grid = np.zeros((n, clean.shape[1]))
    for layer in range(n):
        for pos in range(clean.shape[1]):
            with torch.no_grad(), model.trace(corrupt):
                for x in window_layers(layer, window, n):
                    main_tensor(_module(model, component, x).output)[:, pos] = saved[x][:, pos]
                logits = model.output.logits.save()
            grid[layer, pos] = float(logits[0, -1].double().softmax(-1)[target])
    return grid


def naive_noise(model, component, window, samples=10, seed=0, cells=None, batched=True):
    """ROME's noising loop (the seed's, made faithful to ROME): one trace per cell with the
    ``samples`` noised copies in its batch; with ``batched=False`` the loop the field writes
    without batching, one trace per cell and sample. Over every (layer, position) cell, or over
    ``cells`` only (the grid's other entries stay NaN)."""
    tok = model.tokenizer
    prompt = tw.tracing.prompts.tokenize(tok, CLEAN, SUBJECT)
    ids = torch.tensor([prompt.ids])
    subj = list(prompt.subject)
    n = shape(model).n_layers
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(samples, len(subj), shape(model).d_model, generator=g) \
        * 3 * embedding_std(model)
    embed = tw.architecture(model).embed
    saved, target = _record_clean(model, ids, component)
    grid = np.full((n, ids.shape[1]), np.nan)
    groups = [range(samples)] if batched else [range(s, s + 1) for s in range(samples)]
    for layer, pos in cells or [(x, t) for x in range(n) for t in range(ids.shape[1])]:
        scores = []
        for group in groups:
            with torch.no_grad(), model.trace(ids.expand(len(group), -1)):
                main_tensor(submodule(model, embed).output)[:, subj] += noise[group.start:
                                                                              group.stop]
                for x in window_layers(layer, window, n):
                    main_tensor(_module(model, component, x).output)[:, pos] = saved[x][:, pos]
                logits = model.output.logits.save()
            scores.append(logits[:, -1].double().softmax(-1)[:, target])
        grid[layer, pos] = float(torch.cat(scores).mean())
    return grid


def matmul_gflops(size: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * size**3 * reps / (time.perf_counter() - start) / 1e9


def naive_flops(model, seq: int, samples: int) -> float:
    """Matmul and attention FLOPs of the naive sweep: a full forward per cell (and sample), with
    the unembedding at every position (the count FlopCounterMode makes of such a forward)."""
    sizes = shape(model)
    cfg = tw.models.architectures.model_config(model)
    d, n, vocab = sizes.d_model, sizes.n_layers, cfg.vocab_size
    ffn = getattr(cfg, "n_inner", None) or 4 * d
    per_forward = seq * (n * (2 * (4 * d * d + 2 * d * ffn) + 4 * seq * d) + 2 * d * vocab)
    return n * seq * samples * per_forward


def measured_flops(fn) -> float:
    """FLOPs that ``fn`` actually executes (matmuls and attention), counted by PyTorch."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def gpt2_small_shape(layers: int = 12) -> Path:
    """A randomly initialised GPT-2-small-shaped model (768 wide, vocab 50257) with a word-level
    tokenizer, saved where `tw.load_model` can load it."""
    from tests.tiny_models import WORDS, save_tiny_model

    folder = Path(tempfile.mkdtemp()) / f"gpt2-small-{layers}"
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=layers, n_embd=768, n_head=12, vocab_size=50257,
                                       n_positions=1024))
    filler = [f"w{i}" for i in range(50257 - 3 - len(WORDS))]
    save_tiny_model("gpt2", folder, words=WORDS + filler)  # tokenizer (and a throwaway model)
    model.save_pretrained(folder)
    return folder


def compare(name, model, naive_fn, tw_fn, flops_naive, peak_gflops):
    expected, naive_s, naive_mem = timed(naive_fn)
    grid, tw_s, tw_mem = timed(tw_fn)
    flops_tw = measured_flops(tw_fn)
    diff = float(np.abs(grid.values - expected).max())
    print(f"{name:34} naive {naive_s:7.2f} s  tracewidget {tw_s:6.3f} s  "
          f"ratio {naive_s / tw_s:6.1f}x  max|diff| {diff:.1e}  "
          f"peak MiB naive {naive_mem:6.0f} tw {tw_mem:6.0f}  "
          f"GFLOP naive {flops_naive / 1e9:6.1f} tw {flops_tw / 1e9:6.1f}  "
          f"tw at {flops_tw / tw_s / 1e9 / peak_gflops:5.1%} of peak")


def cases(label: str, model, peak: float) -> None:
    seq = len(model.tokenizer(CLEAN)["input_ids"])
    n = shape(model).n_layers
    print(f"\n{label}: {n} layers x {shape(model).d_model} wide, prompt of {seq} tokens")
    compare("(a) resid restore", model, lambda: naive_patch(model, "resid", 1),
            lambda: tw.patch(model, CLEAN, CORRUPT, progress=False),
            naive_flops(model, seq, 1), peak)
    for comp in ("mlp", "attn"):
        compare(f"(b) {comp} restore, window 10", model,
                lambda comp=comp: naive_patch(model, comp, 10),
                lambda comp=comp: tw.patch(model, CLEAN, CORRUPT, component=comp, window=10,
                                           progress=False),
                naive_flops(model, seq, 1), peak)
    for comp in ("resid", "mlp", "attn"):
        window = 1 if comp == "resid" else 10
        compare(f"(c) noise trace {comp}, 10 samples", model,
                lambda comp=comp, window=window: naive_noise(model, comp, window),
                lambda comp=comp, window=window: tw.noise_trace(
                    model, CLEAN, SUBJECT, component=comp, window=window, progress=False),
                naive_flops(model, seq, 10), peak)


def trace_flops(model, seq: int, first: int, window: int, component: str,
                samples: int) -> float:
    """The matmul and attention FLOPs a noise trace needs at least (its floor): for every cell
    and sample, the blocks from the first restored one (a resid cell at layer L restores L's
    output, so block L + 1; an mlp/attn cell its window's first block) over the tokens from the
    cell's own, plus the unembedding at the last token. Cells before the subject (``first``)
    are the noised run itself, computed once per sample."""
    sizes = shape(model)
    cfg = tw.models.architectures.model_config(model)
    d, n, vocab = sizes.d_model, sizes.n_layers, cfg.vocab_size
    kv = sizes.n_kv_heads * sizes.head_dim
    ffn = getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) or 4 * d
    mlp_matrices = 3 if getattr(cfg, "hidden_act", "gelu") in ("silu", "swish") else 2
    per_token_block = 2 * (2 * d * d + 2 * d * kv + mlp_matrices * d * ffn)
    total = 0.0
    for layer in range(n):
        start = layer + 1 if component == "resid" else window_layers(layer, window, n)[0]
        for pos in range(first, seq):
            blocks = n - start
            tokens = seq - pos
            attention = sum(4 * d * (q + 1) for q in range(pos, seq)) * blocks
            total += tokens * blocks * per_token_block + attention + 2 * d * vocab
    return samples * total


def real_model(peak: float, traces: bool = True) -> None:
    """The real-model table: SmolLM2-135M, the Eiffel prompt: the widget's sweeps and noise
    traces of 10 samples."""
    model = tw.load_model("smollm2")
    prompt = tw.tracing.prompts.tokenize(model.tokenizer, CLEAN, SUBJECT)
    seq, n = len(prompt.ids), shape(model).n_layers
    print(f"\nSmolLM2-135M: {n} layers x {shape(model).d_model} wide, prompt of {seq} tokens, "
          f"subject {[prompt.tokens[i] for i in prompt.subject]}")
    widget_sweeps(model)
    window = default_window(n)
    # ROME's loop and the unbatched one cost the same for every cell (a full forward each), so
    # they are timed on every 6th layer's cells and scaled to the grid
    cells = [(x, t) for x in range(0, n, 6) for t in range(seq)]
    for comp in ("resid", "mlp", "attn") if traces else ():
        width = 1 if comp == "resid" else window
        stamps: dict[int, float] = {}
        begin = time.perf_counter()

        def seen(done, total, grid, stamps=stamps, begin=begin):
            k = grid.spec["samples_done"]
            if grid.complete and k not in stamps:
                stamps[k] = time.perf_counter() - begin

        grid = tw.noise_trace(model, CLEAN, SUBJECT, " Paris", component=comp, window=width,
                              on_progress=seen)
        full = time.perf_counter() - begin
        floor = trace_flops(model, seq, min(prompt.subject), width, comp, 10) / peak / 1e9
        refined = ", ".join(f"{k}: {s:.1f} s" for k, s in sorted(stamps.items()))
        scale = n * seq / len(cells)
        rome, rome_s, _ = timed(lambda comp=comp, width=width: naive_noise(
            model, comp, width, cells=cells))
        _, naive_s, _ = timed(lambda comp=comp, width=width: naive_noise(
            model, comp, width, cells=cells[:seq], batched=False))
        rome_s, naive_s = rome_s * scale, naive_s * n
        rows = [x for x, _ in cells][::seq]
        diff = float(np.abs(grid.values[rows] - rome[rows]).max())
        print(f"noise trace {comp:5} (window {width:2}), 10 samples: first complete grid "
              f"{stamps[1]:.2f} s, full {full:.2f} s, FLOP floor {floor:.2f} s "
              f"(full at {full / floor:.2f}x the floor); complete grids at {refined}; "
              f"ROME's batched loop {rome_s:.1f} s ({rome_s / full:.1f}x tracewidget), the "
              f"unbatched loop {naive_s:.1f} s ({naive_s / full:.1f}x), both scaled from "
              f"{len(cells)} and {seq} cells; max abs diff from ROME's loop {diff:.1e}; "
              f"p(' Paris') clean {grid.clean_score:.2f}, noised {grid.corrupt_score:.2f}")


def widget_sweeps(model) -> None:
    """What the widget runs on a real model: the overview, then a click's mlp and attn strips
    (at the subject's last token and at the last token, the widget's default window), each
    strip pair timed as a fresh engine call (recording both prompts) and as the widget runs it,
    reusing the recordings the overview made (`RunCache`)."""
    window = default_window(shape(model).n_layers)

    def strips(col):
        return [tw.patch(model, CLEAN, CORRUPT, " Paris", align=True, component=c,
                         window=window, positions=[col], progress=False) for c in ("mlp", "attn")]

    cache = RunCache()
    with reusing(cache):
        overview, seconds, _ = timed(lambda: tw.patch(model, CLEAN, CORRUPT, " Paris",
                                                      align=True, progress=False))
    print(f"resid restore overview ({overview.values.size} cells, aligned prompts): "
          f"{seconds:.2f} s")
    for col in (overview.subject[-1], overview.shape[1] - 1):
        fresh, fresh_s, _ = timed(lambda col=col: strips(col))
        with reusing(cache):
            reused, reused_s, _ = timed(lambda col=col: strips(col))
        same = all(np.array_equal(a.values, b.values) for a, b in zip(fresh, reused, strict=True))
        print(f"click at {overview.col_labels[col]!r}: mlp + attn strips (window {window}) "
              f"{fresh_s:.2f} s fresh, {reused_s:.2f} s reusing the overview's recordings "
              f"(identical: {same})")


def scaling() -> None:
    print("\n(d) growth, GPT-2-small width, resid restore sweep (tracewidget only)")
    for layers, words in [(12, 8), (12, 32), (12, 128), (24, 10), (48, 10)]:
        model = tw.load_model(gpt2_small_shape(layers))
        model._module(input_ids=torch.tensor([[0]]))  # page the weights in: not the sweep's
        # the prompts differ at their first token, so that no cell is the unpatched run
        body = " ".join(["the city"] * ((words - 2) // 2))
        clean = f"Eiffel {body} Paris of"
        corrupt = f"Colosseum {body} Paris of"
        seq = len(model.tokenizer(clean)["input_ids"])
        def sweep(model=model, clean=clean, corrupt=corrupt):
            return tw.patch(model, clean, corrupt, progress=False)

        grid, seconds, mem = timed(sweep)
        print(f"  {layers:2} layers, {seq:3} tokens: {grid.values.size:5} cells in {seconds:6.2f} s"
              f" ({seconds / grid.values.size * 1e3:5.1f} ms/cell), peak {mem:6.0f} MiB above "
              "start")
        del model


def widget_timing() -> None:
    model = tw.load_model()
    tw.patch(model, CLEAN, CORRUPT, progress=False)  # warm up
    first = threading.Event()
    start = time.perf_counter()
    stamps = {}

    w = tw.TraceWidget(model, clean=CLEAN, corrupt=CORRUPT, target=" Paris", autorun=False)

    def seen(change):
        if change["new"].get("done", 0) > 0 and not first.is_set():
            stamps["first"] = time.perf_counter() - start
            first.set()

    w.observe(seen, "status")
    start = time.perf_counter()
    w.run()
    w.wait()
    stamps["full"] = time.perf_counter() - start
    print(f"\nwidget overview on factlm (54 cells): first cells after {stamps['first']:.3f} s, "
          f"heatmap full after {stamps['full']:.3f} s")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation, ties sharing their average rank (cells before the prompts
    differ are tied in both grids)."""
    ranks = [pd.Series(x.ravel()).rank().to_numpy() for x in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def attribution_agreement(n_facts: int) -> None:
    """Attribution preview vs exact restore grids over pairs of facts from the table."""
    model = tw.load_model()
    tok = model.tokenizer
    facts = tw.datasets.facts()
    by_shape: dict[tuple, list] = {}
    for f in facts:
        key = (f.relation, f.prompt.replace(f.subject, "{}"), len(tok(f.prompt)["input_ids"]))
        by_shape.setdefault(key, []).append(f)
    rng = random.Random(0)
    pairs = [(a, b) for group in by_shape.values() if len(group) > 1
             for a, b in [rng.sample(group, 2)] if a.answer != b.answer]
    pairs = rng.sample(pairs, min(n_facts, len(pairs)))
    rhos, approx_s, exact_s = [], 0.0, 0.0
    for clean, corrupt in pairs:
        start = time.perf_counter()
        approx = tw.attribution_patch(model, clean.prompt, corrupt.prompt, clean.answer)
        approx_s += time.perf_counter() - start
        start = time.perf_counter()
        exact = tw.patch(model, clean.prompt, corrupt.prompt, clean.answer, progress=False)
        exact_s += time.perf_counter() - start
        rhos.append(spearman(approx.effects(), exact.effects()))
    print(f"\nattribution preview vs exact resid restore on {len(pairs)} fact pairs (factlm): "
          f"preview {approx_s / len(pairs) * 1e3:.1f} ms, "
          f"exact {exact_s / len(pairs) * 1e3:.1f} ms per grid; "
          f"Spearman rank correlation mean {np.mean(rhos):.2f}, median "
          f"{np.median(rhos):.2f}, min {np.min(rhos):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the growth cases (d)")
    parser.add_argument("--only-gpt2", action="store_true",
                        help="only the GPT-2-small-shape cases (a)-(c)")
    parser.add_argument("--only-growth", action="store_true", help="only the growth cases (d)")
    parser.add_argument("--only-attribution", action="store_true",
                        help="only the attribution preview's agreement with exact patching")
    parser.add_argument("--only-real", action="store_true",
                        help="only the real-model table (SmolLM2-135M: overview, a click's "
                        "strips, noise traces)")
    parser.add_argument("--no-traces", action="store_true",
                        help="in the real-model table, skip the noise traces")
    args = parser.parse_args()
    if args.only_real:
        torch.set_grad_enabled(False)
        real_model(matmul_gflops(), traces=not args.no_traces)
        return
    if args.only_attribution:
        attribution_agreement(40)
        return
    if args.only_growth:
        torch.set_grad_enabled(False)
        scaling()
        return
    torch.set_grad_enabled(False)
    loads = []
    for _ in range(2):
        start = time.perf_counter()
        tw.load_model()
        loads.append(time.perf_counter() - start)
    print(f"tw.load_model() of the bundled model: first call {loads[0]:.2f} s (after `import "
          f"tracewidget`), second {loads[1]:.2f} s")
    peak = matmul_gflops()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; matmul peak "
          f"{peak:.0f} GFLOP/s (2048x2048 fp32)")
    if not args.only_gpt2:
        cases("factlm (bundled)", tw.load_model(), peak)
        real_model(peak)
    cases("GPT-2-small shape (random weights)", tw.load_model(gpt2_small_shape()), peak)
    if args.only_gpt2:
        return
    widget_timing()
    torch.set_grad_enabled(True)
    attribution_agreement(40)
    if not args.quick:
        torch.set_grad_enabled(False)
        scaling()


if __name__ == "__main__":
    main()
