"""The nnsight executor: runs batches of patched forward passes, locally or on NDIF.

The executor packs many runs into one forward (the batch dimension), applies every patch with a
single indexed write per (layer, component), and computes and reads the logits at the last
position only (``logits_to_keep=1``: the unembedding of a large vocabulary is much of a short
prompt's cost). It knows
nothing about experiments: the planners in `tracewidget.tracing.experiments` decide which runs to
make. It is the portable executor (the only one for ``remote=True``); `local_executor` is the
fast one for models in this process.

Inside a trace, modules must be touched in the order the model executes them (nnsight 0.8), so
patches are applied layer by layer in `COMPONENT_ORDER`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from tracewidget.models.architectures import architecture, main_tensor, shape, submodule
from tracewidget.models.loading import remote_setting
from tracewidget.models.sharing import exclusive

from . import plan as plan_module
from .plan import (
    COMPONENT_ORDER,
    Noise,
    Patch,
    add_noise,
    component_module,
    group_patches,
    reads_input,
    write_patches,
)


def _remote(model: Any) -> bool | str:
    """The ``remote=`` for this model's traces. For a remote run, the functions this module
    calls inside a trace are shipped by value: NDIF has nnsight and torch, not tracewidget."""
    remote = remote_setting(model)
    if remote:
        import sys

        import nnsight

        from tracewidget.models import architectures

        nnsight.register(architectures)
        nnsight.register(plan_module)
        nnsight.register(sys.modules[__name__])
    return remote


def _value(model: Any, component: str, layer: int, batch: int | None) -> torch.Tensor:
    """The tensor of ``component`` at ``layer`` inside a trace: ``[batch, seq, features]``,
    or as the model holds it (possibly flattened) when ``batch`` is None."""
    module = component_module(model, component, layer)
    proxy = module.input if reads_input(component) else module.output
    return main_tensor(proxy, batch)


def record(model: Any, ids: torch.Tensor, wanted: set[tuple[str, int]],
           noise: Noise | None = None) -> tuple[dict[tuple[str, int], torch.Tensor], torch.Tensor]:
    """One forward of ``ids`` (``[batch, seq]``): the activations ``wanted`` as
    ``{(component, layer): [batch, seq, features]}``, and the last-position logits."""
    n_layers = shape(model).n_layers
    batch = ids.shape[0]
    saved: dict[tuple[str, int], torch.Tensor] = {}
    with exclusive(model), torch.no_grad(), \
            model.trace(ids, remote=_remote(model), logits_to_keep=1):
        if noise is not None:
            _add_noise(model, noise, batch)
        for layer in range(n_layers):
            for component in COMPONENT_ORDER:
                if (component, layer) in wanted:
                    saved[component, layer] = _value(model, component, layer, batch).clone().save()
        logits = model.output.logits[:, -1].save()
    return saved, logits


def _add_noise(model: Any, noise: Noise, batch: int) -> None:
    add_noise(main_tensor(submodule(model, architecture(model).embed).output, batch), noise,
              batch)


def run_patched(model: Any, ids: torch.Tensor, n_runs: int, patches: list[Patch],
                noise: Noise | None = None, repeats: int = 1) -> torch.Tensor:
    """Run ``n_runs`` copies of ``ids`` (``[seq]``), each ``repeats`` times (noise samples),
    with ``patches`` applied; return last-position logits ``[n_runs * repeats, vocab]``."""
    sizes = shape(model)
    batch = n_runs * repeats
    plan = group_patches(patches, repeats)
    with exclusive(model), torch.no_grad(), \
            model.trace(ids.unsqueeze(0).expand(batch, -1), remote=_remote(model),
                        logits_to_keep=1):
        if noise is not None:
            _add_noise(model, noise, batch)
        for layer in range(sizes.n_layers):
            for component in COMPONENT_ORDER:
                if (layer, component) not in plan:
                    continue
                write_patches(_value(model, component, layer, batch), component,
                              plan[layer, component], sizes.n_heads)
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
    with exclusive(model), torch.enable_grad(), _frozen_weights(model), \
            model.trace(ids, remote=_remote(model), logits_to_keep=1):
        # Gradients are wanted for activations only: the weights are frozen for the trace and
        # the graph starts at the (noised) token embeddings, marked after the noise is added
        # in place (autograd refuses in-place writes to a leaf that requires grad).
        if noise is not None:
            _add_noise(model, noise, batch)
        main_tensor(submodule(model, architecture(model).embed).output).requires_grad_(True)
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
