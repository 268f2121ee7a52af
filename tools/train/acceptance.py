#!/usr/bin/python3
"""Greedy acceptance rate of the shipped draft model against the shipped target.

Speculative decoding as the engine runs it with a draft-model proposer in greedy mode: the draft
proposes K tokens greedily, the target scores them in one verify pass and accepts the longest
prefix equal to its own greedy choices, plus one token of its own (the correction or the bonus).
Prompts are held out: the first PROMPT_TOKENS tokens of validation documents (never trained on).
Both models are read from their model.safetensors (bf16) and run in f32, as xyserve runs them.

Reports: acceptance rate (accepted / proposed draft tokens), mean tokens per verify step, and
the distribution of accepted lengths.

Usage: acceptance.py --target models/xy-target --draft models/xy-draft --valid valid.u16
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama import load_checkpoint  # noqa: E402

ENDOFTEXT = 4093


@torch.no_grad()
def next_greedy(model, ids):
    """Greedy next token after every prefix: argmax rows of the logits [len(ids)]."""
    return model(torch.tensor([ids]))[0].argmax(-1).tolist()


@torch.no_grad()
def speculate(target, draft, prompt, n_new, k):
    out = list(prompt)
    accepted_lens = []
    while len(out) - len(prompt) < n_new:
        proposal = []
        for _ in range(k):
            proposal.append(next_greedy(draft, out + proposal)[-1])
        choices = next_greedy(target, out + proposal)[len(out) - 1:]  # k + 1 target choices
        a = 0
        while a < k and proposal[a] == choices[a]:
            a += 1
        accepted_lens.append(a)
        out += proposal[:a] + [choices[a]]
    return out[len(prompt):len(prompt) + n_new], accepted_lens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--draft", required=True)
    ap.add_argument("--valid", required=True, help="validation token ids (uint16)")
    ap.add_argument("--prompts", type=int, default=24)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("-k", type=int, default=4)
    a = ap.parse_args()
    torch.set_num_threads(1)
    target, draft = load_checkpoint(a.target), load_checkpoint(a.draft)
    ids = np.fromfile(a.valid, np.uint16).tolist()
    docs, cur = [], []
    for t in ids:
        if t == ENDOFTEXT:
            docs.append(cur)
            cur = []
        else:
            cur.append(t)
    prompts = [d[:a.prompt_tokens] for d in docs if len(d) >= a.prompt_tokens][:a.prompts]
    all_lens = []
    for p in prompts:
        _, lens = speculate(target, draft, p, a.new_tokens, a.k)
        all_lens += lens
    steps = len(all_lens)
    accepted = sum(all_lens)
    hist = [all_lens.count(i) for i in range(a.k + 1)]
    res = {"prompts": len(prompts), "prompt_tokens": a.prompt_tokens, "new_tokens": a.new_tokens,
           "k": a.k, "verify_steps": steps, "acceptance_rate": accepted / (steps * a.k),
           "tokens_per_verify_step": (accepted + steps) / steps,
           "accepted_length_histogram": hist}
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
