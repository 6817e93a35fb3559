"""The fast local executor: the same batches as the nnsight executor, computed with less work.

For a model in this process it runs the Hugging Face module directly with PyTorch hooks and
skips what cannot change:

* **one base run per sweep.** The unpatched prompt (once per noise sample) is run a single time,
  keeping every block's output and the keys and values of every token (`LocalRunner`).
* **the layers below a batch's first patched layer.** They compute the same thing in every run:
  during the batch the lower blocks are short-circuited to return the base run's state.
* **the tokens before a batch's first patched (or noised) position.** With causal attention
  nothing later changes them: the batch gets their keys and values from the base run's cache and
  computes only the tokens from that position on. `sweep.batches` groups runs in bands of layers
  and positions so that a batch skips a lot.
* **the unembedding** is computed at the last position only (``logits_to_keep=1``), which for a
  large vocabulary is much of a short prompt's cost.

It writes exactly what the nnsight executor writes (`plan.write_patches` on the same index
tensors); the tests compare the two on every experiment and every model family.
"""

from __future__ import annotations

import copy
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


class LocalRunner:
    """Runs the batches of one sweep of ``ids`` (with ``noise`` and ``repeats`` noise samples).

    The unpatched base run (every block's output and the keys and values of every token, per
    noise sample) is computed once, when the first batch needs it; each batch then costs one
    forward of its own tokens and layers. Calling the runner is `executor.run_patched` for this
    sweep: same patches, same result.
    """

    def __init__(self, model: Any, ids: torch.Tensor, noise: Noise | None = None,
                 repeats: int = 1) -> None:
        self.model, self.noise, self.repeats = model, noise, repeats
        self.module = hf_module(model)
        self.ids = ids.to(next(self.module.parameters()).device)
        self.blocks = submodule(self.module, architecture(model).blocks)
        self._states: list[torch.Tensor] | None = None
        self._cache: Any = None

    def _base(self) -> tuple[list[torch.Tensor], Any]:
        """Block outputs ``[repeats, seq, d]`` and the KV cache of the unpatched run(s)."""
        if self._states is None:
            states: dict[int, torch.Tensor] = {}
            handles = [blk.register_forward_hook(
                lambda mod, args, out, i=i: states.__setitem__(i, main_tensor(out, self.repeats)
                                                               .clone()))
                for i, blk in enumerate(self.blocks)]
            try:
                with _hooks(self.model, {}, self.noise, self.repeats, 0, self.repeats):
                    out = self.module(input_ids=self.ids[None].expand(self.repeats, -1),
                                      use_cache=True, logits_to_keep=1)
            finally:
                for handle in handles:
                    handle.remove()
            self._states = [states[i] for i in range(len(self.blocks))]
            self._cache = getattr(out, "cache", None) or out.past_key_values
        return self._states, self._cache

    def __call__(self, n_runs: int, patches: list[Patch]) -> torch.Tensor:
        """Last-position logits ``[n_runs * repeats, vocab]`` of the patched runs."""
        repeats, ids = self.repeats, self.ids
        batch = n_runs * repeats
        plan = group_patches(patches, repeats)
        starts = [int(group[1].min()) for group in plan.values()]
        if self.noise is not None:
            starts.append(min(self.noise.positions))
        offset = min(min(starts, default=len(ids) - 1), len(ids) - 1)
        first_layer = min((layer for layer, _ in plan), default=0)
        with torch.no_grad():
            kwargs: dict[str, Any] = {}
            skipped = nullcontext()
            if offset > 0 or first_layer > 0:
                states, cache = self._base()
                if offset > 0:
                    kwargs = {_cache_argument(self.module): self._prefix(cache, offset, n_runs),
                              "use_cache": True}
                if first_layer > 0:
                    entering = states[first_layer - 1][:, offset:].repeat(n_runs, 1, 1)
                    skipped = _short_circuit(self.blocks[:first_layer], entering)
            noise = self.noise if first_layer == 0 else None
            with skipped, _hooks(self.model, plan, noise, batch, offset, repeats):
                out = self.module(input_ids=ids[None, offset:].expand(batch, -1),
                                  logits_to_keep=1, **kwargs)
        return out.logits[:, -1]

    def _prefix(self, cache: Any, offset: int, n_runs: int) -> Any:
        """The base run's keys and values of the first ``offset`` tokens, one copy per row
        (row ``r * repeats + s`` gets noise sample ``s``)."""
        if not getattr(cache, "is_croppable", True):  # e.g. sliding-window layers
            prefix = self.module(input_ids=self.ids[None, :offset], use_cache=True,
                                 logits_to_keep=1)
            kv = getattr(prefix, "cache", None) or prefix.past_key_values
            kv.batch_repeat_interleave(n_runs * self.repeats)
            return kv
        kv = copy.deepcopy(cache)
        kv.crop(offset - len(self.ids))  # a negative count removes that many tokens
        kv.batch_select_indices(torch.arange(self.repeats).repeat(n_runs).to(self.ids.device))
        return kv


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
