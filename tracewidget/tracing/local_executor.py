"""The fast local executor: the same batches as the nnsight executor, computed with less work.

For a model in this process it runs the Hugging Face module directly with PyTorch hooks and
skips what cannot change:

* **the shared prefix.** Tokens before the first patched (or noised) position are the same in
  every run of a batch, and with causal attention nothing later changes them. They are run once,
  with batch size 1, and their keys and values are handed to the batch as a cache; the batch
  computes only the tokens from that position on. Runs are ordered by position before batching
  (`sweep.run_sweep`), so a batch usually shares a long prefix.
* **the layers below the first patched layer.** They compute the same thing in every run: one
  base run (or one per noise sample) records the hidden state entering that layer, and during the
  batch the lower blocks are short-circuited to return it.
* **the unembedding** is computed at the last position only (``logits_to_keep=1``), which for a
  large vocabulary is much of a short prompt's cost.

It writes exactly what the nnsight executor writes (`plan.write_patches` on the same index
tensors); the tests compare the two on every experiment and every model family.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Any

import torch

from tracewidget.models.architectures import architecture, main_tensor, shape, submodule

from .plan import Noise, Patch, component_module, group_patches, write_patches


def hf_module(model: Any) -> torch.nn.Module:
    """The Hugging Face model inside an nnsight model (or the model itself)."""
    return getattr(model, "_module", model)


def can_run_locally(model: Any) -> bool:
    """True when the weights are real tensors in this process (not on the meta device)."""
    module = hf_module(model)
    first = next(module.parameters(), None)
    return isinstance(module, torch.nn.Module) and first is not None and \
        first.device.type != "meta"


@contextmanager
def _hooks(model: Any, plan: dict, noise: Noise | None, batch: int, offset: int,
           repeats: int) -> Iterator[None]:
    """Register the plan's writes (positions shifted by ``offset``) as forward hooks."""
    module = hf_module(model)
    n_heads = shape(model).n_heads
    with ExitStack() as stack:
        for (layer, component), (rows, positions, index, values) in plan.items():
            shifted = (rows, positions - offset, index, values)
            target = component_module(module, component, layer)
            if component in ("head", "neuron"):
                def pre(mod, args, kwargs, component=component, shifted=shifted):
                    x = args[0] if args else kwargs["hidden_states"]
                    write_patches(main_tensor(x, batch), component, shifted, n_heads)
                handle = target.register_forward_pre_hook(pre, with_kwargs=True)
            else:
                def post(mod, args, output, component=component, shifted=shifted):
                    write_patches(main_tensor(output, batch), component, shifted, n_heads)
                handle = target.register_forward_hook(post)
            stack.callback(handle.remove)
        if noise is not None:
            values = noise.values.repeat(batch // repeats, 1, 1)
            positions = [p - offset for p in noise.positions]

            def add_noise(mod, args, output):
                embeds = main_tensor(output, batch)
                embeds[:, positions] += values.to(embeds.device, embeds.dtype)

            embed = submodule(module, architecture(model).embed)
            stack.callback(embed.register_forward_hook(add_noise).remove)
        yield


def run_patched_local(model: Any, ids: torch.Tensor, n_runs: int, patches: list[Patch],
                      noise: Noise | None = None, repeats: int = 1) -> torch.Tensor:
    """`executor.run_patched`, computed here with less work; same arguments, same result."""
    module = hf_module(model)
    ids = ids.to(next(module.parameters()).device)
    batch = n_runs * repeats
    plan = group_patches(patches, repeats)
    starts = [int(group[1].min()) for group in plan.values()]
    if noise is not None:
        starts.append(min(noise.positions))
    offset = min(min(starts, default=len(ids) - 1), len(ids) - 1)
    first_layer = min((layer for layer, _ in plan), default=0)
    with torch.no_grad():
        skipped = nullcontext()
        if first_layer > 0:
            # the hidden state entering `first_layer`, unpatched (with each noise sample)
            entering: dict[str, torch.Tensor] = {}

            def keep(mod, args, output):
                entering["h"] = main_tensor(output, repeats).clone()
                raise _Recorded  # the layers above are not needed

            blocks = submodule(module, architecture(model).blocks)
            cache = _prefix_cache(module, ids, offset, repeats)
            handle = blocks[first_layer - 1].register_forward_hook(keep)
            try:
                with _hooks(model, {}, noise, repeats, offset, repeats):
                    module(input_ids=ids[None, offset:].expand(repeats, -1), logits_to_keep=1,
                           **cache)
            except _Recorded:
                pass
            finally:
                handle.remove()
            skipped = _short_circuit(blocks[:first_layer], entering["h"].repeat(n_runs, 1, 1))
        cache = _prefix_cache(module, ids, offset, batch)
        with skipped, _hooks(model, plan, noise if first_layer == 0 else None, batch, offset,
                             repeats):
            out = module(input_ids=ids[None, offset:].expand(batch, -1), logits_to_keep=1,
                         **cache)
    return out.logits[:, -1]


class _Recorded(Exception):
    """Stops the base run once the state it was run for is recorded."""


def _prefix_cache(module: torch.nn.Module, ids: torch.Tensor, offset: int, batch: int) -> dict:
    """Keyword arguments that hand ``batch`` runs the keys and values of the first ``offset``
    tokens, computed once (no arguments when there is no prefix)."""
    if offset == 0:
        return {}
    prefix = module(input_ids=ids[None, :offset], use_cache=True, logits_to_keep=1)
    kv = getattr(prefix, "cache", None) or prefix.past_key_values
    kv.batch_repeat_interleave(batch)
    return {_cache_argument(module): kv, "use_cache": True}


@contextmanager
def _short_circuit(blocks: Any, hidden: torch.Tensor) -> Iterator[None]:
    """Make ``blocks`` return ``hidden`` without computing (blocks output a tensor under
    transformers 5); the block after them then starts from the recorded state."""
    def recorded(*args: Any, **kwargs: Any) -> torch.Tensor:
        return hidden

    # nnsight may have put a forward of its own on the instance: put back whatever was there
    before = [blk.__dict__.get("forward") for blk in blocks]
    for blk in blocks:
        blk.forward = recorded
    try:
        yield
    finally:
        for blk, forward in zip(blocks, before, strict=True):
            if forward is None:
                del blk.forward
            else:
                blk.forward = forward


def _cache_argument(module: torch.nn.Module) -> str:
    """transformers 5.24 renamed ``past_key_values`` to ``cache``; earlier 5.x take the old
    name."""
    return "cache" if "cache" in inspect.signature(module.forward).parameters else \
        "past_key_values"
