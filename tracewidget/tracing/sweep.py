"""Running a planned sweep: batching by a memory budget, progress, cancellation.

A sweep is a list of `Run`s, each filling one cell of an `EffectGrid`. They are executed in
batches (one forward each); after every batch the partial grid is reported and the cancellation
token is checked, so a widget can draw cells as they arrive and stop a sweep within one batch.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import torch

from tracewidget.models.sharing import reporting_waits

from . import reuse
from .executors import Recording, executor_for
from .grid import EffectGrid
from .metrics import Metric
from .plan import Noise, Patch, Run

ProgressFn = Callable[[int, int, EffectGrid], None]


def record(model: object, ids: torch.Tensor, wanted: set[tuple[str, int]],
           noise: Noise | None = None) -> Recording:
    """One forward of ``ids`` (``[seq]``, once per noise sample) on the executor sweeps of
    ``model`` use (see `Executor.record`), or its recording from the `RunCache` in use
    (`reusing`)."""
    return reuse.record(executor_for(model), ids, wanted, noise)


def record_all(model: object, prompts: list[torch.Tensor],
               wanted: set[tuple[str, int]]) -> list[Recording]:
    """`record` of each of ``prompts`` (without noise); the local executor runs the prompts
    of one length in one forward."""
    return reuse.record_all(executor_for(model), prompts, wanted)


class SweepCancelled(Exception):
    """A sweep was cancelled; ``partial`` holds the cells computed before it stopped."""

    def __init__(self, partial: EffectGrid) -> None:
        super().__init__("the sweep was cancelled")
        self.partial = partial


class CancelToken:
    """Thread-safe flag a caller sets to stop a running sweep between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def batches(runs: list[Run], limit: int, cost: Callable[[Run], int]) -> list[list[Run]]:
    """Split ``runs``, in order of their first patched layer and position, into batches whose
    ``cost`` (rows for the nnsight executor, packed tokens for the local one) adds up to at
    most ``limit`` (a run that alone costs more gets a batch of its own)."""
    out: list[list[Run]] = []
    used = 0
    for run in sorted(runs, key=lambda run: run.start):
        if out and used + cost(run) <= limit:
            out[-1].append(run)
            used += cost(run)
        else:
            out.append([run])
            used = cost(run)
    return out


def _out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is PyTorch running out of memory (CUDA, MPS or the CPU allocator)."""
    message = str(err).lower()
    return isinstance(err, torch.OutOfMemoryError) or any(
        text in message for text in ("out of memory", "can't allocate memory",
                                     "not enough memory"))


def _show_wait(bar: Any, title: str, message: str | None) -> None:
    """A sweep's progress bar says when a batch waits for another run on the model."""
    bar.set_description_str(title if message is None else f"{title} ({message})")


@contextmanager
def progress_bar(total: int, title: str, unit: str, progress: bool | None,
                 on_progress: ProgressFn | None) -> Iterator[Any]:
    """The tqdm bar of a sweep (None when ``progress`` is False, or None with an
    ``on_progress``); it appears for sweeps longer than 2 s and says when a batch waits for
    another run on the model."""
    if not (progress or (progress is None and on_progress is None)):
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=title, unit=unit, delay=2.0, leave=False)
    try:
        with reporting_waits(partial(_show_wait, bar, title)):
            yield bar
    finally:
        bar.close()


def check_resume(template: EffectGrid, resume: EffectGrid | None) -> EffectGrid | None:
    """``resume`` if it is a partial result of the sweep ``template`` describes, else a clear
    error (a grid of other prompts, settings or another model would silently mix results)."""
    if resume is None:
        return None
    if not isinstance(resume, EffectGrid):
        raise TypeError(f"resume= takes the partial EffectGrid of a cancelled sweep "
                        f"(SweepCancelled.partial), got {type(resume).__name__}")
    ignored = ("samples_done",)
    ours = {k: v for k, v in template.spec.items() if k not in ignored}
    theirs = {k: v for k, v in resume.spec.items() if k not in ignored}
    differs = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    if resume.shape != template.shape or resume.model_name != template.model_name or differs:
        what = ", ".join(differs) or "grid shape or model"
        raise ValueError(f"resume= holds a grid of another sweep (differs in: {what}); pass "
                         "the SweepCancelled.partial of the same call")
    return resume


class _Stopped(Exception):
    """`sweep_scores` was cancelled; ``scores`` holds what it computed."""

    def __init__(self, scores: np.ndarray) -> None:
        super().__init__("cancelled")
        self.scores = scores


def sweep_scores(model: object, ids: torch.Tensor, runs: list[Run], shape: tuple[int, int],
                 metric: Metric, *, noise: Noise | None = None, repeats: int = 1,
                 batch_size: int | None = None,
                 on_batch: Callable[[int, np.ndarray], None] | None = None,
                 cancel: CancelToken | None = None,
                 computed: np.ndarray | None = None,
                 base: Recording | None = None) -> np.ndarray:
    """The scores ``[rows, cols, repeats]`` of ``runs`` (one per noise sample), computed in
    batches from ``base`` (the recording of ``ids`` with ``noise``, when the caller has one);
    ``on_batch(cells_filled, scores)`` follows each batch. A cancelled sweep raises
    `_Stopped` with the scores so far (NaN where not computed). Batches whose cells are all
    ``computed`` (a mask: the cells of a cancelled sweep) are skipped; the others are the same
    batches as in an uninterrupted sweep, so a resumed sweep computes the same numbers.

    By default a batch is as many runs as fit the memory budget (the nnsight executor) or
    `packed_tokens` (the local one); ``batch_size`` counts runs per forward instead. A batch
    that runs out of memory is halved (and so are the batches after it) until it fits.
    """
    scores = np.full((*shape, repeats), math.nan)
    chosen, seq = executor_for(model), len(ids)
    runner = chosen.batch_runner(ids, noise, repeats, base)
    limit = chosen.batch_limit(seq, repeats) if batch_size is None else batch_size

    def cost(run: Run) -> int:
        return chosen.run_cost(run, seq, repeats) if batch_size is None else 1

    # runs without patches are all the base run: compute one, fill every such cell with it
    unpatched = [run.cell for run in runs if not run.patches]
    planned = [run for run in runs if run.patches] + [Run(cell) for cell in unpatched[:1]]
    chunks = batches(planned, limit, cost)
    if computed is not None:
        chunks = [chunk for chunk in chunks if not all(
            computed[cell] for run in chunk
            for cell in (unpatched if not run.patches else [run.cell]))]
    most = len(planned)  # runs per batch, lowered by an out-of-memory error
    while chunks:
        chunk = chunks.pop(0)
        if cancel is not None and cancel.cancelled:
            raise _Stopped(scores)
        if len(chunk) > most:
            chunks[:0] = [chunk[i:i + most] for i in range(0, len(chunk), most)]
            continue
        patches = [Patch(i, site, value) for i, run in enumerate(chunk)
                   for site, value in run.patches]
        try:
            batch_scores = runner(len(chunk), patches, metric)
        except RuntimeError as err:  # out of memory: halve the batch and go on
            if not _out_of_memory(err) or len(chunk) == 1:
                raise
            most = len(chunk) // 2
            chunks.insert(0, chunk)
            continue
        chunk_scores = batch_scores.view(len(chunk), repeats).cpu().numpy()
        filled = 0
        for run, row in zip(chunk, chunk_scores, strict=True):
            cells = unpatched if not run.patches else [run.cell]
            for cell in cells:
                scores[cell] = row
            filled += len(cells)
        if on_batch is not None:
            on_batch(filled, scores)
    return scores


def run_sweep(model: object, ids: torch.Tensor, runs: list[Run], template: EffectGrid,
              metric: Metric, *, batch_size: int | None = None,
              on_progress: ProgressFn | None = None, cancel: CancelToken | None = None,
              progress: bool | None = None, resume: EffectGrid | None = None,
              base: Recording | None = None) -> EffectGrid:
    """Execute ``runs`` (see `sweep_scores`, and there ``base``) and return ``template`` filled
    with their scores, reporting each batch to ``on_progress`` and a progress bar. With
    ``resume`` (the partial grid of the same sweep, cancelled), its computed cells are kept and
    only the others run."""
    values = np.full(template.shape, math.nan)
    total = len(runs)
    if check_resume(template, resume) is not None:
        values = np.array(resume.values)
    computed = ~np.isnan(values)
    with progress_bar(total, f"{template.component} sweep", "cell", progress,
                      on_progress) as bar:
        done = int(computed.sum())
        if bar is not None:
            bar.update(done)

        def on_batch(filled: int, scores: np.ndarray) -> None:
            nonlocal done
            done += filled
            new = ~np.isnan(scores[..., 0])
            values[new] = scores[new, 0]
            if bar is not None:
                bar.update(filled)
            if on_progress is not None:
                on_progress(done, total, template.with_values(values.copy()))

        try:
            sweep_scores(model, ids, runs, template.shape, metric, batch_size=batch_size,
                         on_batch=on_batch, cancel=cancel, computed=computed, base=base)
        except _Stopped:
            raise SweepCancelled(template.with_values(values)) from None
    return template.with_values(values)


def sample_groups(first: int, samples: int) -> list[range]:
    """Noise samples ``first .. samples - 1`` in the groups they are run in: the first sample
    alone, so that a complete grid comes as early as possible, then groups that double (1, 2,
    4, ...), so that the picture refines at 1, 3, 7, ... samples while most samples run in
    large packed batches, as fast as running them all at once. The groups are the same
    whatever ``first`` is (a resumed trace computes exactly what the uninterrupted one did)."""
    groups, size, start = [], 1, 0
    while start < samples:
        stop = min(samples, start + size)
        if stop > first:
            groups.append(range(max(start, first), stop))
        start, size = stop, size * 2
    return groups


def _sample_grid(template: EffectGrid, sums: np.ndarray, squares: np.ndarray,
                 k: int) -> EffectGrid:
    """The mean of ``k`` samples per cell, with the 95% interval of that mean (1.96 standard
    errors over the samples; NaN for one sample)."""
    mean = sums / k
    ci95 = np.full_like(mean, math.nan)
    if k > 1:
        variance = np.maximum(squares - sums**2 / k, 0) / (k - 1)
        ci95 = 1.96 * np.sqrt(variance / k)
    return replace(template, values=mean, ci95=ci95,
                   spec={**template.spec, "samples_done": k})


def run_by_samples(model: object, ids: torch.Tensor, runs_of: Callable[[range], list[Run]],
                   template: EffectGrid, metric: Metric, noise: Noise, *,
                   batch_size: int | None = None, on_progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None, progress: bool | None = None,
                   resume: EffectGrid | None = None, base: Recording | None = None,
                   stop_after: int | None = None) -> EffectGrid:
    """A noise sweep that fills by samples: the mean over the samples so far is a complete
    grid after the first one (``spec["samples_done"]`` says how many, ``ci95`` how far the
    mean may still move), refined by `sample_groups` until all ``noise`` samples are in.

    ``runs_of(samples)`` plans the runs of a group of samples (their patches hold one value per
    sample). Partial grids handed to ``on_progress`` are the complete mean of the samples done
    (during the first sample: its cells so far); a cancelled sweep raises `SweepCancelled` with
    that grid, and ``resume`` continues it. The result is the mean over every sample, as if all
    ran at once. ``base`` is the recording of ``ids`` with every sample of ``noise``: each group
    starts from its samples' rows of it. With ``stop_after``, it returns once that many samples
    are in: the same grid a cancel at that point keeps, which ``resume`` continues.
    """
    samples = noise.values.shape[0]
    shape_ = template.shape
    sums, squares, k = np.zeros(shape_), np.zeros(shape_), 0
    first_cells = np.full(shape_, math.nan)  # sample 0's cells computed before a resume
    if check_resume(template, resume) is not None:
        k = int(resume.spec.get("samples_done", 0))
        if k == 0:
            first_cells = np.array(resume.values)
        else:
            sums = np.array(resume.values) * k
            spread = np.zeros(shape_) if k == 1 else np.array(resume.ci95) / 1.96
            squares = spread**2 * k * (k - 1) + sums**2 / k
    cells = int(np.prod(shape_))
    total = samples * cells
    done = k * cells + int((~np.isnan(first_cells)).sum())

    def current(scores: np.ndarray | None = None) -> EffectGrid:
        if k > 0:
            return _sample_grid(template, sums, squares, k)
        first = first_cells if scores is None else np.where(np.isnan(first_cells),
                                                            scores[..., 0], first_cells)
        done_samples = int(not np.isnan(first).any())  # the first sample's last batch
        return replace(template, values=first, ci95=np.full(shape_, math.nan),
                       spec={**template.spec, "samples_done": done_samples})

    with progress_bar(total, f"{template.component} noise trace", "run", progress,
                      on_progress) as bar:
        if bar is not None:
            bar.update(done)
        for whole in sample_groups(k, samples):
            group = whole if stop_after is None else range(whole.start,
                                                           min(whole.stop, stop_after))
            if not group:
                break
            runs = runs_of(group)

            def on_batch(filled: int, scores: np.ndarray, size: int = len(group)) -> None:
                nonlocal done
                done += filled * size
                if bar is not None:
                    bar.update(filled * size)
                if on_progress is not None:
                    on_progress(done, total, current(scores))

            try:
                scores = sweep_scores(
                    model, ids, runs, shape_, metric, noise=Noise(
                        noise.positions, noise.values[group.start:group.stop]),
                    repeats=len(group), batch_size=batch_size, on_batch=on_batch,
                    cancel=cancel, computed=~np.isnan(first_cells) if group.start == 0 else None,
                    base=None if base is None else base.rows(group))
            except _Stopped as stop:
                raise SweepCancelled(current(stop.scores)) from None
            if group.start == 0:
                kept = ~np.isnan(first_cells)
                scores[kept, 0] = first_cells[kept]
            sums += scores.sum(-1)
            squares += (scores**2).sum(-1)
            k += len(group)
            if on_progress is not None:
                on_progress(done, total, current())
    return current()
