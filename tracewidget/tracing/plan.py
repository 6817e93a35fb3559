"""The plan of a batch of patched runs, shared by every executor.

A *run* is one forward pass of the base prompt with some activations replaced. Executors differ
in how they run a batch (nnsight traces, local or remote; plain PyTorch hooks), never in what
they write: both take the index tensors made here and write them with `write_patches`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import torch

from tracewidget.models.architectures import architecture, block, submodule

# The components a site can name; the first three are whole per-layer vectors, which the
# layer x token sweeps (patch, noise_trace, the widget's overview and strips) restore.
COMPONENTS = ("resid", "mlp", "attn", "head", "neuron")
LAYER_COMPONENTS = COMPONENTS[:3]
# Execution order of the patchable places inside one block.
COMPONENT_ORDER = ("head", "attn", "neuron", "mlp", "resid")


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


def first_token(positions: list[int], seq: int) -> int:
    """The first position a run must compute: its first patched one. A run without patches is
    the base run, whose score needs only its last token."""
    return min(positions, default=seq - 1)


@dataclass(frozen=True)
class Run:
    """One patched forward pass (times the noise samples) that fills grid cell ``cell``."""

    cell: tuple[int, int]
    patches: tuple[tuple[Site, torch.Tensor], ...] = field(default=())

    @property
    def start(self) -> tuple[int, int]:
        """The first patched layer and position ((0, 0) without patches). Batches are made of
        runs in this order, layer first, so that a batch's runs start at nearby blocks: it
        computes no block below its first run's, and each block it computes holds most of its
        tokens (each streamed weight multiplies many rows). Position first, every batch would
        run every block, the lower ones for a few tokens each (a third slower on SmolLM2)."""
        sites = [site for site, _ in self.patches]
        return (min((s.layer for s in sites), default=0),
                min((s.position for s in sites), default=0))

    def first_token(self, seq: int) -> int:
        """See the module function `first_token`."""
        return first_token([site.position for site, _ in self.patches], seq)


@dataclass(frozen=True)
class Noise:
    """Add ``values[sample]`` (``[samples, len(positions), d_model]``) to the token embeddings at
    ``positions``: ROME's corruption of the subject."""

    positions: tuple[int, ...]
    values: torch.Tensor


def reads_input(component: str) -> bool:
    """Heads and neurons live in the *input* of a projection (the concatenated head outputs,
    the MLP's hidden activations); every other site is a module's output."""
    return component in ("head", "neuron")


def add_noise(embeds: torch.Tensor, noise: Noise, batch: int) -> None:
    """Add ``noise`` to token embeddings ``[batch, seq, d]`` in place: sample ``s`` goes to every
    row ``r`` with ``r % samples == s`` (runs are laid out sample-minor)."""
    values = noise.values.to(embeds.device, embeds.dtype)
    embeds[:, list(noise.positions)] += values.repeat(batch // values.shape[0], 1, 1)


def component_module(model: Any, component: str, layer: int) -> Any:
    arch = architecture(model)
    blk = block(model, layer)
    path = {"head": arch.attn_out_proj, "attn": arch.attn, "neuron": arch.mlp_out_proj,
            "mlp": arch.mlp}.get(component)
    return blk if path is None else submodule(blk, path)


def group_patches(patches: list[Patch], repeats: int) -> dict[tuple[int, str], tuple]:
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



def write_patches(target: torch.Tensor, component: str, plan: tuple, n_heads: int) -> None:
    """Write one (layer, component) group of a plan into ``target`` (``[batch, seq, f]``) in
    place: whole vectors for resid/mlp/attn, one head's slice, or one neuron."""
    rows, positions, index, values = plan
    values = values.to(target.device, target.dtype)
    if component == "head":
        heads = target.view(target.shape[0], target.shape[1], n_heads, -1)
        heads[rows, positions, index] = values
    elif component == "neuron":
        target[rows, positions, index] = values
    else:
        target[rows, positions] = values
