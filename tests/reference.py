"""An independent reference for every experiment: plain PyTorch forward hooks, no nnsight.

One forward per cell, written for clarity rather than speed, on a model loaded with
``AutoModelForCausalLM`` (not through tracewidget's loader). The engine must match it to 1e-5.
It knows where each family keeps its parts from the Hugging Face module names, in a map of its
own (`MODULES`), so a mistake in the engine's architecture map or its discovery shows up here.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from transformers import AutoModelForCausalLM


def load_reference(path, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype).eval()


# (decoder layers, attention, MLP, attention output projection, MLP down projection), the
# last four inside a layer, as the Hugging Face modelling code names them.
_LLAMA = ("model.layers", "self_attn", "mlp", "self_attn.o_proj", "mlp.down_proj")
MODULES = {
    "gpt2": ("transformer.h", "attn", "mlp", "attn.c_proj", "mlp.c_proj"),
    "gpt_neo": ("transformer.h", "attn", "mlp", "attn.attention.out_proj", "mlp.c_proj"),
    "gptj": ("transformer.h", "attn", "mlp", "attn.out_proj", "mlp.fc_out"),
    "gpt_neox": ("gpt_neox.layers", "attention", "mlp", "attention.dense",
                 "mlp.dense_4h_to_h"),
    "opt": ("model.decoder.layers", "self_attn", "fc2", "self_attn.out_proj", "fc2"),
    "gemma3": ("model.language_model.layers", *_LLAMA[1:]),
    "starcoder2": ("model.layers", "self_attn", "mlp", "self_attn.o_proj", "mlp.c_proj"),
    "phi": ("model.layers", "self_attn", "mlp", "self_attn.dense", "mlp.fc2"),
    "falcon": ("transformer.h", "self_attention", "mlp", "self_attention.dense",
               "mlp.dense_4h_to_h"),
    **{family: _LLAMA for family in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2",
                                     "gemma3_text", "olmo2", "phi3", "granite")},
}


def _follow(root: torch.nn.Module, path: str) -> torch.nn.Module:
    for part in path.split("."):
        root = getattr(root, part)
    return root


def _text_config(model):
    return model.config.get_text_config()


def n_layers(model) -> int:
    return _text_config(model).num_hidden_layers


def n_heads(model) -> int:
    return _text_config(model).num_attention_heads


def _module(model, component: str, layer: int) -> torch.nn.Module:
    blocks, attn, mlp, attn_out, mlp_out = MODULES[model.config.model_type]
    blk = _follow(model, blocks)[layer]
    path = {"head": attn_out, "attn": attn, "neuron": mlp_out, "mlp": mlp}.get(component)
    return blk if path is None else _follow(blk, path)


def _as_bsd(t: torch.Tensor, batch: int) -> torch.Tensor:
    return t.view(batch, -1, t.shape[-1]) if t.ndim == 2 else t


@contextmanager
def hooks(model, edits):
    """Apply ``edits``: a list of (component, layer, fn) where ``fn(tensor[b, s, f])`` edits the
    hidden state in place. head/neuron edits see the output projection's input."""
    handles = []
    for component, layer, fn in edits:
        module = _module(model, component, layer)
        if component in ("head", "neuron"):
            def pre(mod, args, kwargs, fn=fn):
                x = args[0] if args else kwargs["hidden_states"]
                fn(_as_bsd(x, 1))
            handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
        else:
            def post(mod, args, output, fn=fn):
                fn(_as_bsd(output[0] if isinstance(output, tuple) else output, 1))
            handles.append(module.register_forward_hook(post))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def record_all(model, ids: list[int], component: str, noise=None) -> dict[int, torch.Tensor]:
    """The [seq, features] activation of ``component`` at every layer for one run."""
    saved = {}

    def keep(layer):
        def fn(t):
            saved[layer] = t[0].detach().clone()
        return fn

    edits = [(component, layer, keep(layer)) for layer in range(n_layers(model))]
    with torch.no_grad(), hooks(model, edits), embedding_noise(model, noise):
        model(torch.tensor([ids]))
    return saved


@contextmanager
def embedding_noise(model, noise):
    """Add ``noise = (positions, values[n_pos, d])`` to the token embedding output."""
    if noise is None:
        yield
        return
    positions, values = noise

    def post(mod, args, output):
        output[0, list(positions)] += values.to(output.dtype)

    handle = model.get_input_embeddings().register_forward_hook(post)
    try:
        yield
    finally:
        handle.remove()


def prob(model, ids: list[int], target: int, edits=(), noise=None) -> float:
    """p(target) at the last position of one run with ``edits`` and ``noise`` applied."""
    with torch.no_grad(), hooks(model, list(edits)), embedding_noise(model, noise):
        logits = model(torch.tensor([ids])).logits[0, -1].double()
    return float(logits.softmax(-1)[target])


def setter(position: int, value: torch.Tensor, head: int | None = None, n_heads: int = 1):
    def fn(t):
        if head is None:
            t[0, position] = value
        else:
            t[0, position].view(n_heads, -1)[head] = value
    return fn


def window(layer: int, w: int, n: int) -> range:
    return range(max(0, layer - w // 2), min(n, layer + (w + 1) // 2))


def _rows(model, layers):
    return range(n_layers(model)) if layers is None else layers


def _cols(ids, positions):
    return range(len(ids)) if positions is None else [p % len(ids) for p in positions]


def patch_grid(model, clean_ids, corrupt_ids, target, component, experiment, w=1, layers=None,
               positions=None):
    """Scores [layers, positions] of the restore/ablate sweep, one forward per cell (over the
    given ``layers`` and ``positions`` only, when given)."""
    n = n_layers(model)
    restore = experiment == "restore"
    source = record_all(model, clean_ids if restore else corrupt_ids, component)
    base = corrupt_ids if restore else clean_ids
    return [[prob(model, base, target,
                  [(component, x, setter(pos, source[x][pos])) for x in window(layer, w, n)])
             for pos in _cols(base, positions)] for layer in _rows(model, layers)]


def heads_grid(model, clean_ids, corrupt_ids, target, layer=None, position=-1, layers=None):
    """Restore single heads: [heads, positions] at ``layer``, or [layers, heads] at position
    (over ``layers``, default all)."""
    heads = n_heads(model)
    source = record_all(model, clean_ids, "head")
    pos_of = range(len(clean_ids)) if layer is not None else [position % len(clean_ids)]

    def score(at_layer, pos, h):
        value = source[at_layer][pos].view(heads, -1)[h]
        return prob(model, corrupt_ids, target,
                    [("head", at_layer, setter(pos, value, h, heads))])

    if layer is not None:
        return [[score(layer, p, h) for p in pos_of] for h in range(heads)]
    return [[score(x, pos_of[0], h) for h in range(heads)] for x in _rows(model, layers)]


def noise_values(model, n_subject: int, samples: int, noise: float, seed: int) -> torch.Tensor:
    """ROME's draws: noise x std of the token embedding matrix, one generator seeded once."""
    weight = model.get_input_embeddings().weight
    scale = noise * float(weight.detach().float().std())
    g = torch.Generator().manual_seed(seed)
    return torch.randn(samples, n_subject, weight.shape[1], generator=g) * scale


def noise_grid(model, ids, subject, target, component, w, samples=3, noise=3.0, seed=0,
               sever=None, first=None, layers=None, positions=None):
    """Scores [layers, positions] of a noise trace: each cell averages ``samples`` runs (only
    the first ``first`` of the ``samples`` draws, when given; over the given ``layers`` and
    ``positions`` only, when given)."""
    n = n_layers(model)
    draws = noise_values(model, len(subject), samples, noise, seed)
    clean = record_all(model, ids, component)
    corrupt_sever = [record_all(model, ids, sever, (subject, draws[s])) if sever else None
                     for s in range(samples)]

    used = samples if first is None else first

    def cell(layer, pos):
        total = 0.0
        for s in range(used):
            edits = [(component, x, setter(pos, clean[x][pos])) for x in window(layer, w, n)]
            if sever:
                edits += [(sever, x, setter(pos, corrupt_sever[s][x][pos]))
                          for x in range(layer + 1, n)]
            total += prob(model, ids, target, edits, (subject, draws[s]))
        return total / used

    return [[cell(layer, pos) for pos in _cols(ids, positions)] for layer in _rows(model, layers)]


def neuron_scores(model, clean_ids, corrupt_ids, target, layer, position, neurons):
    """Restore single MLP neurons (inputs of the down projection) at one position."""
    source = record_all(model, clean_ids, "neuron")

    def set_neuron(n):
        def fn(t):
            t[0, position, n] = source[layer][position, n]
        return fn

    return [prob(model, corrupt_ids, target, [("neuron", layer, set_neuron(n))])
            for n in neurons]


def attribution_grid(model, clean_ids, corrupt_ids, target, component, noise=None):
    """Attribution estimates [layers, positions] for restore, with torch.autograd directly
    (the corrupt run with ``noise = (positions, values)`` on its embeddings, when given)."""
    n = n_layers(model)
    clean = record_all(model, clean_ids, component)
    live = {}

    def keep(layer):
        # the tensor the model itself passes on (OPT's fc2 output is flat [seq, d])
        def post(mod, args, output):
            out = output[0] if isinstance(output, tuple) else output
            out.retain_grad()
            live[layer] = out
        return post

    handles = [_module(model, component, x).register_forward_hook(keep(x)) for x in range(n)]
    try:
        with embedding_noise(model, noise):
            logits = model(torch.tensor([corrupt_ids])).logits[0, -1].double()
        p = logits.softmax(-1)[target]
        p.backward()
    finally:
        for h in handles:
            h.remove()
    base = float(p.detach())
    model.zero_grad(set_to_none=True)

    def grad(x):
        return _as_bsd(live[x].grad, 1)[0]

    def act(x):
        return _as_bsd(live[x].detach(), 1)[0]

    return [[base + float(((clean[x][pos] - act(x)[pos]) * grad(x)[pos]).sum())
             for pos in range(len(corrupt_ids))] for x in range(n)]
