"""The experiments: interchange patching, ROME noise tracing, severed paths, heads.

Causal tracing asks which internal activations *cause* an output. Run the model on a clean prompt
("The Eiffel Tower is located in the city of" -> " Paris") and on a corrupt one (another subject,
or the subject's embeddings drowned in noise); copy one activation from one run into the other and
measure the score:

* **restore** runs the corrupt prompt and pastes the clean activation at a site: how much of the
  clean score comes back (is this site *sufficient*? ROME's "indirect effect").
* **ablate** runs the clean prompt and pastes the corrupt activation: how much of the clean
  score is lost (is this site *necessary*?).

Sites are ``(component, layer, position)``: ``resid`` (a block's output), ``mlp`` and ``attn``
(their outputs, optionally over a window of layers as in ROME), and ``head`` (one head's slice of
the attention output projection's input). Every function here plans its runs and hands them to
`run_sweep`; they differ only in which sites each run patches and where the values come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tracewidget.models.architectures import architecture, model_config, shape, submodule
from tracewidget.models.loading import display_name, require_model

from .executors import Recording
from .grid import EXPERIMENTS, EffectGrid
from .metrics import Metric, MetricFn, make_metric
from .plan import LAYER_COMPONENTS, Noise, Run, Site
from .prompts import Alignment, Prompt, PromptError, single_token, tokenize
from .prompts import align as align_positions
from .sweep import (
    CancelToken,
    ProgressFn,
    record,
    record_all,
    run_by_samples,
    run_sweep,
)

# ROME restored windows of 10 layers in GPT-2 XL, which has 48.
ROME_WINDOW, ROME_LAYERS = 10, 48


def default_window(n_layers: int) -> int:
    """ROME's window scaled to the model's depth: the same fraction (10 of 48 layers, about a
    fifth), rounded, at least 1. It is 10 for a 48-layer model; a fixed 10 would cover every
    layer of a model of 10 layers or fewer (each row the same solid bar), while a fifth of the
    depth keeps the rows telling layers apart: 1 for the bundled 6-layer model, 6 for 30 layers.
    """
    return max(1, int(n_layers * ROME_WINDOW / ROME_LAYERS + 0.5))


def model_name(model: Any) -> str:
    return display_name(model)


def check_layers(model: Any, layers: Any, what: str = "layers") -> list[int]:
    n = shape(model).n_layers
    chosen = list(range(n)) if layers is None else [int(x) for x in layers]
    bad = [x for x in chosen if not 0 <= x < n]
    if bad or not chosen:
        raise ValueError(f"{what} {bad or chosen} out of range: the model has {n} layers "
                         f"(0..{n - 1})")
    return chosen


def check_columns(positions: Any, n_cols: int, labels: tuple[str, ...]) -> list[int]:
    chosen = list(range(n_cols)) if positions is None else [int(p) for p in positions]
    chosen = [p + n_cols if p < 0 else p for p in chosen]
    bad = [p for p in chosen if not 0 <= p < n_cols]
    if bad or not chosen:
        raise ValueError(f"positions {bad or chosen} out of range: the prompt has {n_cols} "
                         f"positions {list(labels)}")
    return chosen


def _check_context(model: Any, prompt: Prompt) -> None:
    cfg = model_config(model)
    limit = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
    if limit and len(prompt) > limit:
        raise PromptError(f"the prompt has {len(prompt)} tokens but the model reads at most "
                          f"{limit}; shorten it")


def prepare_pair(model: Any, clean: str, corrupt: str, subject: str | None,
                 align: bool) -> tuple[Prompt, Prompt, Alignment]:
    """Tokenize a clean/corrupt pair, check it fits the model, and pair their positions."""
    clean_p = tokenize(model.tokenizer, clean, subject)
    corrupt_p = tokenize(model.tokenizer, corrupt)
    for p in (clean_p, corrupt_p):
        _check_context(model, p)
    return clean_p, corrupt_p, align_positions(clean_p, corrupt_p, align)


def prepare_prompt(model: Any, prompt: str, subject: str) -> Prompt:
    """Tokenize a noise-trace prompt, find its subject, and check it fits the model."""
    prompt_p = tokenize(model.tokenizer, prompt, subject)
    _check_context(model, prompt_p)
    return prompt_p


@dataclass(frozen=True)
class Interchange:
    """A clean/corrupt pair set up for restore or ablate: the *base* run is the one patched, the
    *source* run is where the pasted activations come from."""

    clean: Prompt
    corrupt: Prompt
    alignment: Alignment
    restore: bool

    @property
    def base(self) -> Prompt:
        return self.corrupt if self.restore else self.clean

    @property
    def source(self) -> Prompt:
        return self.clean if self.restore else self.corrupt

    def positions(self, col: int) -> tuple[int, int]:
        """(base position, source position) of grid column ``col``."""
        clean_pos, corrupt_pos = self.alignment.pairs[col]
        return (corrupt_pos, clean_pos) if self.restore else (clean_pos, corrupt_pos)


def interchange(model: Any, clean: str, corrupt: str, subject: str | None, align: bool,
                experiment: str) -> Interchange:
    """Check ``experiment`` and the prompts, and set the pair up (see `Interchange`)."""
    check_experiment(experiment)
    return Interchange(*prepare_pair(model, clean, corrupt, subject, align),
                       restore=experiment == "restore")


def grid_template(model: Any, metric: Metric, rows: list[str], cols: list[str], *,
                  clean_score: float, corrupt_score: float, experiment: str, component: str,
                  spec: dict, row_name: str = "layer", col_name: str = "token",
                  subject: list[int] | tuple[int, ...] = ()) -> EffectGrid:
    """The grid a sweep fills: NaN scores over ``rows`` x ``cols``, with the metric's name and
    label, the model's name and ``spec`` (plus the metric's name) filled in the same way for
    every experiment."""
    return EffectGrid(values=np.full((len(rows), len(cols)), np.nan), row_labels=rows,
                      col_labels=cols, row_name=row_name, col_name=col_name, subject=subject,
                      clean_score=clean_score, corrupt_score=corrupt_score,
                      experiment=experiment, component=component, metric=metric.name,
                      metric_label=metric.label, model_name=model_name(model),
                      spec={**spec, "metric": metric.name})


@dataclass(frozen=True)
class PairRecord:
    """Both prompts of an `Interchange`, run once: the activations of the *source* run (pasted
    from) and the *base* run (patched), the bound metric, the target's text, the scores, and
    the base prompt's `Recording` (the sweep starts its batches from it)."""

    source: dict[tuple[str, int], torch.Tensor]
    base: dict[tuple[str, int], torch.Tensor]
    metric: Metric
    target: str
    clean_score: float
    corrupt_score: float
    base_run: Recording | None = None

    def template(self, model: Any, rows: list[str], cols: list[str], **fields: Any
                 ) -> EffectGrid:
        """`grid_template` with this record's metric and scores."""
        return grid_template(model, self.metric, rows, cols, clean_score=self.clean_score,
                             corrupt_score=self.corrupt_score, **fields)


def record_pair(model: Any, pair: Interchange, wanted: set[tuple[str, int]],
                metric: str | MetricFn, target: str | None, foil: str | None) -> PairRecord:
    """Run both prompts once, recording the activations ``wanted`` (see `PairRecord`)."""
    clean, corrupt = record_all(model, [prompt_ids(pair.clean), prompt_ids(pair.corrupt)],
                                wanted)
    bound, target_text = bind_metric(model, metric, target, foil, clean.logits)
    source, base = (clean, corrupt) if pair.restore else (corrupt, clean)
    return PairRecord(source.acts, base.acts, bound, target_text,
                      float(bound(clean.logits)[0]), float(bound(corrupt.logits)[0]), base)


def site_value(acts: dict[tuple[str, int], torch.Tensor], site: Site,
               n_heads: int) -> torch.Tensor:
    """The recorded activation at ``site``: ``[batch, features]``, ``[batch, head_dim]`` for a
    head, ``[batch]`` for a neuron."""
    value = acts[site.component, site.layer][:, site.position]
    if site.component == "head":
        return value.view(value.shape[0], n_heads, -1)[:, site.index]
    return value[:, site.index] if site.component == "neuron" else value


def interchange_run(cell: tuple[int, int], patches: list[tuple[Site, torch.Tensor]],
                    base_acts: dict[tuple[str, int], torch.Tensor], n_heads: int) -> Run:
    """The run of grid cell ``cell`` that writes ``patches`` into the base prompt.

    Where every value is exactly what the base run already holds at its site (the tokens before
    the prompts first differ), the run *is* the base run: it is planned without patches, and
    the sweep computes it once for all such cells.
    """
    if all(torch.equal(value, site_value(base_acts, site, n_heads)) for site, value in patches):
        return Run(cell)
    return Run(cell, tuple(patches))


def check_experiment(experiment: str) -> None:
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be 'restore' or 'ablate', got {experiment!r}")


def window_layers(layer: int, window: int, n_layers: int) -> range:
    """ROME's window of layers centred on ``layer``: L - w//2 .. L + (w - 1)//2, clipped."""
    return range(max(0, layer - window // 2), min(n_layers, layer - (-window // 2)))


def prompt_ids(prompt: Prompt) -> torch.Tensor:
    return torch.tensor(prompt.ids, dtype=torch.long)


def bind_metric(model: Any, metric: str | MetricFn, target: str | None, foil: str | None,
                clean_logits: torch.Tensor | None) -> tuple[Metric, str]:
    """Bind the metric; the default target is the model's own top-1 on the clean prompt."""
    tok = model.tokenizer
    target_id = (int(clean_logits[0].argmax()) if target is None
                 else single_token(tok, target, "target"))
    foil_id = None if foil is None else single_token(tok, foil, "foil")
    return make_metric(metric, target_id, foil_id), tok.decode([target_id])


def check_component(component: str, allowed: tuple[str, ...]) -> None:
    if component not in allowed:
        raise ValueError(f"component must be one of {', '.join(allowed)}, got {component!r}")


def check_window(window: int) -> None:
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a whole number of layers >= 1, got {window!r}")


def patch(model: Any, clean: str, corrupt: str, target: str | None = None, *,
          foil: str | None = None, component: str = "resid", experiment: str = "restore",
          metric: str | MetricFn = "prob", window: int = 1, layers: Any = None,
          positions: Any = None, subject: str | None = None, align: bool = False,
          batch_size: int | None = None, on_progress: ProgressFn | None = None,
          cancel: CancelToken | None = None, progress: bool | None = None,
          resume: EffectGrid | None = None) -> EffectGrid:
    """Interchange intervention over layer x position between a clean and a corrupt prompt.

    Args:
        clean, corrupt: the two prompts; with ``align=False`` they must tokenize to the same
            length, with ``align=True`` their shared prefix and suffix are paired and the
            differing middle becomes one position (see `tracewidget.tracing.prompts.align`).
        target: the answer whose score is read (one token, e.g. " Paris"); default: the
            model's top-1 prediction on the clean prompt. ``foil`` is the competing token for
            ``metric="logit_diff"``.
        component: "resid" (block output), "mlp" or "attn" (their outputs).
        experiment: "restore" (run corrupt, paste clean) or "ablate" (run clean, paste corrupt).
        metric: "prob", "logprob", "logit_diff" or a callable on last-position logits
            ``[batch, vocab]`` returning ``[batch]``.
        window: patch ``component`` at a window of layers around each row's layer (ROME uses 10
            for mlp and attn); 1 patches one layer.
        layers, positions: subsets of rows (layers) and columns (positions; negative counts from
            the end) to sweep; default all.
        subject: marks the subject's tokens in the grid's labels (default: the tokens that
            differ between the prompts).
        batch_size: runs per forward (default: as many as fit a 512 MiB budget).
        on_progress: called as ``on_progress(done, total, partial_grid)`` after each batch.
        cancel: a `CancelToken`; setting it stops the sweep between batches (`SweepCancelled`).
        progress: show a tqdm bar (default: when no ``on_progress`` is given; it appears only
            for sweeps longer than 2 s).
        resume: the partial grid of this same call, cancelled (``SweepCancelled.partial``): its
            cells are kept and only the others are computed.

    Returns:
        an `EffectGrid` of scores, rows = layers, columns = positions of the clean prompt.
    """
    require_model(model)
    check_component(component, LAYER_COMPONENTS)
    check_window(window)
    pair = interchange(model, clean, corrupt, subject, align, experiment)
    alignment = pair.alignment
    layer_rows = check_layers(model, layers)
    cols = check_columns(positions, len(alignment.pairs), alignment.labels)
    n_layers = shape(model).n_layers
    wanted = {(component, layer) for row in layer_rows
              for layer in window_layers(row, window, n_layers)}
    recorded = record_pair(model, pair, wanted, metric, target, foil)
    runs = []
    for r, row in enumerate(layer_rows):
        for c, col in enumerate(cols):
            base_pos, source_pos = pair.positions(col)
            runs.append(interchange_run((r, c), [
                (Site(component, layer, base_pos),
                 recorded.source[component, layer][:, source_pos])
                for layer in window_layers(row, window, n_layers)], recorded.base,
                shape(model).n_heads))
    template = recorded.template(
        model, [f"L{x}" for x in layer_rows], [alignment.labels[c] for c in cols],
        subject=[i for i, c in enumerate(cols) if c in alignment.subject],
        experiment=experiment, component=component,
        spec={"experiment_kind": "patch", "clean": clean, "corrupt": corrupt,
              "target": recorded.target, "foil": foil, "component": component,
              "experiment": experiment, "window": window, "layers": layer_rows,
              "positions": cols, "align": align, "subject": subject})
    return run_sweep(model, prompt_ids(pair.base), runs, template, recorded.metric,
                     batch_size=batch_size, on_progress=on_progress, cancel=cancel,
                     progress=progress, resume=resume, base=recorded.base_run)


def embedding_std(model: Any, subjects: Any = None) -> float:
    """Standard deviation of token embeddings: the unit of the noise in `noise_trace`.

    Without ``subjects`` (the default): over the whole embedding matrix (every vocabulary row and
    dimension), which needs no dataset. With ``subjects`` (strings, or facts with a ``subject``,
    e.g. ``tw.datasets.known_facts()``): over the embeddings of the subjects' tokens, as ROME
    measures its "s3" (``collect_embedding_std``: each subject tokenized on its own, all their
    token embeddings pooled). The two differ by some 10% on the bundled model; use the second
    to match ROME's noise exactly: ``noise_trace(..., noise=3 * embedding_std(model, facts),
    absolute=True)``.
    """
    weight = submodule(model, architecture(model).embed).weight
    if subjects is None:
        return float(weight.detach().float().std())
    ids = [i for subject in subjects
           for i in model.tokenizer(getattr(subject, "subject", subject),
                                    add_special_tokens=False)["input_ids"]]
    if not ids:
        raise ValueError("embedding_std(model, subjects) needs at least one subject with "
                         "tokens; pass subject strings or facts with a .subject")
    return float(weight.detach()[torch.tensor(ids)].float().std())


def _noise(model: Any, prompt: Prompt, samples: int, noise: float, absolute: bool,
           seed: int) -> Noise:
    if not prompt.subject:
        raise PromptError("the subject has no tokens in the prompt")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a whole number >= 1, got {samples!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0 (a multiple of the embedding std, or an absolute "
                         f"std with absolute=True), got {noise!r}")
    scale = noise if absolute else noise * embedding_std(model)
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(samples, len(prompt.subject), shape(model).d_model,
                         generator=generator) * scale
    return Noise(prompt.subject, values)


def noise_trace(model: Any, prompt: str, subject: str, target: str | None = None, *,
                component: str = "resid", window: int | None = None, samples: int = 10,
                noise: float = 3.0, absolute: bool = False, seed: int = 0,
                sever: str | None = None, metric: str | MetricFn = "prob",
                foil: str | None = None, layers: Any = None, positions: Any = None,
                batch_size: int | None = None, on_progress: ProgressFn | None = None,
                cancel: CancelToken | None = None, progress: bool | None = None,
                resume: EffectGrid | None = None, stop_after: int | None = None) -> EffectGrid:
    """ROME causal tracing: corrupt the subject with noise, restore one site at a time.

    The corrupt run adds Gaussian noise to the *token* embeddings (not the position embeddings)
    of the subject's tokens only; its std is ``noise`` x `embedding_std` (ROME's "s3" for
    ``noise=3``) or ``noise`` itself with ``absolute=True``. ``samples`` noised copies are drawn
    once from ``seed``, so every cell sees the same draws; a cell's score is the metric averaged
    over them. Each cell restores the clean ``component`` at its token: ``resid`` at one layer,
    ``mlp``/``attn`` over ``window`` layers around it (default `default_window`: ROME's 10 of
    GPT-2 XL's 48 layers, scaled to the model's depth).

    ``sever="mlp"`` (or ``"attn"``) is ROME's severed-path experiment: while a ``resid`` cell
    restores layer L at token t, that component's outputs at token t in every later layer are
    held at their corrupted values, which shows how much of the restored effect flows through it.

    The grid fills by samples: after the first sample every cell holds a score, and each
    later report (``on_progress``) is the mean over the samples so far, with
    ``spec["samples_done"]`` and a per-cell ``ci95`` (95% interval of the mean over the noise
    samples) saying how settled it is; the final grid is the mean over all ``samples``. A
    cancelled trace keeps the complete grid of the samples done (`SweepCancelled.partial`),
    which ``resume=`` continues. ``stop_after=k`` returns that grid once ``k`` samples are in
    (a first look, or `average_trace` going round its prompts one sample group at a time).

    The default target is the model's top-1 prediction on the clean prompt.
    """
    require_model(model)
    if stop_after is not None and (not isinstance(stop_after, int) or stop_after < 1):
        raise ValueError(f"stop_after must be a whole number of samples >= 1, got "
                         f"{stop_after!r}")
    setup = NoiseSetup.of(model, prompt, subject, target, component=component, window=window,
                          samples=samples, noise=noise, absolute=absolute, seed=seed,
                          sever=sever, metric=metric, foil=foil, layers=layers,
                          positions=positions)
    n_layers = shape(model).n_layers
    clean_acts, corruption, window = setup.clean.acts, setup.corruption, setup.window
    severed = {(sever, layer) for layer in range(n_layers)} if sever else set()
    # the noised run: its activations, its score, and the base run of every sample group
    noised = record(model, setup.ids, severed, corruption)

    def runs_of(group: range) -> list[Run]:
        """The runs of a group of noise samples: every cell's patches, one value per sample."""
        runs = []
        for r, row in enumerate(setup.layer_rows):
            for c, col in enumerate(setup.cols):
                if setup.restores_nothing(col):  # the noised run, computed once for all
                    runs.append(Run((r, c)))
                    continue
                patches = [(Site(component, layer, col),
                            clean_acts[component, layer][:, col].expand(len(group), -1))
                           for layer in window_layers(row, window, n_layers)]
                patches += [(Site(sever, layer, col),
                             noised.acts[sever, layer][group.start:group.stop, col])
                            for layer in range(row + 1, n_layers)] if sever else []
                runs.append(Run((r, c), tuple(patches)))
        return runs

    template = setup.template(model, float(setup.metric(noised.logits).mean()))
    return run_by_samples(model, setup.ids, runs_of, template, setup.metric, corruption,
                          batch_size=batch_size, on_progress=on_progress, cancel=cancel,
                          progress=progress, resume=resume, base=noised,
                          stop_after=stop_after)


@dataclass(frozen=True)
class NoiseSetup:
    """What a noise trace and its attribution estimate share: the checked arguments, the
    prompt, the noise draws, the clean prompt's recording of every site a cell restores, and
    the metric bound to the target (the clean run's top-1 by default)."""

    prompt: Prompt
    ids: torch.Tensor
    component: str
    window: int
    layer_rows: list[int]
    cols: list[int]
    corruption: Noise
    wanted: set[tuple[str, int]]
    clean: Recording
    metric: Metric
    spec: dict

    @classmethod
    def of(cls, model: Any, prompt: str, subject: str, target: str | None, *, component: str,
           window: int | None, samples: int, noise: float, absolute: bool, seed: int,
           sever: str | None, metric: str | MetricFn, foil: str | None, layers: Any,
           positions: Any) -> NoiseSetup:
        """Check ``noise_trace``'s arguments and record the clean prompt."""
        check_component(component, LAYER_COMPONENTS)
        n_layers = shape(model).n_layers
        if window is None:
            window = 1 if component == "resid" else default_window(n_layers)
        check_window(window)
        if sever is not None and (component != "resid" or sever not in ("mlp", "attn")):
            raise ValueError("sever must be 'mlp' or 'attn' and applies to component='resid'")
        prompt_p = prepare_prompt(model, prompt, subject)
        layer_rows = check_layers(model, layers)
        cols = check_columns(positions, len(prompt_p), prompt_p.tokens)
        corruption = _noise(model, prompt_p, samples, noise, absolute, seed)
        wanted = {(component, layer) for row in layer_rows
                  for layer in window_layers(row, window, n_layers)}
        ids = prompt_ids(prompt_p)
        clean = record(model, ids, wanted)
        bound, target_text = bind_metric(model, metric, target, foil, clean.logits)
        spec = {"experiment_kind": "noise_trace", "prompt": prompt, "subject": subject,
                "target": target_text, "foil": foil, "component": component, "window": window,
                "samples": samples, "noise": noise, "absolute": absolute, "seed": seed,
                "sever": sever, "layers": layer_rows, "positions": cols}
        return cls(prompt_p, ids, component, window, layer_rows, cols, corruption, wanted,
                   clean, bound, spec)

    def restores_nothing(self, col: int) -> bool:
        """Whether restoring the clean run at prompt position ``col`` changes nothing: before
        the subject the noised run's states are the clean run's, so such a cell's run is the
        noised run itself."""
        return col < min(self.corruption.positions)

    def template(self, model: Any, corrupt_score: float, **spec: Any) -> EffectGrid:
        """The trace's empty grid, its corrupt score the mean over the noised runs."""
        return grid_template(
            model, self.metric, [f"L{x}" for x in self.layer_rows],
            [self.prompt.tokens[c] for c in self.cols],
            subject=[i for i, c in enumerate(self.cols) if c in self.prompt.subject],
            clean_score=float(self.metric(self.clean.logits)[0]), corrupt_score=corrupt_score,
            experiment="restore", component=self.component, spec={**self.spec, **spec})


def patch_heads(model: Any, clean: str, corrupt: str, target: str | None = None, *,
                layer: int | None = None, position: int = -1, layers: Any = None,
                foil: str | None = None, experiment: str = "restore",
                metric: str | MetricFn = "prob",
                subject: str | None = None, align: bool = False, batch_size: int | None = None,
                on_progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                progress: bool | None = None, resume: EffectGrid | None = None) -> EffectGrid:
    """Patch single attention heads: each head's slice of the attention output projection's
    input (its output before the heads are mixed).

    With ``layer`` given: heads x positions at that layer. Without: layers x heads at
    ``position`` (default the last token, where attention moves the answer into place), over
    ``layers`` (default all).
    Grouped-query models work: a head here is a query head, whose output is its own slice.
    """
    require_model(model)
    pair = interchange(model, clean, corrupt, subject, align, experiment)
    alignment = pair.alignment
    sizes = shape(model)
    n_cols = len(alignment.pairs)
    if layer is None:
        layer_list = check_layers(model, layers)
        cols = check_columns([position], n_cols, alignment.labels)
    else:
        layer_list = check_layers(model, [layer], "layer")
        cols = check_columns(None, n_cols, alignment.labels)
    recorded = record_pair(model, pair, {("head", x) for x in layer_list}, metric, target, foil)

    def site_run(cell: tuple[int, int], at_layer: int, col: int, head: int) -> Run:
        base_pos, source_pos = pair.positions(col)
        value = site_value(recorded.source, Site("head", at_layer, source_pos, head),
                           sizes.n_heads)
        return interchange_run(cell, [(Site("head", at_layer, base_pos, head), value)],
                               recorded.base, sizes.n_heads)

    heads = range(sizes.n_heads)
    if layer is None:
        runs = [site_run((r, h), x, cols[0], h) for r, x in enumerate(layer_list) for h in heads]
        rows, col_labels, row_name, col_name = [f"L{x}" for x in layer_list], \
            [f"H{h}" for h in heads], "layer", "head"
        subject_cols: list[int] = []
    else:
        runs = [site_run((h, c), layer_list[0], col, h) for h in heads
                for c, col in enumerate(cols)]
        rows, col_labels, row_name, col_name = [f"H{h}" for h in heads], \
            [alignment.labels[c] for c in cols], "head", "token"
        subject_cols = [i for i, c in enumerate(cols) if c in alignment.subject]
    template = recorded.template(
        model, rows, col_labels, row_name=row_name, col_name=col_name, subject=subject_cols,
        experiment=experiment, component="head",
        spec={"experiment_kind": "patch_heads", "clean": clean, "corrupt": corrupt,
              "target": recorded.target, "foil": foil, "layer": layer, "position": cols[0]
              if layer is None else None, "experiment": experiment, "align": align,
              "subject": subject})
    return run_sweep(model, prompt_ids(pair.base), runs, template, recorded.metric,
                     batch_size=batch_size, on_progress=on_progress, cancel=cancel,
                     progress=progress, resume=resume, base=recorded.base_run)

