"""The fast local executor: the same batches as the nnsight executor, computed with less work.

For a model in this process it runs the Hugging Face module directly with PyTorch hooks and
computes only what a patch can change:

* **one base run per sweep, and it is the recording.** The unpatched prompt (once per noise
  sample) is run a single time, keeping every block's input and output and the keys and values
  of every token (`PromptRun`); that forward also records the activations the sweep pastes and
  the prompt's score, so the prompt a sweep patches runs once, not once to record it and once
  more to start the batches from.
* **no token before a run's first patched position.** With causal attention nothing later
  changes them: their keys and values (noise included) come from the base run.
* **no block below a run's first patched layer.** The blocks below it compute the same thing in
  every run; they hand the run the base run's state instead (`_ragged`).
* **one forward per batch, whatever its runs' layers and positions.** A batch is *packed*: the
  tokens each run computes are laid end to end in one sequence, each with its own position, and
  an attention mask lets a token see the base run's keys before its run's first position and its
  own run's tokens up to itself (`packing.attention_mask`). Every run thus computes exactly its own
  triangle of layers x tokens, and the weights are streamed once per batch, not once per run.
  Each block hands the next one only the tokens that one computes (`_ragged`).
* **the unembedding** is computed at each run's last token only, and for a built-in metric
  without the whole logits: from the final hidden states, a slice of the vocabulary at a time
  (`metrics.Readout`), on a model whose logits a recording has seen to be exactly its output
  embedding of those states (`plain_head`).

It writes exactly what the nnsight executor writes (`plan.write_patches` on the same values);
the tests compare the two on every experiment and every model family, sliding windows included.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from transformers import DynamicCache

from tracewidget.models.architectures import (
    ARCHITECTURES,
    architecture,
    main_tensor,
    model_config,
    shape,
    submodule,
)
from tracewidget.models.sharing import exclusive

from .metrics import Metric
from .packing import Packing, attention_mask, pack
from .plan import (
    Noise,
    Patch,
    add_noise,
    component_module,
    first_token,
    group_patches,
    reads_input,
    write_patches,
)


def hf_module(model: Any) -> torch.nn.Module:
    """The Hugging Face model inside an nnsight model (or the model itself)."""
    return getattr(model, "_module", model)


# Attention implementations that apply a custom 4D mask (flash attention ignores it).
MASKED_ATTENTION = ("eager", "sdpa")
# Families the packed batches cannot run: GPT-Neo's blocks return tuples, and its attention
# masks keys by their index in the sequence (a causal buffer of max_position_embeddings rows),
# not by the positions a packed batch gives each token.
UNPACKABLE_FAMILIES = frozenset({"gpt_neo"})
# The families whose packed batches the tests compare with the reference. A family registered
# later may derive positions from the mask or the sequence (ALiBi models such as BLOOM do) and
# runs on the nnsight executor unless `use_executor("local")` asks for this one; so does a
# discovered family (tracewidget.models.discovery).
VERIFIED_FAMILIES = frozenset(ARCHITECTURES) - UNPACKABLE_FAMILIES


def can_run_locally(model: Any) -> bool:
    """True when the weights are real tensors in this process (not on the meta device), the
    attention applies the packed batches' masks (`MASKED_ATTENTION`) and the family's blocks
    can be packed (not `UNPACKABLE_FAMILIES`)."""
    module = hf_module(model)
    first = next(module.parameters(), None)
    cfg = model_config(model)
    attention = getattr(cfg, "_attn_implementation", None) or "eager"
    return isinstance(module, torch.nn.Module) and first is not None and \
        first.device.type != "meta" and attention in MASKED_ATTENTION and \
        cfg.model_type not in UNPACKABLE_FAMILIES


def sliding_window(model: Any, layer: int) -> int | None:
    """The attention window of ``layer`` in tokens (a query sees the keys less than that many
    positions back), or None when it sees the whole prefix. Mistral and Phi-3 slide every layer;
    Gemma 2/3 and Qwen 2/3 name each layer's kind in ``layer_types``; GPT-Neo names them
    "local" or "global" in ``attention_layers`` and calls the window ``window_size``."""
    cfg = model_config(model)
    if getattr(cfg, "attention_layers", None) is not None:
        local = cfg.attention_layers[layer] == "local"
        return int(cfg.window_size) if local else None
    window = getattr(cfg, "sliding_window", None)
    kinds = getattr(cfg, "layer_types", None)
    if not window or (kinds is not None and kinds[layer] != "sliding_attention"):
        return None
    return int(window)


def _at_site(module: torch.nn.Module, component: str, layer: int,
             use: Any) -> torch.utils.hooks.RemovableHandle:
    """Hook ``use(tensor)`` on the tensor that ``component`` at ``layer`` names: the input of
    the output projection for a head or a neuron, the module's output otherwise."""
    target = component_module(module, component, layer)
    if reads_input(component):
        def pre(mod, args, kwargs):
            use(args[0] if args else kwargs["hidden_states"])
        return target.register_forward_pre_hook(pre, with_kwargs=True)
    return target.register_forward_hook(lambda mod, args, output: use(output))


@contextmanager
def _hooks(model: Any, plan: dict, noise: Noise | None = None) -> Iterator[None]:
    """Register ``plan``'s writes (rows and positions of a packed batch, see `LocalRunner`) and
    ``noise`` (for the base run) as forward hooks."""
    module = hf_module(model)
    n_heads = shape(model).n_heads
    with ExitStack() as stack:
        for (layer, component), group in plan.items():
            def write(x, component=component, group=group):
                write_patches(main_tensor(x, 1), component, group, n_heads)
            stack.callback(_at_site(module, component, layer, write).remove)
        if noise is not None:
            def noised(mod, args, output):
                samples = noise.values.shape[0]
                add_noise(main_tensor(output, samples), noise, samples)

            embed = submodule(module, architecture(model).embed)
            stack.callback(embed.register_forward_hook(noised).remove)
        yield


# The models whose last recording saw their logits to be exactly their output embedding (a plain
# nn.Linear) of the base model's final hidden states, with nothing after it (no soft-capping or
# scaling): for those a sweep may compute a built-in metric from the hidden states itself.
_PLAIN_HEADS: weakref.WeakKeyDictionary[torch.nn.Module, bool] = weakref.WeakKeyDictionary()


def plain_head(model: Any) -> torch.nn.Linear | None:
    """The output embedding of ``model`` when its last recording (`run_prompt` with logits)
    found the logits to be exactly that embedding of the base model's final hidden states and
    its weights are in memory, else None (not seen yet, another head, logits changed after it,
    or weights that an offloading hook loads only for the module's own forward)."""
    module = hf_module(model)
    head = module.get_output_embeddings() if _PLAIN_HEADS.get(module, False) else None
    return head if head is not None and head.weight.device.type != "meta" else None


def _watch_head(module: torch.nn.Module, stack: ExitStack) -> dict[str, torch.Tensor] | None:
    """Hooks (removed by ``stack``) that keep, during one forward of ``module``, what
    `_head_is_plain` compares: the base model's final hidden states and the output embedding's
    input and output. None when that embedding is not a plain ``nn.Linear``."""
    head = module.get_output_embeddings()
    if type(head) is not torch.nn.Linear:
        return None
    seen: dict[str, torch.Tensor] = {}

    def keep_final(mod, args, out):
        seen["final"] = out[0] if isinstance(out, tuple) else out.last_hidden_state

    def keep_head(mod, args, out):
        seen["input"], seen["output"] = args[0], out

    stack.callback(module.base_model.register_forward_hook(keep_final).remove)
    stack.callback(head.register_forward_hook(keep_head).remove)
    return seen


def _head_is_plain(seen: dict[str, torch.Tensor] | None, logits: torch.Tensor) -> bool:
    """Whether the model's last-position ``logits`` are exactly its output embedding of the
    base model's final hidden states (`_watch_head` kept them)."""
    if seen is None or not {"final", "input", "output"} <= seen.keys():
        return False
    last = seen["final"][:, -1:]
    return seen["input"].shape == last.shape and torch.equal(seen["input"], last) and \
        torch.equal(seen["output"], logits)


@dataclass(frozen=True)
class PromptRun:
    """Rows of one length run unpatched and kept whole: a prompt once per noise sample, or
    several prompts at once. Per row: the first block's input, every block's output and every
    layer's keys and values, flattened to ``[rows * seq, ...]`` (row-major; keys and values
    ``[1, kv_heads, rows * seq, head_dim]``), the activations asked for
    (``{(component, layer): [rows, seq, features]}``) and the last-position logits
    ``[rows, vocab]`` (None when the run was made only to be a sweep's base run, which needs
    no unembedding).

    It is both a recording (the values a sweep pastes, and the scores of the prompt) and the
    base run the packed batches of a sweep of the prompt start from, so one forward serves
    both."""

    seq: int
    inputs: torch.Tensor
    states: list[torch.Tensor]
    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    acts: dict[tuple[str, int], torch.Tensor]
    logits: torch.Tensor | None

    @property
    def repeats(self) -> int:
        return self.inputs.shape[0] // self.seq

    def rows(self, group: range) -> PromptRun:
        """The run of rows ``group`` only (views, no copy): one prompt of several run
        together, or the base run of a sweep of some noise samples."""
        flat = slice(group.start * self.seq, group.stop * self.seq)
        return PromptRun(self.seq, self.inputs[flat], [s[flat] for s in self.states],
                         [k[:, :, flat] for k in self.keys], [v[:, :, flat] for v in self.values],
                         {key: a[group.start:group.stop] for key, a in self.acts.items()},
                         None if self.logits is None else self.logits[group.start:group.stop])


def run_prompt(model: Any, ids: torch.Tensor, wanted: AbstractSet[tuple[str, int]] = frozenset(),
               noise: Noise | None = None, logits: bool = True) -> PromptRun:
    """One forward kept as a `PromptRun` with the activations ``wanted``: of ``ids``
    (``[seq]``) once per sample of ``noise``, or of several prompts of one length
    (``[rows, seq]``, without noise). With ``logits=False`` the model runs without its head."""
    module = hf_module(model)
    blocks = submodule(module, architecture(model).blocks)
    batch = ids.to(next(module.parameters()).device)
    if batch.ndim == 1:
        batch = batch[None].expand(1 if noise is None else noise.values.shape[0], -1)
    elif noise is not None:
        raise ValueError("noise is drawn for one prompt: pass its ids as [seq]")
    repeats, seq = batch.shape
    flat: dict[Any, torch.Tensor] = {}
    acts: dict[tuple[str, int], torch.Tensor] = {}

    def keep(key: Any, tensor: torch.Tensor) -> None:
        flat[key] = main_tensor(tensor, repeats).reshape(repeats * seq, -1).clone()

    def keep_site(key: tuple[str, int], tensor: torch.Tensor) -> None:
        acts[key] = main_tensor(tensor, repeats).clone()

    cache = DynamicCache()  # plain layers keep every token's keys, windows or not
    # a block's output is its layer's resid: the states are kept, not recorded twice
    sites = {(c, x) for c, x in wanted if c != "resid"}
    with exclusive(model), ExitStack() as stack:
        stack.callback(blocks[0].register_forward_pre_hook(
            lambda mod, args: keep("inputs", args[0])).remove)
        for k, blk in enumerate(blocks):
            stack.callback(blk.register_forward_hook(
                lambda mod, args, out, k=k: keep(k, out)).remove)
        for component, layer in sites:
            stack.callback(_at_site(module, component, layer,
                                    partial(keep_site, (component, layer))).remove)
        # without the head when the logits are not wanted: the unembedding is costly
        body = module if logits else module.base_model
        extra = {"logits_to_keep": 1} if logits else {}
        seen = _watch_head(module, stack) if logits else None
        with torch.no_grad(), _hooks(model, {}, noise):
            out = body(input_ids=batch, use_cache=True, **{_cache_argument(body): cache},
                       **extra)
        if logits:
            _PLAIN_HEADS[module] = _head_is_plain(seen, out.logits)
    states = [flat[k] for k in range(len(blocks))]
    acts.update({("resid", x): states[x].view(repeats, seq, -1)
                 for c, x in wanted if c == "resid"})

    def packed(kv: torch.Tensor) -> torch.Tensor:  # [rows, heads, seq, d] -> packed
        return kv.transpose(0, 1).reshape(1, kv.shape[1], repeats * seq, kv.shape[-1])

    return PromptRun(seq, flat["inputs"], states, [packed(layer.keys) for layer in cache.layers],
                     [packed(layer.values) for layer in cache.layers], acts,
                     out.logits[:, -1] if logits else None)


class LocalRunner:
    """Runs the batches of one sweep of ``ids`` (with ``noise`` and ``repeats`` noise samples).

    The batches start from ``base``, the sweep's prompt already run (its recording, see
    `PromptRun`), or else from a base run made when the first batch needs it; each batch then
    costs one packed forward of the tokens and blocks its runs change. Calling the runner is
    `executor.run_patched` for this sweep: same patches, same result.
    """

    def __init__(self, model: Any, ids: torch.Tensor, noise: Noise | None = None,
                 repeats: int = 1, base: PromptRun | None = None) -> None:
        if base is not None and (base.seq != len(ids) or base.repeats != repeats):
            raise ValueError(f"the base run holds {base.repeats} x {base.seq} tokens, the "
                             f"sweep {repeats} x {len(ids)}")
        self.model, self.noise, self.repeats = model, noise, repeats
        self.module = hf_module(model)
        self.ids = ids.to(next(self.module.parameters()).device)
        self.blocks = submodule(self.module, architecture(model).blocks)
        self.windows = [sliding_window(model, k) for k in range(len(self.blocks))]
        self._base_run = base

    def _base(self) -> PromptRun:
        if self._base_run is None:
            self._base_run = run_prompt(self.model, self.ids, noise=self.noise, logits=False)
        return self._base_run

    def _pack(self, n_runs: int, patches: list[Patch]) -> Packing:
        """Where each run starts (its first block and position), laid out by `packing.pack`."""
        seq, n_blocks = len(self.ids), len(self.blocks)
        first_block = [n_blocks] * n_runs
        positions_of: list[list[int]] = [[] for _ in range(n_runs)]
        for p in patches:  # a block output is patched after its block: the run starts above
            block = p.site.layer + (p.site.component == "resid")
            first_block[p.run] = min(first_block[p.run], block)
            positions_of[p.run].append(p.site.position)
        return pack(first_block, [first_token(positions, seq) for positions in positions_of],
                    seq, self.repeats, n_blocks, self.ids.device)

    def __call__(self, n_runs: int, patches: list[Patch], metric: Metric) -> torch.Tensor:
        """The scores ``[n_runs * repeats]`` (float64) of the patched runs under ``metric``:
        from the final hidden states for a built-in metric on a model with a `plain_head`, else
        from the last-position logits."""
        repeats, seq = self.repeats, len(self.ids)
        base = self._base()
        pack = self._pack(n_runs, patches)
        plan = {}
        for key, (rows, positions, index, values) in group_patches(
                [Patch(pack.rank[p.run], p.site, p.value) for p in patches], repeats).items():
            first = pack.positions[pack.starts[rows]]
            packed = (pack.starts[rows] + positions.to(first.device) - first).cpu()
            plan[key] = (torch.zeros_like(rows), packed, index, values)  # indices for any device
        cache = DynamicCache()
        for k, (keys, values) in enumerate(zip(base.keys, base.values, strict=True)):
            cache.update(keys, values, k)
        dtype = next(self.module.parameters()).dtype
        masks = {window: attention_mask(pack, seq, repeats, window, dtype)
                 for window in set(self.windows)}
        gathered = pack.samples * seq + pack.positions
        head = plain_head(self.model) if metric.readout is not None else None
        body = self.module if head is None else self.module.base_model
        extra = {"logits_to_keep": pack.lasts} if head is None else {}
        with exclusive(self.model), torch.no_grad(), \
                _ragged(self.blocks, pack.active, base, gathered, masks, self.windows), \
                _hooks(self.model, plan):
            out = body(input_ids=self.ids[pack.positions][None],
                       position_ids=pack.positions[None], attention_mask=masks[self.windows[0]],
                       use_cache=True, **{_cache_argument(body): cache}, **extra)
            if head is None:
                scores = metric(out.logits[0])
            else:
                last = out.last_hidden_state[0, pack.lasts].to(head.weight.device)
                scores = metric.of_hidden(last, head.weight, head.bias)
        back = torch.tensor(pack.rank, device=scores.device)
        return scores.view(n_runs, repeats)[back].flatten()


@contextmanager
def _ragged(blocks: Any, active: list[int], base: PromptRun, gathered: torch.Tensor,
            masks: dict[int | None, torch.Tensor], windows: list[int | None]) -> Iterator[None]:
    """Make block ``k`` compute only the packed sequence's first ``active[k]`` tokens (the runs
    that start at or below it), with its own attention mask, and hand the next block only the
    tokens it computes: its own, then the base run's state (at their position and sample) for
    the tokens of the runs that start at the next block. Block 0 reads the base run's input
    (embeddings, noise included); the last block hands on every token. Each token's base state
    is thus gathered once, not copied through every block. Block outputs are tensors under
    transformers 5.
    """
    passed = masks[windows[0]]
    total = len(gathered)
    hands_on = [*active[1:], total]  # the tokens block k's output must hold

    def ragged_forward(hidden: torch.Tensor, *args: Any, k: int, compute: Any,
                       **kwargs: Any) -> torch.Tensor:
        computed, needed = active[k], hands_on[k]
        states = base.states[k]  # on block k's device (models may be split over devices)
        rest = states[gathered[computed:needed].to(states.device)][None]
        if computed == 0:
            return rest
        if k == 0:
            hidden = base.inputs[gathered[:computed].to(base.inputs.device)][None].to(hidden)
        mask = masks[windows[k]][:, :, :computed, :base.keys[k].shape[2] + computed]

        def cut(value: Any) -> Any:
            if value is passed:
                return mask
            if isinstance(value, torch.Tensor):
                if value.ndim >= 2 and value.shape[1] == total:
                    return value[:, :computed]
                return value[:computed] if value.ndim == 1 and value.shape[0] == total \
                    else value
            if isinstance(value, (tuple, list)):
                return type(value)(cut(v) for v in value)
            return value

        head = compute(hidden, *cut(args), **{key: cut(v) for key, v in kwargs.items()})
        return head if computed == needed else torch.cat([head, rest.to(head.device)], 1)

    # nnsight may have put a forward of its own on the instance: put back whatever was there
    before = [blk.__dict__.get("forward") for blk in blocks]
    for k, blk in enumerate(blocks):
        blk.forward = partial(ragged_forward, k=k, compute=blk.forward)
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
