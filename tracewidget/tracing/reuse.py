"""Reusing recorded runs across engine calls, for a widget clicking through one pair of prompts.

Every sweep first records the prompts it patches (one forward each; on the local executor that
forward is also the sweep's base run, see `executors.Recording`). A widget runs many sweeps on
the same prompts: the overview, then the mlp and attn strips below a cell, the heads below
another, each of which would record the same prompts again. Inside ``with reusing(cache):`` the
engine's recordings go through ``cache`` (a `RunCache`), so later sweeps on the same prompts
start at once from the recordings made earlier.

A recording is reused only if it cannot differ from a new one: same model module, unchanged
since (`model_state`: no parameter or buffer written in place, replaced, moved or cast; the same
train/eval mode and attention implementation; no forward hook added or removed), same executor,
same token ids, same noise draws, and holding every activation asked for. When the model has
changed, every recording of it is dropped. A miss records the prompt again with every layer's
resid, mlp and attn outputs and every layer of the components asked for (for a model in this
process: they cost little beside the forward), so that a click's strips, and later clicks, find
what they need.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import torch

from tracewidget.models.architectures import model_config, shape
from tracewidget.models.loading import remote_setting
from tracewidget.models.sharing import exclusive

from .executors import Executor, Recording
from .local_executor import hf_module
from .plan import LAYER_COMPONENTS, Noise

_ACTIVE: ContextVar[RunCache | None] = ContextVar("tracewidget_run_cache", default=None)


def model_state(model: Any) -> tuple:
    """What a run of ``model`` depends on besides its input, cheaply: every parameter's and
    buffer's storage, version counter (bumped by every in-place write), dtype and device; the
    train/eval mode; the attention implementation; and the forward hooks on every module.
    Writes through ``.data`` bypass the version counter (as they bypass autograd): after such
    an edit, call `RunCache.clear`."""
    module = hf_module(model)
    tensors = tuple((t.data_ptr(), t._version, t.dtype, t.device)
                    for t in (*module.parameters(), *module.buffers()))
    hooks = tuple((name, tuple(m._forward_hooks), tuple(m._forward_pre_hooks))
                  for name, m in module.named_modules()
                  if m._forward_hooks or m._forward_pre_hooks)
    attention = getattr(model_config(model), "_attn_implementation", None)
    return module.training, attention, tensors, hooks


def _noise_key(noise: Noise | None) -> tuple | None:
    if noise is None:
        return None
    values = noise.values.detach().cpu().contiguous()
    raw = values.reshape(-1).view(torch.uint8).numpy().tobytes()  # any dtype, bfloat16 too
    digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
    return noise.positions, tuple(values.shape), str(values.dtype), digest


@dataclass
class _Entry:
    module: weakref.ref
    state: tuple
    noise: torch.Tensor | None
    recording: Recording


class RunCache:
    """The recordings of the last ``size`` prompts (and noise draws) a sweep recorded, for
    reuse by later sweeps (see the module docstring); thread-safe."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every recording (e.g. after editing weights through ``.data``)."""
        with self._lock:
            self._entries.clear()

    def record(self, chosen: Executor, ids: torch.Tensor, wanted: set[tuple[str, int]],
               noise: Noise | None = None) -> Recording:
        """``chosen.record(ids, wanted, noise)``, or the same prompt's recording kept earlier."""
        return self._record(chosen, [ids], wanted, noise)[0]

    def record_all(self, chosen: Executor, prompts: list[torch.Tensor],
                   wanted: set[tuple[str, int]]) -> list[Recording]:
        """``chosen.record_all(prompts, wanted)``, for the prompts not recorded earlier."""
        return self._record(chosen, prompts, wanted, None)

    def _record(self, chosen: Executor, prompts: list[torch.Tensor],
                wanted: set[tuple[str, int]], noise: Noise | None) -> list[Recording]:
        model = chosen.model
        module = hf_module(model)
        keys = [(id(module), chosen.name, tuple(ids.tolist()), _noise_key(noise))
                for ids in prompts]
        with exclusive(model):  # nothing changes the model while it is compared and run
            state = model_state(model)
            found: list[Recording | None] = []
            held: set[tuple[str, int]] = set()
            with self._lock:
                self._drop_stale(module, state)
                for key in keys:
                    entry = self._entries.get(key)
                    if entry is not None and wanted <= entry.recording.acts.keys() and \
                            _same_noise(entry.noise, noise):
                        self._entries.move_to_end(key)
                        self.hits += 1
                        found.append(entry.recording)
                    else:
                        found.append(None)
                        held |= set() if entry is None else set(entry.recording.acts)
            missing = [i for i, recording in enumerate(found) if recording is None]
            if not missing:
                return found
            widened = wanted | held
            if not remote_setting(model):  # a remote run downloads what it saves: not more
                components = set(LAYER_COMPONENTS) | {c for c, _ in wanted}
                widened |= {(c, x) for c in components for x in range(shape(model).n_layers)}
            fresh = [chosen.record(prompts[missing[0]], widened, noise)] if noise is not None \
                else chosen.record_all([prompts[i] for i in missing], widened)
            with self._lock:
                for i, recording in zip(missing, fresh, strict=True):
                    self.misses += 1
                    found[i] = recording
                    self._entries[keys[i]] = _Entry(
                        weakref.ref(module), state, None if noise is None else noise.values,
                        recording)
                    self._entries.move_to_end(keys[i])
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return found

    def _drop_stale(self, module: torch.nn.Module, state: tuple) -> None:
        """Drop the recordings of ``module`` made before it changed, and of dead modules."""
        for key, entry in list(self._entries.items()):
            held = entry.module()
            if held is None or (held is module and entry.state != state):
                del self._entries[key]


def _same_noise(held: torch.Tensor | None, noise: Noise | None) -> bool:
    if held is None or noise is None:
        return held is None and noise is None
    return torch.equal(held, noise.values)


@contextmanager
def reusing(cache: RunCache | None) -> Iterator[None]:
    """Record prompts through ``cache`` in this block (None: record every time, the default)."""
    token = _ACTIVE.set(cache)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def record(chosen: Executor, ids: torch.Tensor, wanted: set[tuple[str, int]],
           noise: Noise | None = None) -> Recording:
    """``chosen.record(...)``, through the `RunCache` of the enclosing `reusing` if any."""
    cache = _ACTIVE.get()
    if cache is None:
        return chosen.record(ids, wanted, noise)
    return cache.record(chosen, ids, wanted, noise)


def record_all(chosen: Executor, prompts: list[torch.Tensor],
               wanted: set[tuple[str, int]]) -> list[Recording]:
    """``chosen.record_all(...)``, through the `RunCache` of the enclosing `reusing` if any."""
    cache = _ACTIVE.get()
    if cache is None:
        return chosen.record_all(prompts, wanted)
    return cache.record_all(chosen, prompts, wanted)
