"""The nnsight executor: runs batches of patched forward passes, locally or on NDIF.

A *run* is one forward pass of the base prompt with some activations replaced. The executor packs
many runs into one forward (the batch dimension), applies every patch with a single indexed write
per (layer, component), and reads the logits at the last position. It knows nothing about
experiments: the planner in `tracewidget.tracing.experiments` decides which runs to make.

Inside a trace, modules must be touched in the order the model executes them (nnsight 0.8), so
patches are applied layer by layer in `COMPONENT_ORDER`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from tracewidget.models.architectures import architecture, block, main_tensor, shape, submodule
from tracewidget.models.loading import remote_setting

# Execution order of the patchable places inside one block.
COMPONENT_ORDER = ("head", "attn", "neuron", "mlp", "resid")
COMPONENTS = ("resid", "mlp", "attn", "head", "neuron")


@dataclass(frozen=True)
class Site:
    """Where to intervene: a component at one layer and token position; ``index`` is the head
    for ``component="head"`` and the neuron for ``component="neuron"``."""

    component: str
    layer: int
    position: int
    index: int | None = None


@dataclass(frozen=True)
class Patch:
    """Write ``value`` at ``site`` in run ``run`` of a batch.

    ``value`` is ``[repeats, *site_shape]``: one activation per repeat of the run (noise
    samples; ``repeats`` is 1 without noise). The site shape is ``[features]`` for resid, mlp
    and attn, ``[head_dim]`` for a head, and ``[]`` for a neuron.
    """

    run: int
    site: Site
    value: torch.Tensor


@dataclass(frozen=True)
class Noise:
    """Add ``values[sample]`` (``[samples, len(positions), d_model]``) to the token embeddings at
    ``positions``: ROME's corruption of the subject."""

    positions: tuple[int, ...]
    values: torch.Tensor


def _remote(model: Any) -> bool | str:
    """The ``remote=`` for this model's traces. For a remote run, the functions this module
    calls inside a trace are shipped by value: NDIF has nnsight and torch, not tracewidget."""
    remote = remote_setting(model)
    if remote:
        import sys

        import nnsight

        from tracewidget.models import architectures

        nnsight.register(architectures)
        nnsight.register(sys.modules[__name__])
    return remote


def _module(model: Any, component: str, layer: int) -> Any:
    arch = architecture(model)
    blk = block(model, layer)
    path = {"head": arch.attn_out_proj, "attn": arch.attn, "neuron": arch.mlp_out_proj,
            "mlp": arch.mlp}.get(component)
    return blk if path is None else submodule(blk, path)


def _value(model: Any, component: str, layer: int, batch: int | None) -> torch.Tensor:
    """The tensor of ``component`` at ``layer`` inside a trace: ``[batch, seq, features]``,
    or as the model holds it (possibly flattened) when ``batch`` is None."""
    module = _module(model, component, layer)
    proxy = module.input if component in ("head", "neuron") else module.output
    return main_tensor(proxy, batch)


def record(model: Any, ids: torch.Tensor, wanted: set[tuple[str, int]],
           noise: Noise | None = None) -> tuple[dict[tuple[str, int], torch.Tensor], torch.Tensor]:
    """One forward of ``ids`` (``[batch, seq]``): the activations ``wanted`` as
    ``{(component, layer): [batch, seq, features]}``, and the last-position logits."""
    n_layers = shape(model).n_layers
    batch = ids.shape[0]
    saved: dict[tuple[str, int], torch.Tensor] = {}
    with torch.no_grad(), model.trace(ids, remote=_remote(model)):
        if noise is not None:
            _add_noise(model, noise, batch)
        for layer in range(n_layers):
            for component in COMPONENT_ORDER:
                if (component, layer) in wanted:
                    saved[component, layer] = _value(model, component, layer, batch).clone().save()
        logits = model.output.logits[:, -1].save()
    return saved, logits


def _add_noise(model: Any, noise: Noise, batch: int) -> None:
    embeds = main_tensor(submodule(model, architecture(model).embed).output, batch)
    samples = noise.values.shape[0]
    values = noise.values.to(embeds.device, embeds.dtype).repeat(batch // samples, 1, 1)
    embeds[:, list(noise.positions)] += values


def _group(patches: list[Patch], repeats: int):
    """Index tensors and values per (layer, component): one indexed write each."""
    groups: dict[tuple[int, str], list[Patch]] = defaultdict(list)
    for p in patches:
        groups[p.site.layer, p.site.component].append(p)
    plan = {}
    for key, group in groups.items():
        rows, positions, index, values = [], [], [], []
        for p in group:
            if p.value.shape[0] != repeats:
                raise ValueError(f"a patch holds {p.value.shape[0]} values for {repeats} repeats")
            for r in range(repeats):
                rows.append(p.run * repeats + r)
                positions.append(p.site.position)
                index.append(p.site.index if p.site.index is not None else 0)
                values.append(p.value[r])
        plan[key] = (torch.tensor(rows), torch.tensor(positions), torch.tensor(index),
                     torch.stack(values))
    return plan


def run_patched(model: Any, ids: torch.Tensor, n_runs: int, patches: list[Patch],
                noise: Noise | None = None, repeats: int = 1) -> torch.Tensor:
    """Run ``n_runs`` copies of ``ids`` (``[seq]``), each ``repeats`` times (noise samples),
    with ``patches`` applied; return last-position logits ``[n_runs * repeats, vocab]``."""
    sizes = shape(model)
    batch = n_runs * repeats
    plan = _group(patches, repeats)
    with torch.no_grad(), model.trace(ids.unsqueeze(0).expand(batch, -1),
                                      remote=_remote(model)):
        if noise is not None:
            _add_noise(model, noise, batch)
        for layer in range(sizes.n_layers):
            for component in COMPONENT_ORDER:
                if (layer, component) not in plan:
                    continue
                rows, positions, index, values = plan[layer, component]
                target = _value(model, component, layer, batch)
                if component == "head":
                    heads = target.view(batch, target.shape[1], sizes.n_heads, -1)
                    heads[rows, positions, index] = values.to(heads.dtype)
                elif component == "neuron":
                    target[rows, positions, index] = values.to(target.dtype)
                else:
                    target[rows, positions] = values.to(target.dtype)
        logits = model.output.logits[:, -1].save()
    return logits


@contextmanager
def _frozen_weights(model: Any) -> Iterator[None]:
    """Turn off ``requires_grad`` on every local weight for the duration, then restore it."""
    params = [p for p in getattr(model, "_module", model).parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def gradients(model: Any, ids: torch.Tensor, wanted: set[tuple[str, int]], metric: Any,
              noise: Noise | None = None
              ) -> tuple[dict[tuple[str, int], torch.Tensor], dict[tuple[str, int], torch.Tensor],
                         torch.Tensor]:
    """One forward and one backward of ``ids`` (``[batch, seq]``): the activations ``wanted``,
    the gradient of the summed metric with respect to each, and the last-position logits."""
    n_layers = shape(model).n_layers
    batch = ids.shape[0]
    keys = [(component, layer) for layer in range(n_layers) for component in COMPONENT_ORDER
            if (component, layer) in wanted]
    acts: dict[tuple[str, int], torch.Tensor] = {}
    grads: dict[tuple[str, int], torch.Tensor] = {}
    live = {}
    with torch.enable_grad(), _frozen_weights(model), model.trace(ids, remote=_remote(model)):
        # Gradients are wanted for activations only: the weights are frozen for the trace and
        # the graph starts at the token embeddings.
        main_tensor(submodule(model, architecture(model).embed).output).requires_grad_(True)
        if noise is not None:
            _add_noise(model, noise, batch)
        for key in keys:
            live[key] = _value(model, key[0], key[1], None)
            acts[key] = live[key].detach().clone().view(batch, -1, live[key].shape[-1]).save()
        logits = model.output.logits[:, -1]
        saved_logits = logits.detach().clone().save()
        total = metric.fn(logits.to(torch.float64)).sum()
        with total.backward():
            for key in reversed(keys):
                grads[key] = live[key].grad.detach().view(batch, -1, live[key].shape[-1]).save()
    return acts, grads, saved_logits
