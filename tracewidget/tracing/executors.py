"""The executor interface: how a sweep's forward passes run, chosen once per sweep.

A sweep (`sweep.run_sweep`) needs four things from whatever runs the model: a recording (the
activations of a prompt, for the values to paste), a runner for batches of planned runs, the
cost of a run in the runner's unit and the limit of a batch in that unit. `Executor` names them;
`executor_for(model)` picks one of its two implementations for a model:

* `NnsightExecutor`: nnsight traces (`executor`), one row of the batch dimension per run. The
  portable one: any model nnsight runs, and the only one for ``remote=True`` (NDIF).
* `LocalExecutor`: plain PyTorch hooks and packed batches (`local_executor`), in which a run
  costs only the tokens it computes. The fast one, for a model in this process whose attention
  applies the packed batches' masks and whose family the tests verify it on. Its recording of
  the prompt a sweep patches is also the sweep's base run (a `Recording` carries it), so that
  prompt runs once, not once to record and once more to start the batches from.

Both compute the same numbers (the tests compare them with an independent reference on every
family); attribution's backward pass runs through nnsight on both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from tracewidget.models.architectures import model_config, own_config, shape
from tracewidget.models.loading import remote_setting

from . import executor
from .local_executor import (
    UNPACKABLE_FAMILIES,
    VERIFIED_FAMILIES,
    LocalRunner,
    PromptRun,
    can_run_locally,
    run_prompt,
)
from .metrics import Metric
from .plan import Noise, Patch, Run

BatchRunner = Callable[[int, list[Patch], Metric], torch.Tensor]
"""Runs a batch: ``(n_runs, patches, metric) -> scores [n_runs * repeats]`` (float64)."""


@dataclass(frozen=True)
class Recording:
    """A prompt run once per noise sample: the activations asked for
    (``{(component, layer): [samples, seq, features]}``), the last-position logits
    ``[samples, vocab]``, and, from the local executor, the whole run (`PromptRun`), from which
    a sweep of the same prompt starts its batches instead of running the prompt again."""

    acts: dict[tuple[str, int], torch.Tensor]
    logits: torch.Tensor
    run: PromptRun | None = None

    def rows(self, group: range) -> Recording:
        """The recording of rows ``group`` only (some noise samples, or one prompt of several
        recorded together)."""
        return Recording({key: a[group.start:group.stop] for key, a in self.acts.items()},
                         self.logits[group.start:group.stop],
                         None if self.run is None else self.run.rows(group))

DEFAULT_MEMORY_BUDGET = 512 * 2**20
PACKED_TOKENS = 512
EXECUTORS = ("auto", "local", "nnsight")
_EXECUTOR: ContextVar[str] = ContextVar("tracewidget_executor", default="auto")


class Executor(ABC):
    """How the forwards of sweeps on ``model`` run (see the module docstring)."""

    name: ClassVar[str]

    def __init__(self, model: Any) -> None:
        self.model = model

    @abstractmethod
    def record(self, ids: torch.Tensor, wanted: set[tuple[str, int]],
               noise: Noise | None = None) -> Recording:
        """One forward of ``ids`` (``[seq]``), once per sample of ``noise``, recording the
        activations ``wanted``."""

    def record_all(self, prompts: list[torch.Tensor],
                   wanted: set[tuple[str, int]]) -> list[Recording]:
        """`record` of each of ``prompts`` (``[seq]`` each, without noise)."""
        return [self.record(ids, wanted) for ids in prompts]

    @abstractmethod
    def batch_runner(self, ids: torch.Tensor, noise: Noise | None, repeats: int,
                     base: Recording | None = None) -> BatchRunner:
        """The runner of one sweep's batches of ``ids`` (``[seq]``), each run ``repeats``
        times (noise samples); ``base`` is that prompt's recording with the same noise, if
        the sweep has one."""

    @abstractmethod
    def batch_limit(self, seq: int, repeats: int) -> int:
        """How much one batch may cost (in `run_cost`'s unit) to fit the memory budget."""

    @abstractmethod
    def run_cost(self, run: Run, seq: int, repeats: int) -> int:
        """What ``run`` adds to a batch."""

    def gradients(self, ids: torch.Tensor, wanted: set[tuple[str, int]], metric: Any,
                  noise: Noise | None = None) -> tuple[dict, dict, torch.Tensor]:
        """One forward and backward (`executor.gradients`; through nnsight on both)."""
        return executor.gradients(self.model, ids, wanted, metric, noise)


def _ffn_size(model: Any) -> int:
    cfg, sizes = model_config(model), shape(model)
    return getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) \
        or getattr(cfg, "ffn_dim", None) or 4 * sizes.d_model


def batch_rows(model: Any, seq_len: int, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """How many rows (forward passes) of the nnsight executor fit in ``memory_budget`` bytes.

    Per row, a forward holds the last position's logits plus a few hidden-size and MLP-size
    activations and the attention scores; 2x covers temporaries.
    """
    sizes = shape(model)
    activations = seq_len * (8 * sizes.d_model + _ffn_size(model) + sizes.n_heads * seq_len)
    per_row = 4 * (model_config(model).vocab_size + activations) * 2
    return max(1, memory_budget // per_row)


def packed_tokens(model: Any, seq_len: int, repeats: int,
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


class NnsightExecutor(Executor):
    """nnsight traces, one batch row per run and noise sample; local or remote."""

    name = "nnsight"

    def record(self, ids: torch.Tensor, wanted: set[tuple[str, int]],
               noise: Noise | None = None) -> Recording:
        repeats = 1 if noise is None else noise.values.shape[0]
        return Recording(*executor.record(self.model, ids[None].expand(repeats, -1), wanted,
                                          noise))

    def batch_runner(self, ids: torch.Tensor, noise: Noise | None, repeats: int,
                     base: Recording | None = None) -> BatchRunner:
        # every batch row runs the whole prompt: there is no base run to start from
        def run(n_runs: int, patches: list[Patch], metric: Metric) -> torch.Tensor:
            return metric(executor.run_patched(self.model, ids, n_runs, patches, noise=noise,
                                               repeats=repeats))

        return run

    def batch_limit(self, seq: int, repeats: int) -> int:
        return max(1, batch_rows(self.model, seq) // repeats)

    def run_cost(self, run: Run, seq: int, repeats: int) -> int:
        return 1


class LocalExecutor(Executor):
    """Plain hooks and packed batches: a run costs the tokens it computes, per noise sample."""

    name = "local"

    def record(self, ids: torch.Tensor, wanted: set[tuple[str, int]],
               noise: Noise | None = None) -> Recording:
        run = run_prompt(self.model, ids, wanted, noise)
        return Recording(run.acts, run.logits, run)

    def record_all(self, prompts: list[torch.Tensor],
                   wanted: set[tuple[str, int]]) -> list[Recording]:
        """Prompts of one length in one forward: the weights (the unembedding above all, for
        a single row each) are streamed once for all of them."""
        by_length: dict[int, list[int]] = {}
        for i, ids in enumerate(prompts):
            by_length.setdefault(len(ids), []).append(i)
        out: dict[int, Recording] = {}
        for group in by_length.values():
            run = run_prompt(self.model, torch.stack([prompts[i] for i in group]), wanted)
            for row, i in enumerate(group):
                one = run.rows(range(row, row + 1))
                out[i] = Recording(one.acts, one.logits, one)
        return [out[i] for i in range(len(prompts))]

    def batch_runner(self, ids: torch.Tensor, noise: Noise | None, repeats: int,
                     base: Recording | None = None) -> BatchRunner:
        return LocalRunner(self.model, ids, noise, repeats, None if base is None else base.run)

    def batch_limit(self, seq: int, repeats: int) -> int:
        return packed_tokens(self.model, seq, repeats)

    def run_cost(self, run: Run, seq: int, repeats: int) -> int:
        return repeats * (seq - run.first_token(seq))


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


def executor_for(model: Any) -> Executor:
    """The executor for a sweep on ``model``, by `use_executor`'s choice (default "auto")."""
    choice = _EXECUTOR.get()
    local_ok = not remote_setting(model) and can_run_locally(model)
    if choice == "local" and not local_ok:
        raise ValueError("the local executor needs a model whose weights are in this process, "
                         "whose attention is eager or sdpa (attn_implementation=) and whose "
                         f"blocks it can pack (not {', '.join(sorted(UNPACKABLE_FAMILIES))}); "
                         "for remote=True, other attention or those families use the nnsight "
                         "executor")
    # the module tree's own type: a multimodal model of a mapped text family is not verified
    verified = own_config(model).model_type in VERIFIED_FAMILIES
    local = choice == "local" or (choice == "auto" and local_ok and verified)
    return LocalExecutor(model) if local else NnsightExecutor(model)
