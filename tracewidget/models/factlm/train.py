"""Train the bundled fact model ``factlm`` from scratch on the shipped facts table.

    python -m tracewidget.models.factlm.train            # rewrites the shipped weights
    python -m tracewidget.models.factlm.train --out DIR  # writes elsewhere

Seeded and CPU-only: on 2 cores it reproduces the shipped weights' quality (top-1 on every fact of
``tw.datasets.facts()``) in a few minutes. The tokenizer is a byte-level BPE, as GPT-2's, trained on
the same sentences, so every word of the table is one token with its leading space (" Paris")
and any other text still tokenizes (into pieces).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from tracewidget.datasets import fact_prompts, facts_table
from tracewidget.models.factlm import WEIGHTS_DIR

EOS = "<|endoftext|>"


def training_sentences() -> list[tuple[str, str]]:
    """Every (prompt, answer) pair: each fact, template and filler sentence."""
    return [(f.prompt, f.answer) for filler in facts_table()["fillers"]
            for f in fact_prompts(filler)]


def train_tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    """A byte-level BPE that keeps merging until every word of ``texts`` is a single token."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4096, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS,
                                   bos_token=EOS, unk_token=EOS)


def encode(tokenizer: PreTrainedTokenizerFast, pairs: list[tuple[str, str]]):
    """Right-padded ids, attention mask, and the index of each prompt's last token."""
    ids = [tokenizer(p + a)["input_ids"] for p, a in pairs]
    n_answer = [len(tokenizer(a)["input_ids"]) for _, a in pairs]
    if set(n_answer) != {1}:
        raise ValueError("every answer must be a single token")
    width = max(map(len, ids))
    input_ids = torch.full((len(ids), width), tokenizer.pad_token_id)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    last_prompt = mask.sum(1) - 2
    return input_ids, mask, last_prompt


@torch.no_grad()
def accuracy(model: GPT2LMHeadModel, tokenizer: PreTrainedTokenizerFast,
             pairs: list[tuple[str, str]], batch: int = 512) -> float:
    """Top-1 accuracy of the answer token after each prompt (restores the model's mode)."""
    was_training = model.training
    model.eval()
    ids, mask, last = encode(tokenizer, pairs)
    correct = 0
    for s in range(0, len(pairs), batch):
        logits = model(input_ids=ids[s:s + batch], attention_mask=mask[s:s + batch]).logits
        rows = torch.arange(len(logits))
        pred = logits[rows, last[s:s + batch]].argmax(-1)
        correct += (pred == ids[s:s + batch][rows, last[s:s + batch] + 1]).sum().item()
    model.train(was_training)
    return correct / len(pairs)


def train(out: Path, steps: int, batch: int, layers: int, width: int, lr: float,
          seed: int) -> dict:
    torch.manual_seed(seed)
    random.seed(seed)
    start = time.perf_counter()
    pairs = training_sentences()
    tokenizer = train_tokenizer([p + a for p, a in pairs])
    ids, mask, last = encode(tokenizer, pairs)
    labels = ids.masked_fill(mask == 0, -100)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=width, n_layer=layers,
                        n_head=4, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.eos_token_id)
    model = GPT2LMHeadModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    warmup = steps // 20
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    gen = torch.Generator().manual_seed(seed)
    for step in range(steps):
        idx = torch.randint(len(pairs), (batch,), generator=gen)
        width_b = int(mask[idx].sum(1).max())
        out_ = model(input_ids=ids[idx, :width_b], attention_mask=mask[idx, :width_b])
        logits = out_.logits[:, :-1]
        lm = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               labels[idx, 1:width_b].reshape(-1))
        rows = torch.arange(batch)
        answer = torch.nn.functional.cross_entropy(out_.logits[rows, last[idx]],
                                                   ids[idx][rows, last[idx] + 1])
        loss = lm + answer
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {lm.item():.3f}  answer loss {answer.item():.3f}  "
                  f"{time.perf_counter() - start:.0f}s", flush=True)
    seconds = time.perf_counter() - start
    facts_pairs = [(f.prompt, f.answer) for f in fact_prompts()]
    stats = {
        "steps": steps, "batch": batch, "lr": lr, "seed": seed, "layers": layers, "width": width,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(seconds, 1), "torch_threads": torch.get_num_threads(),
        "facts_accuracy": accuracy(model, tokenizer, facts_pairs),
        "with_fillers_accuracy": accuracy(model, tokenizer, pairs),
    }
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "training.json").write_text(json.dumps(stats, indent=1) + "\n")
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    stats = train(args.out, args.steps, args.batch, args.layers, args.width, args.lr, args.seed)
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
