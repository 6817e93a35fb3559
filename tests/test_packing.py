"""The packed layout and its attention mask, worked by hand on small cases."""

from __future__ import annotations

import torch

from tracewidget.tracing.packing import attention_mask, pack

# Two runs over a 4-token prompt: run 0 starts at block 1, position 2; run 1 at block 0,
# position 3. Run 1 computes block 0, so it comes first; run 0's tokens follow.
TWO_RUNS = ([1, 0], [2, 3], 4)


def test_runs_are_ordered_by_first_block_and_keep_their_positions():
    p = pack(*TWO_RUNS, repeats=1, n_blocks=3)
    assert p.rank == [1, 0]
    assert p.positions.tolist() == [3, 2, 3]
    assert p.samples.tolist() == [0, 0, 0]
    assert p.starts.tolist() == [0, 1] and p.lasts.tolist() == [0, 2]
    assert p.active == [1, 3, 3]  # block 0: run 1's one token; from block 1: all three


def test_noise_samples_repeat_each_run_sample_by_sample():
    p = pack(*TWO_RUNS, repeats=2, n_blocks=2)
    assert p.positions.tolist() == [3, 3, 2, 3, 2, 3]
    assert p.samples.tolist() == [0, 1, 0, 0, 1, 1]
    assert p.starts.tolist() == [0, 1, 2, 4] and p.lasts.tolist() == [0, 1, 3, 5]
    assert p.active == [2, 6]


def test_an_unpatched_run_computes_its_last_token_only():
    p = pack([2], [3], 4, repeats=1, n_blocks=2)
    assert p.positions.tolist() == [3] and p.active == [0, 0]


def _allowed(mask):
    return (mask[0, 0] == 0).int().tolist()


def test_mask_sees_the_base_run_before_the_run_and_the_run_up_to_itself():
    p = pack(*TWO_RUNS, repeats=1, n_blocks=3)
    mask = attention_mask(p, 4, 1, None, torch.float32)
    assert mask.shape == (1, 1, 3, 4 + 3)
    # keys: base positions 0 1 2 3, then packed tokens (run 1 @3, run 0 @2, run 0 @3)
    assert _allowed(mask) == [
        [1, 1, 1, 0, 1, 0, 0],  # run 1 at 3: base 0-2, itself
        [1, 1, 0, 0, 0, 1, 0],  # run 0 at 2: base 0-1, itself
        [1, 1, 0, 0, 0, 1, 1],  # run 0 at 3: base 0-1, its own 2 and itself
    ]
    assert mask.min() == torch.finfo(torch.float32).min


def test_mask_keeps_noise_samples_apart():
    p = pack([0], [1], 3, repeats=2, n_blocks=1)
    # keys: base sample 0 (positions 0 1 2), base sample 1 (0 1 2), packed s0@1 s0@2 s1@1 s1@2
    assert _allowed(attention_mask(p, 3, 2, None, torch.float32)) == [
        [1, 0, 0, 0, 0, 0, 1, 0, 0, 0],
        [1, 0, 0, 0, 0, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 1, 0, 0, 0, 0, 1, 1],
    ]


def test_sliding_window_hides_keys_that_many_positions_back():
    p = pack(*TWO_RUNS, repeats=1, n_blocks=3)
    assert _allowed(attention_mask(p, 4, 1, 2, torch.float32)) == [
        [0, 0, 1, 0, 1, 0, 0],  # run 1 at 3 sees positions 2 and 3 only
        [0, 1, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1, 1],
    ]
