"""The engine against the independent hook-based reference, and the invariants of patching."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

import tracewidget as tw
from tests import reference as ref
from tests.prompts import CLEAN, CORRUPT, SUBJECT, token_ids
from tests.tiny_models import CONFIGS, SLIDING, load_unchecked, save_tiny_model
from tracewidget.models.architectures import model_config
from tracewidget.models.factlm import WEIGHTS_DIR
from tracewidget.tracing import use_executor
from tracewidget.tracing.executors import executor_for
from tracewidget.tracing.local_executor import can_run_locally, plain_head

TOL = 1e-5


@pytest.fixture(scope="module")
def factlm_ref():
    return ref.load_reference(WEIGHTS_DIR)


@pytest.fixture(scope="module")
def tiny_refs(tiny_dirs):
    return {family: ref.load_reference(path) for family, path in tiny_dirs.items()}


def _cases(model, hf):
    """(name, engine call, reference grid) for every experiment on one model."""
    clean, corrupt = token_ids(model, CLEAN), token_ids(model, CORRUPT)
    target_text = " Paris" if len(token_ids(model, " Paris")) == 1 else "Paris"
    target = token_ids(model, target_text)[0]
    subject = tuple(tw.tracing.prompts.tokenize(model.tokenizer, CLEAN, SUBJECT).subject)
    n = tw.models.shape(model).n_layers
    window = min(3, n)
    pair = (model, CLEAN, CORRUPT, target_text)
    for component in ("resid", "mlp", "attn"):
        w = 1 if component == "resid" else window
        for experiment in ("restore", "ablate"):
            yield (f"patch {component} {experiment} w{w}",
                   partial(tw.patch, *pair, component=component, experiment=experiment,
                           window=w, progress=False),
                   ref.patch_grid(hf, clean, corrupt, target, component, experiment, w))
        yield (f"noise {component} w{w}",
               partial(tw.noise_trace, model, CLEAN, SUBJECT, target_text, component=component,
                       window=w, samples=3, progress=False),
               ref.noise_grid(hf, clean, subject, target, component, w, samples=3))
        yield (f"attribution {component}",
               partial(tw.attribution_patch, *pair, component=component),
               ref.attribution_grid(hf, clean, corrupt, target, component))
    for sever in ("mlp", "attn"):
        yield (f"noise resid severed {sever}",
               partial(tw.noise_trace, model, CLEAN, SUBJECT, target_text, sever=sever,
                       samples=3, progress=False),
               ref.noise_grid(hf, clean, subject, target, "resid", 1, samples=3, sever=sever))
    yield ("heads x positions at layer 1", partial(tw.patch_heads, *pair, layer=1, progress=False),
           ref.heads_grid(hf, clean, corrupt, target, layer=1))
    yield ("layers x heads at the last token", partial(tw.patch_heads, *pair, progress=False),
           ref.heads_grid(hf, clean, corrupt, target))
    neurons = partial(tw.patch_neurons, *pair, layer=0, position=1, top_k=3, progress=False)
    yield ("top neurons, confirmed exactly", neurons,
           [[v] for v in ref.neuron_scores(hf, clean, corrupt, target, 0, 1,
                                           neurons().spec["neurons"])])


def _check_against_reference(model, hf):
    """Both executors (nnsight traces and local hooks with prefix reuse) against the reference;
    the nnsight one only for a family the local executor cannot run (GPT-Neo)."""
    executors = ("nnsight", "local") if can_run_locally(model) else ("nnsight",)
    for name, run, expected in _cases(model, hf):
        expected = np.array(expected)
        assert np.ptp(expected) > 1e-6, f"{name}: the reference grid is flat, the test is void"
        for executor in executors:
            with use_executor(executor):
                grid = run()
            assert grid.values.shape == expected.shape, (name, executor)
            assert np.abs(grid.values - expected).max() < TOL, (name, executor)


def test_factlm_matches_reference(factlm, factlm_ref):
    _check_against_reference(factlm, factlm_ref)


@pytest.mark.parametrize("family", sorted(CONFIGS))
def test_tiny_family_matches_reference(tiny_models, tiny_refs, family):
    _check_against_reference(tiny_models[family], tiny_refs[family])


@pytest.mark.parametrize("family", sorted(SLIDING))
def test_sliding_window_shorter_than_the_prompt_matches_reference(tmp_path, family):
    """The local executor builds its own attention masks: windows must hold there too."""
    folder = save_tiny_model(family, tmp_path / family, **SLIDING[family])
    model = tw.load_model(folder)
    windows = [tw.tracing.local_executor.sliding_window(model, k) for k in range(2)]
    assert 8 in windows, windows
    _check_against_reference(model, ref.load_reference(folder))


def test_gemma3_multimodal_checkpoint_matches_reference(tmp_path):
    """Gemma3ForConditionalGeneration keeps its text model under model.language_model, beside a
    vision tower: the map's entry for the outer "gemma3" type, not its text config's."""
    folder = save_tiny_model("gemma3", tmp_path / "gemma3")
    model = load_unchecked(folder)
    assert tw.architecture(model).blocks == "model.language_model.layers"
    assert 8 in [tw.tracing.local_executor.sliding_window(model, k) for k in range(2)]
    _check_against_reference(model, ref.load_reference(folder))


def test_gpt_neo_runs_on_the_nnsight_executor_only(tiny_models):
    """The local executor cannot pack GPT-Neo's blocks: it is not chosen, and asking for it
    fails before any forward."""
    model = tiny_models["gpt_neo"]
    assert executor_for(model).name == "nnsight"
    with use_executor("local"), pytest.raises(ValueError, match="local executor"):
        tw.patch(model, CLEAN, CORRUPT, "Paris", progress=False)


def test_local_sweep_is_one_packed_forward_per_batch(factlm):
    """The whole overview of the bundled model fits one packed batch: the sweep is one forward
    after the recording of both prompts (one forward of two rows; the corrupt prompt's row is
    the base run the batch starts from), not a forward per cell or per band."""
    forwards = []
    norm = factlm._module.transformer.ln_f
    handle = norm.register_forward_hook(lambda mod, args, out: forwards.append(args[0].shape))
    reports = []
    try:
        with use_executor("local"):
            tw.patch(factlm, CLEAN, CORRUPT, " Paris",
                     on_progress=lambda done, total, grid: reports.append(done))
    finally:
        handle.remove()
    assert reports == [54]
    # recording the clean and corrupt prompts together, then one packed sequence holding
    # every run's tokens from its position on (the 6 cells of the shared "The" are one run)
    n = forwards[0][1]  # tokens in the prompt
    assert len(forwards) == 2, forwards
    assert forwards[0][0] == 2, forwards
    assert forwards[1][:2] == (1, 6 * sum(n - p for p in range(1, n)) + 1), forwards


def test_builtin_metrics_score_batches_without_whole_logits(factlm, tiny_models):
    """A sweep's batches read a built-in metric from the final hidden states: the output
    embedding runs only in the recording. A model whose logits are more than that embedding
    (Gemma 2 soft-caps them) keeps the whole logits; its grids match the reference above."""
    calls = []
    head = factlm._module.get_output_embeddings()
    handle = head.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape))
    try:
        with use_executor("local"):
            tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
            tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", samples=2, progress=False)
    finally:
        handle.remove()
    # the patch's recording of both prompts, the trace's of the clean and the noised prompt
    assert [shape[0] for shape in calls] == [2, 1, 2], calls
    assert plain_head(factlm) is head
    for family, plain in (("gemma2", False), ("llama", True)):
        model = tiny_models[family]
        with use_executor("local"):
            tw.patch(model, CLEAN, CORRUPT, "Paris", progress=False)
        assert (plain_head(model) is model._module.lm_head) is plain, family
    assert model_config(tiny_models["gemma2"]).final_logit_softcapping


def test_aligned_prompts_of_different_lengths_agree_on_both_executors(factlm):
    """With ``align=True`` the base prompt is shorter or longer than the source: the packed
    batches must read each column at its own position in each prompt."""
    fact = next(f for f in tw.datasets.facts()
                if f.relation == "city" and len(f.subject.split()) == 3
                and f.prompt.startswith("The ") and f.answer != " Moscow")
    corrupt = fact.prompt.replace(fact.subject, "Kremlin")
    for experiment in ("restore", "ablate"):
        for component, window in (("resid", 1), ("mlp", 3)):
            grids = {}
            for executor in ("nnsight", "local"):
                with use_executor(executor):
                    grids[executor] = tw.patch(
                        factlm, fact.prompt, corrupt, fact.answer, align=True,
                        experiment=experiment, component=component, window=window,
                        progress=False).values
            assert np.ptp(grids["local"]) > 1e-3, (experiment, component)
            assert np.abs(grids["local"] - grids["nnsight"]).max() < TOL, (experiment, component)


def test_restoring_last_layer_gives_clean_and_unchanged_positions_give_corrupt(factlm):
    g = tw.patch(factlm, CLEAN, CORRUPT, " Paris", progress=False)
    assert abs(g.values[-1, -1] - g.clean_score) < TOL
    # position 0 ("The") is the same token in both prompts: nothing is restored there
    assert np.abs(g.values[:, 0] - g.corrupt_score).max() < TOL
    assert g.clean_score > 0.9 > 0.1 > g.corrupt_score


def test_effect_signs_of_restore_and_ablate(factlm):
    restore = tw.patch(factlm, CLEAN, CORRUPT, " Paris", experiment="restore", progress=False)
    ablate = tw.patch(factlm, CLEAN, CORRUPT, " Paris", experiment="ablate", progress=False)
    subject_col = restore.subject[0]
    # at the subject in the first layer, restoring brings the answer back and ablating takes
    # it away: both effects are positive, and normalized effects are close to 1
    assert restore.effects()[0, subject_col] > 0.5
    assert ablate.effects()[0, subject_col] > 0.5
    assert abs(restore.normalized()[0, subject_col] - 1) < 0.1
    assert abs(ablate.normalized()[0, subject_col] - 1) < 0.1
    assert restore.subject == ablate.subject == (1,)


def test_default_target_is_models_top1(factlm):
    g = tw.noise_trace(factlm, CLEAN, SUBJECT, samples=2, progress=False)
    assert g.spec["target"] == " Paris"


def test_noise_trace_windows_default_to_the_widgets_fraction_of_the_depth(factlm):
    # a fixed 10 covered all 6 layers of the bundled model: every row restored the same window
    g = tw.noise_trace(factlm, CLEAN, SUBJECT, " Paris", component="mlp", samples=1,
                       positions=[-1], progress=False)
    assert g.spec["window"] == tw.tracing.default_window(6) == 1
