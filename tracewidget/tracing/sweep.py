"""Running a planned sweep: batching by a memory budget, progress, cancellation.

A sweep is a list of `Run`s, each filling one cell of an `EffectGrid`. They are executed in
batches (one forward each); after every batch the partial grid is reported and the cancellation
token is checked, so a widget can draw cells as they arrive and stop a sweep within one batch.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch

from tracewidget.models.architectures import model_config, shape
from tracewidget.models.loading import remote_setting
from tracewidget.models.sharing import reporting_waits

from . import executor, local_executor
from .grid import EffectGrid
from .local_executor import VERIFIED_FAMILIES, LocalRunner, can_run_locally
from .metrics import Metric
from .plan import Noise, Patch, Site

ProgressFn = Callable[[int, int, EffectGrid], None]
DEFAULT_MEMORY_BUDGET = 512 * 2**20
EXECUTORS = ("auto", "local", "nnsight")
_EXECUTOR: ContextVar[str] = ContextVar("tracewidget_executor", default="auto")


@contextmanager
def use_executor(name: str) -> Iterator[None]:
    """Choose how sweeps in this block run: ``"local"`` (plain PyTorch hooks, packed batches,
    models in this process only), ``"nnsight"`` (nnsight traces; the only choice for
    ``remote=True``), or ``"auto"`` (local when possible and the model's family is one the
    tests verify it on, the default). Both give the same numbers; the tests check it."""
    if name not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    token = _EXECUTOR.set(name)
    try:
        yield
    finally:
        _EXECUTOR.reset(token)


def _local(model: object) -> bool:
    """Whether this sweep runs on the local executor."""
    choice = _EXECUTOR.get()
    local_ok = not remote_setting(model) and can_run_locally(model)
    if choice == "local" and not local_ok:
        raise ValueError("the local executor needs a model whose weights are in this process "
                         "and whose attention is eager or sdpa (attn_implementation=); for "
                         "remote=True or other attention use the nnsight executor")
    verified = model_config(model).model_type in VERIFIED_FAMILIES
    return choice == "local" or (choice == "auto" and local_ok and verified)


def record(model: object, ids: torch.Tensor, wanted: set[tuple[str, int]],
           noise: Noise | None = None) -> tuple[dict[tuple[str, int], torch.Tensor], torch.Tensor]:
    """One forward of ``ids`` (``[batch, seq]``) on the executor sweeps of ``model`` use: the
    activations ``wanted`` as ``{(component, layer): [batch, seq, features]}`` and the
    last-position logits."""
    chosen = local_executor if _local(model) else executor
    return chosen.record(model, ids, wanted, noise)


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


@dataclass(frozen=True)
class Run:
    """One patched forward pass (times the noise samples) that fills grid cell ``cell``."""

    cell: tuple[int, int]
    patches: tuple[tuple[Site, torch.Tensor], ...] = field(default=())

    @property
    def start(self) -> tuple[int, int]:
        """The first patched position and layer ((0, 0) without patches)."""
        sites = [site for site, _ in self.patches]
        return (min((s.position for s in sites), default=0),
                min((s.layer for s in sites), default=0))


def _ffn_size(model: object) -> int:
    cfg, sizes = model_config(model), shape(model)
    return getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) \
        or getattr(cfg, "ffn_dim", None) or 4 * sizes.d_model


def batch_rows(model: object, seq_len: int, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """How many rows (forward passes) of the nnsight executor fit in ``memory_budget`` bytes.

    Per row, a forward holds the last position's logits plus a few hidden-size and MLP-size
    activations and the attention scores; 2x covers temporaries.
    """
    sizes = shape(model)
    activations = seq_len * (8 * sizes.d_model + _ffn_size(model) + sizes.n_heads * seq_len)
    per_row = 4 * (model_config(model).vocab_size + activations) * 2
    return max(1, memory_budget // per_row)


PACKED_TOKENS = 512


def packed_tokens(model: object, seq_len: int, repeats: int,
                  memory_budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """How many tokens one packed forward of the local executor holds: `PACKED_TOKENS`, or
    fewer when they would not fit ``memory_budget`` bytes.

    Its attention is dense over the packed sequence (a token's scores cover the base run's
    ``repeats * seq_len`` keys and every packed token), so larger packs waste attention work
    while smaller ones stream the weights more often; on a GPT-2-small-shaped model on a CPU,
    256 to 1024 were within 10% of one another and 512 keeps the waste small. Per token a
    forward holds a few hidden-size and MLP-size activations, a row of scores per head and of two
    masks, and, at worst, a run's logits; 2x covers temporaries.
    """
    sizes = shape(model)
    keys = repeats * seq_len + PACKED_TOKENS
    per_token = 4 * (8 * sizes.d_model + _ffn_size(model) + (sizes.n_heads + 2) * keys
                     + model_config(model).vocab_size) * 2
    return max(1, min(PACKED_TOKENS, memory_budget // per_token))


def batches(runs: list[Run], limit: int, cost: Callable[[Run], int]) -> list[list[Run]]:
    """Split ``runs``, in order of their first patched position and layer, into batches whose
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


def _one(run: Run) -> int:
    return 1


def _packed_cost(seq: int, repeats: int, run: Run) -> int:
    """The tokens ``run`` adds to a packed batch: its positions from the first patched one."""
    return repeats * (seq - (run.start[0] if run.patches else seq - 1))


def _show_wait(bar: Any, title: str, message: str | None) -> None:
    """A sweep's progress bar says when a batch waits for another run on the model."""
    bar.set_description_str(title if message is None else f"{title} ({message})")


def run_sweep(model: object, ids: torch.Tensor, runs: list[Run], template: EffectGrid,
              metric: Metric, *, noise: Noise | None = None, repeats: int = 1,
              batch_size: int | None = None, on_progress: ProgressFn | None = None,
              cancel: CancelToken | None = None, progress: bool | None = None) -> EffectGrid:
    """Execute ``runs`` in batches and return ``template`` filled with their scores.

    ``repeats`` copies of each run (noise samples) are averaged into one score. ``batch_size``
    counts runs per forward; by default a batch is as many runs as fit the memory budget (the
    nnsight executor) or `packed_tokens` (the local one). A batch that runs out of memory is
    halved (and so are the batches after it) until it fits.
    """
    local = _local(model)
    seq = len(ids)
    if local:
        runner: Callable[[int, list[Patch]], torch.Tensor] = LocalRunner(model, ids, noise,
                                                                         repeats)
        limit, cost = packed_tokens(model, seq, repeats), partial(_packed_cost, seq, repeats)
    else:
        runner = partial(executor.run_patched, model, ids, noise=noise, repeats=repeats)
        limit, cost = max(1, batch_rows(model, seq) // repeats), _one
    if batch_size is not None:
        limit, cost = batch_size, _one
    # runs without patches are all the base run: compute one, fill every such cell with it
    unpatched = [run.cell for run in runs if not run.patches]
    planned = [run for run in runs if run.patches] + [Run(cell) for cell in unpatched[:1]]
    chunks = batches(planned, limit, cost)
    values = np.full(template.shape, math.nan)
    total = len(runs)
    bar = None
    if progress or (progress is None and on_progress is None):
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"{template.component} sweep", unit="cell", delay=2.0,
                   leave=False)
        waits = reporting_waits(partial(_show_wait, bar, f"{template.component} sweep"))
    else:
        waits = nullcontext()
    def scores(chunk: list[Run]) -> torch.Tensor:
        patches = [Patch(i, site, value) for i, run in enumerate(chunk)
                   for site, value in run.patches]
        logits = runner(len(chunk), patches)
        return metric(logits).view(len(chunk), repeats).mean(1)

    try:
        with waits:
            done = 0
            most = len(planned)  # runs per batch, lowered by an out-of-memory error
            while chunks:
                chunk = chunks.pop(0)
                if cancel is not None and cancel.cancelled:
                    raise SweepCancelled(template.with_values(values))
                if len(chunk) > most:
                    chunks[:0] = [chunk[i:i + most] for i in range(0, len(chunk), most)]
                    continue
                try:
                    chunk_scores = scores(chunk)
                except RuntimeError as err:  # out of memory: halve the batch and go on
                    if not _out_of_memory(err) or len(chunk) == 1:
                        raise
                    most = len(chunk) // 2
                    chunks.insert(0, chunk)
                    continue
                filled = 0
                for run, score in zip(chunk, chunk_scores.tolist(), strict=True):
                    cells = unpatched if not run.patches else [run.cell]
                    for cell in cells:
                        values[cell] = score
                    filled += len(cells)
                done += filled
                if bar is not None:
                    bar.update(filled)
                if on_progress is not None:
                    on_progress(done, total, template.with_values(values.copy()))
    finally:
        if bar is not None:
            bar.close()
    return template.with_values(values)
