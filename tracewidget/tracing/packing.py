"""Packed batches: many runs laid end to end in one sequence, with the mask that keeps them apart.

The local executor computes a batch of patched runs as a single forward. Each run computes only
the tokens from its first patched position (the earlier ones cannot change under causal
attention) and only the blocks from its first patched block; its tokens are laid after the
previous run's, each with its real position in the prompt. The earlier tokens' keys and values
come from the base run (the unpatched prompt, once per noise sample), which sits in the cache in
front of the packed tokens. This module is the pure arithmetic of that layout, with no model:

* `pack` orders the runs by first block (so that the tokens computing block ``k`` are a prefix
  of the sequence) and gives every token its position, noise sample, run start and run end;
* `attention_mask` lets a token see, of its own noise sample, the base run's keys before its
  run's first position and its own run's tokens up to itself (within a sliding window, if any).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Packing:
    """Where a batch's runs lie in its packed sequence.

    Runs are sorted by their first block (``rank[run]`` is a run's place in that order), so the
    tokens that compute block ``k`` are the first ``active[k]``. Per token: ``positions`` (in
    the prompt) and ``samples`` (noise sample); per (run, sample) row, in packed order:
    ``starts`` and ``lasts``, the indices of its first and last token.
    """

    rank: list[int]
    positions: torch.Tensor
    samples: torch.Tensor
    starts: torch.Tensor
    lasts: torch.Tensor
    active: list[int]


def pack(first_blocks: list[int], first_positions: list[int], seq: int, repeats: int,
         n_blocks: int, device: torch.device | str = "cpu") -> Packing:
    """Lay out runs that start at ``first_blocks[i]`` and ``first_positions[i]`` of a prompt of
    ``seq`` tokens, each once per noise sample (``repeats``), for a model of ``n_blocks``."""
    n_runs = len(first_blocks)
    order = sorted(range(n_runs), key=first_blocks.__getitem__)
    positions: list[int] = []
    samples: list[int] = []
    starts: list[int] = []
    lasts: list[int] = []
    counts: list[int] = []
    for run in order:
        for sample in range(repeats):
            starts.append(len(positions))
            positions += range(first_positions[run], seq)
            samples += [sample] * (seq - first_positions[run])
            lasts.append(len(positions) - 1)
        counts.append(len(positions))
    blocks_sorted = [first_blocks[run] for run in order]
    active = [max((counts[i] for i, b in enumerate(blocks_sorted) if b <= k), default=0)
              for k in range(n_blocks)]
    rank = [0] * n_runs
    for i, run in enumerate(order):
        rank[run] = i
    return Packing(rank, torch.tensor(positions, device=device),
                   torch.tensor(samples, device=device), torch.tensor(starts, device=device),
                   torch.tensor(lasts, device=device), active)


def attention_mask(packing: Packing, seq: int, repeats: int, window: int | None,
                   dtype: torch.dtype) -> torch.Tensor:
    """The additive attention mask ``[1, 1, tokens, repeats * seq + tokens]`` of a packed batch:
    its keys are the base run's tokens (sample-major) followed by the packed tokens.

    A token of a run that starts at position ``f`` sees, of its own noise sample, the base run's
    keys before ``f`` and its own run's tokens up to itself (and, for a sliding ``window``, only
    those less than ``window`` positions back).
    """
    device = packing.positions.device
    base_positions = torch.arange(seq, device=device).repeat(repeats)
    base_samples = torch.arange(repeats, device=device).repeat_interleave(seq)
    owner = torch.zeros(len(packing.positions), dtype=torch.long, device=device)
    owner[packing.starts[1:]] = 1
    owner = owner.cumsum(0)  # which (run, sample) row each token belongs to
    first = packing.positions[packing.starts][owner]
    q_pos, q_sample = packing.positions[:, None], packing.samples[:, None]
    sees_base = (base_samples[None] == q_sample) & (base_positions[None] < first[:, None])
    sees_own = (owner[None] == owner[:, None]) & (packing.positions[None] <= q_pos)
    allowed = torch.cat([sees_base, sees_own], 1)
    if window is not None:
        key_pos = torch.cat([base_positions, packing.positions])
        allowed &= q_pos - key_pos[None] < window
    mask = torch.zeros(allowed.shape, dtype=dtype, device=device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min)[None, None]
