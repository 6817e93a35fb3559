"""Find the parts of a model whose family is not in the architecture map, and check them on it.

Decoder-only LMs share one shape even where their names differ: a ``ModuleList`` of
``num_hidden_layers`` blocks; in each block an attention and an MLP whose outputs are written by
a projection back to the hidden size; the token embedding and the unembedding the model itself
names (``get_input_embeddings``, ``get_output_embeddings``); a norm between the last block and
the unembedding. `discover` finds these in the module tree and tells the attention from the MLP by
what they do (attention mixes tokens, the MLP does not), then runs the model to check that the
found modules are the ones causal tracing needs:

* restoring every clean block-0 output in a corrupted run gives the clean logits, and so does
  restoring the last block's output at the last token only (the block outputs are the whole
  residual stream, and the last one reaches the logits through nothing else);
* the attention's and the MLP's outputs are their projections' outputs, in every block (so the
  projections' inputs are the heads and the neurons), and the attention projection's input holds
  ``n_heads * head_dim`` features;
* zeroing each found module's tensor changes the logits (it is on the model's path).

A family that fails is refused with an `UnsupportedArchitectureError` that says what failed; the
user can then name the modules with `tw.register_architecture`. A discovered family runs on the
nnsight executor, since the local executor's packed batches are verified per family by the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import torch
from transformers.pytorch_utils import Conv1D

from .architectures import (
    ARCHITECTURES,
    Architecture,
    UnsupportedArchitectureError,
    main_tensor,
    model_config,
    own_config,
    shape,
)
from .sharing import exclusive

PROMPT_LENGTH = 6
# A module mixes tokens when perturbing its input at the first token moves its output at later
# tokens by more than this fraction of the move at the first token (a per-token module moves
# them by rounding at most).
MIXING = 1e-4
# Restoring the clean residual stream must give the clean logits to within this fraction of the
# clean-corrupt difference.
RESTORED = 1e-3

_found: WeakKeyDictionary[torch.nn.Module, Architecture | str] = WeakKeyDictionary()

_Edit = Callable[[torch.Tensor], None]


class _Mismatch(Exception):
    """One candidate layout of the model failed a check; the message says which."""


def discovered(model: Any) -> Architecture:
    """The discovered and checked `Architecture` of ``model`` (an nnsight model or a plain HF
    model), computed once per model; raises `UnsupportedArchitectureError` when it fails."""
    module = getattr(model, "_module", model)
    found = _found.get(module)
    if found is None:
        with exclusive(model):  # the checks hook the model's modules: no other run meanwhile
            if module not in _found:
                try:
                    _found[module] = discover(model)
                except UnsupportedArchitectureError as err:
                    _found[module] = str(err)
            found = _found[module]
    if isinstance(found, str):
        raise UnsupportedArchitectureError(found)
    return found


def discover(model: Any) -> Architecture:
    """Find the embedding, blocks, attention, MLP, their projections, the final norm and the
    unembedding of ``model`` in its module tree, and check them by running it (see the module
    docstring). Raises `UnsupportedArchitectureError` saying what failed."""
    module: torch.nn.Module = getattr(model, "_module", model)
    family = own_config(model).model_type
    try:
        cfg = model_config(model)
        n_layers, d_model, vocab = (getattr(cfg, key, None) for key in
                                    ("num_hidden_layers", "hidden_size", "vocab_size"))
        if not (n_layers and d_model and vocab):
            raise _Mismatch("its config has no num_hidden_layers, hidden_size or vocab_size")
        embed = _path(module, _named(module, "get_input_embeddings"), "input embedding")
        unembed = _path(module, _named(module, "get_output_embeddings"), "output embedding")
        first = next(module.parameters(), None)
        if first is None or first.device.type == "meta":
            raise _Mismatch("its weights are not in this process (finding its layers runs it)")
        device = next(module.get_submodule(embed).parameters(), first).device
        prompts = torch.randint(vocab, (2, 1, PROMPT_LENGTH),
                                generator=torch.Generator().manual_seed(0)).to(device)
        lists = [name for name, m in module.named_modules()
                 if isinstance(m, torch.nn.ModuleList) and len(m) == n_layers]
        if not lists:
            raise _Mismatch(f"it has no ModuleList of {n_layers} modules (num_hidden_layers) "
                            "to take as its decoder layers")
        failures = []
        for blocks in lists:
            try:
                return _Layout(model, family, embed, blocks, unembed, d_model,
                               prompts).check()
            except _Mismatch as err:
                failures.append(f"taking {blocks} as the layers, {err}")
        raise _Mismatch("; ".join(failures))
    except _Mismatch as err:
        raise UnsupportedArchitectureError(
            f"tracewidget could not find where the layers of this {family!r} model live: {err}. "
            f"Name its modules with tw.register_architecture({family!r}, tw.Architecture(...)) "
            "(see docs/architecture-map.md); supported families: "
            f"{', '.join(sorted(ARCHITECTURES))}."
        ) from None


def _named(module: torch.nn.Module, getter: str) -> Any:
    """What the model's ``getter`` (``get_input_embeddings``, ...) returns, or None."""
    try:
        return getattr(module, getter)()
    except (AttributeError, NotImplementedError):
        return None


def _path(root: torch.nn.Module, target: Any, what: str) -> str:
    """The dotted path of ``target`` under ``root``."""
    for name, m in root.named_modules():
        if m is target and name:
            return name
    raise _Mismatch(f"its {what} is not a module of the model")


def _features(m: torch.nn.Module) -> tuple[int, int] | None:
    """(in, out) features of a linear layer (``nn.Linear`` or GPT-2's transposed ``Conv1D``)."""
    if isinstance(m, torch.nn.Linear):
        return m.in_features, m.out_features
    if isinstance(m, Conv1D):
        return m.nx, m.nf
    return None


def _projection(child: torch.nn.Module, d_model: int) -> str | None:
    """The path (from ``child``) of the last linear layer in ``child`` that writes the hidden
    size: an attention's output projection, an MLP's down projection."""
    found = None
    for name, m in child.named_modules():
        features = _features(m)
        if features is not None and features[1] == d_model:
            found = name
    return found


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


@dataclass
class _Record:
    """What one run saw: each module's output main tensor by path, in the order the modules
    finished, and the main tensor of its first input."""

    outputs: dict[str, torch.Tensor] = field(default_factory=dict)
    inputs: dict[str, torch.Tensor] = field(default_factory=dict)

    def hook(self, name: str) -> Callable[..., None]:
        def keep(mod: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            value = _main(args[0] if args else kwargs.get("hidden_states"))
            if value is not None:
                self.inputs[name] = value.detach().clone()
            value = _main(output)
            if value is not None:
                self.outputs[name] = value.detach().clone()
        return keep


class _Layout:
    """The modules found when ``blocks`` is taken as the decoder layers, and the runs that check
    them."""

    def __init__(self, model: Any, family: str, embed: str, blocks: str, unembed: str,
                 d_model: int, prompts: torch.Tensor) -> None:
        self.model, self.family, self.d_model = model, family, d_model
        self.module: torch.nn.Module = getattr(model, "_module", model)
        self.embed, self.blocks, self.unembed = embed, blocks, unembed
        self.layers = self.module.get_submodule(blocks)
        self.clean, self.corrupt = prompts  # [1, PROMPT_LENGTH] token ids each

    def block(self, k: int, *parts: str) -> str:
        """The path of block ``k`` (of ``parts`` under it)."""
        return _join(self.blocks, str(k), *parts)

    def check(self) -> Architecture:
        """The checked `Architecture`; raises `_Mismatch` saying what failed."""
        clean_logits, clean = self._run(self.clean, record=True)
        corrupt_logits, _ = self._run(self.corrupt)
        gap = float((clean_logits - corrupt_logits).abs().max())
        if gap == 0:
            raise _Mismatch("two different prompts gave the same logits")
        outputs = [clean.outputs.get(self.block(k)) for k in range(len(self.layers))]
        for k, out in enumerate(outputs):
            if out is None or out.shape != (1, PROMPT_LENGTH, self.d_model):
                raise _Mismatch(f"block {k} did not output a [batch, seq, hidden] tensor")
        self._restores(clean_logits, outputs, gap)
        attn, mlp = self._attention_and_mlp(clean)
        attn_out_proj = _join(attn, _projection(self.layers[0].get_submodule(attn),
                                                self.d_model))
        mlp_out_proj = _join(mlp, _projection(self.layers[0].get_submodule(mlp), self.d_model))
        self._same_in_every_block(clean, attn, attn_out_proj, mlp, mlp_out_proj)
        arch = Architecture(self.family, embed=self.embed, blocks=self.blocks, mlp=mlp, attn=attn,
                            attn_out_proj=attn_out_proj, mlp_out_proj=mlp_out_proj,
                            final_norm=self._final_norm(clean, outputs[-1]),
                            unembed=self.unembed)
        self._each_part_matters(arch, clean_logits)
        return arch

    def _run(self, ids: torch.Tensor, edits: tuple[tuple[str, str, _Edit], ...] = (),
             record: bool = False) -> tuple[torch.Tensor, _Record]:
        """Last-position logits of one forward of ``ids`` with ``edits`` applied (``(path,
        "input" or "output", fn)``: ``fn`` edits a copy of that module's main tensor in place),
        and, with ``record``, what every module saw."""
        seen = _Record()
        with ExitStack() as stack, torch.no_grad(), _eval(self.module):
            for path, where, fn in edits:
                stack.enter_context(_edit(self.module.get_submodule(path), where, fn))
            if record:
                for name, m in self.module.named_modules():
                    stack.callback(m.register_forward_hook(seen.hook(name),
                                                           with_kwargs=True).remove)
            try:
                # an nnsight model runs its module with any trace in progress stood down
                logits = self.model(input_ids=ids).logits[:, -1].float()
            except (RuntimeError, ValueError, TypeError, AttributeError) as err:
                raise _Mismatch(f"running it on a text prompt failed ({err})") from err
        return logits, seen

    def _restores(self, clean_logits: torch.Tensor, outputs: list[torch.Tensor],
                  gap: float) -> None:
        """Restoring the clean block outputs (``outputs``) in the corrupted run gives the clean
        logits, to within a fraction of the clean-corrupt ``gap``."""
        def restore(value: torch.Tensor, position: slice | int) -> _Edit:
            def fn(t: torch.Tensor) -> None:
                t[:, position] = value[:, position].to(t.dtype)
            return fn

        last = len(self.layers) - 1
        for layer, position, where in ((0, slice(None), "at every token"),
                                       (last, -1, "at the last token")):
            logits, _ = self._run(self.corrupt, ((self.block(layer), "output",
                                                  restore(outputs[layer], position)),))
            if float((logits - clean_logits).abs().max()) > RESTORED * gap:
                raise _Mismatch(f"restoring the clean output of block {layer} {where} in a "
                                "corrupted run did not give the clean logits (its output is "
                                "not the whole residual stream, or the blocks do not run in "
                                "order)")

    def _attention_and_mlp(self, clean: _Record) -> tuple[str, str]:
        """The children of block 0 that write the hidden size through a linear layer: the one
        that mixes tokens is the attention, the one that does not is the MLP."""
        mixing, per_token = [], []
        for name, child in self.layers[0].named_children():
            path = self.block(0, name)
            if _projection(child, self.d_model) is None or path not in clean.outputs:
                continue  # writes no hidden state, or does not run on a text prompt
            _, moved = self._run(self.clean, ((path, "input", _perturb_first_token),),
                                 record=True)
            change = (moved.outputs[path] - clean.outputs[path]).abs().amax(-1)[0]
            if float(change[0]) > 0:
                (mixing if float(change[1:].max()) > MIXING * float(change[0])
                 else per_token).append(name)
        if len(mixing) != 1 or len(per_token) != 1:
            raise _Mismatch(
                "block 0 should have one child that mixes tokens (attention) and one that does "
                f"not (MLP), each writing the hidden size ({self.d_model}) through a linear "
                f"layer; found {mixing or 'none'} and {per_token or 'none'}")
        return mixing[0], per_token[0]

    def _same_in_every_block(self, clean: _Record, attn: str, attn_out_proj: str, mlp: str,
                             mlp_out_proj: str) -> None:
        """Every block has the attention and MLP of block 0, each returning its projection's
        output, and the attention projection reads ``n_heads * head_dim`` features."""
        sizes = shape(self.model)
        heads = sizes.n_heads * sizes.head_dim
        for k in range(len(self.layers)):
            for part, proj in ((attn, attn_out_proj), (mlp, mlp_out_proj)):
                part_out = clean.outputs.get(self.block(k, part))
                proj_out = clean.outputs.get(self.block(k, proj))
                if part_out is None or proj_out is None or \
                        part_out.numel() != proj_out.numel() or \
                        not torch.equal(part_out, proj_out.reshape(part_out.shape)):
                    raise _Mismatch(f"the output of {part} in block {k} is not the output of "
                                    f"its projection {proj} alone (it adds the residual, or "
                                    "other experts, to it)")
            features = _features(self.layers[k].get_submodule(attn_out_proj))
            if features is None or features[0] != heads:
                raise _Mismatch(f"{attn_out_proj} in block {k} does not read n_heads x "
                                f"head_dim = {heads} features")

    def _final_norm(self, clean: _Record, last_block: torch.Tensor) -> str:
        """The first module to finish after the last block that reads that block's output and
        changes it (a dropout, in eval mode, does not)."""
        names = list(clean.outputs)
        after = names.index(self.block(len(self.layers) - 1)) + 1
        for name in names[after:]:
            inside = any(name == top or name.startswith(top + ".")
                         for top in (self.blocks, self.unembed))
            value, out = clean.inputs.get(name), clean.outputs[name]
            if not inside and value is not None and value.shape == last_block.shape == out.shape \
                    and torch.equal(value, last_block) and not torch.equal(out, value):
                return name
        raise _Mismatch("no module after the last block reads its output (a final norm)")

    def _each_part_matters(self, arch: Architecture, clean_logits: torch.Tensor) -> None:
        """Zeroing each found module's tensor changes the logits."""
        last = len(self.layers) - 1
        parts = {arch.embed: "output", arch.final_norm: "output", arch.unembed: "output",
                 self.block(last, arch.attn): "output", self.block(last, arch.mlp): "output",
                 self.block(last, arch.attn_out_proj): "input",
                 self.block(last, arch.mlp_out_proj): "input"}
        for path, where in parts.items():
            logits, _ = self._run(self.clean, ((path, where, torch.Tensor.zero_),))
            if torch.equal(logits, clean_logits):
                raise _Mismatch(f"zeroing the {where} of {path} did not change the logits")


def _main(value: Any) -> torch.Tensor | None:
    """The ``[1, seq, features]`` main tensor of a module's input or output, if it has one."""
    if isinstance(value, (tuple, list)) and value:
        value = value[0]
    if not isinstance(value, torch.Tensor) or value.ndim not in (2, 3):
        return None
    if value.ndim == 2 and value.shape[0] != PROMPT_LENGTH:
        return None
    return main_tensor(value, 1)


def _perturb_first_token(t: torch.Tensor) -> None:
    """Add noise (of the first token's scale, at least 1) to the first token of ``t``."""
    generator = torch.Generator().manual_seed(1)
    noise = torch.randn(t.shape[-1], generator=generator).to(t.device, t.dtype)
    t[:, 0] += noise * float(t[:, 0].float().std().clamp(min=1.0))


def _replaced(value: Any, fn: _Edit) -> Any:
    """``value`` (a tensor, or a tuple or list led by one) with a copy of its main tensor that
    ``fn`` edited in place."""
    tensor = value[0] if isinstance(value, (tuple, list)) else value
    copy = tensor.clone()
    fn(main_tensor(copy, 1))
    return type(value)((copy, *value[1:])) if isinstance(value, (tuple, list)) else copy


@contextmanager
def _edit(module: torch.nn.Module, where: str, fn: _Edit) -> Iterator[None]:
    """Apply ``fn`` to a copy of ``module``'s input or output main tensor for the duration."""
    if where == "input":
        def pre(mod: torch.nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
            if args:
                return (_replaced(args[0], fn), *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": _replaced(kwargs["hidden_states"], fn)}
        handle = module.register_forward_pre_hook(pre, with_kwargs=True)
    else:
        handle = module.register_forward_hook(lambda mod, args, out: _replaced(out, fn))
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def _eval(module: torch.nn.Module) -> Iterator[None]:
    """The module in eval mode (no dropout) for the duration, as it was afterwards."""
    training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(training)
