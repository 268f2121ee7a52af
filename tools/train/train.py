#!/usr/bin/python3
"""Trains one of the shipped models (target or draft) and exports it as a HF checkpoint.

Reproducible: fixed seed, one thread, deterministic batch sampling. After training the weights
are rounded to bf16 (what model.safetensors stores), and every reported figure is computed from
those rounded weights in f32 arithmetic, the same numbers xyserve computes:
  - validation loss / perplexity over the whole held-out split (non-overlapping 256-token windows),
  - the same over the fixed slice the C++ test recomputes (first EVAL_WINDOWS windows),
  - greedy continuations of the reference prompts (64 tokens each, EOS not stopping them).
Writes OUT/{model.safetensors, config.json, generation_config.json, tokenizer*.json} and
OUT/reference.json.

Usage: train.py --preset target|draft --data DIR (train.u16, valid.u16) --tokenizer DIR --out DIR
       [--eval-only]   (reference.json again from OUT's model.safetensors, no training)
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Encoder  # noqa: E402
from llama import LlamaConfig, LlamaForCausalLM, load_checkpoint  # noqa: E402

SEQ = 256
EVAL_WINDOWS = 4  # windows of SEQ tokens in the C++ test's validation slice
VOCAB = 4096
ENDOFTEXT, IM_START, IM_END = 4093, 4094, 4095

PRESETS = {
    # ~8.7 M parameters: 8 layers, GQA 8 query / 2 KV heads of 32, SwiGLU 1024, tied embeddings.
    "target": dict(cfg=dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=8,
                            num_attention_heads=8, num_key_value_heads=2),
                   steps=2400, batch=8, lr=2e-3),
    # ~2.4 M parameters: 4 layers, GQA 6 / 2 heads of 32, SwiGLU 512, tied embeddings.
    "draft": dict(cfg=dict(hidden_size=192, intermediate_size=512, num_hidden_layers=4,
                           num_attention_heads=6, num_key_value_heads=2),
                  steps=2400, batch=8, lr=3e-3),
}

PROMPTS = [
    "In the beginning",
    "And the LORD said unto Moses,",
    "A computer is",
    "The best thing about life is",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "Tell me something about love.<|im_end|>\n<|im_start|>assistant\n",
]
GREEDY_TOKENS = 64


def lr_at(step, steps, peak):
    """Linear warm-up over 5% of the steps, then cosine decay to 10% of the peak."""
    warm = max(1, steps // 20)
    if step < warm:
        return peak * (step + 1) / warm
    t = (step - warm) / max(1, steps - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * t)))


def write_safetensors(path, tensors):
    """bf16 safetensors, written by hand (the safetensors package is not in Debian 12)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.bfloat16).contiguous()
        raw = t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": "BF16", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


@torch.no_grad()
def window_nll(model, windows):
    """Mean next-token NLL (nats) over windows [n, SEQ] (predicting positions 1..SEQ-1)."""
    total, count = 0.0, 0
    for i in range(0, len(windows), 8):
        w = windows[i:i + 8]
        logits = model(w)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), w[:, 1:].reshape(-1),
                               reduction="sum")
        total += loss.item()
        count += w.shape[0] * (SEQ - 1)
    return total / count


@torch.no_grad()
def greedy(model, ids, n):
    """n greedy tokens after ids (full recompute per token; tiny models), plus each step's
    margin between the best and the second-best logit (how robust the argmax is)."""
    out, margins = list(ids), []
    for _ in range(n):
        logits = model(torch.tensor([out]))[0, -1].double()
        top = torch.topk(logits, 2)
        margins.append(float(top.values[0] - top.values[1]))
        out.append(int(top.indices[0]))
    return out[len(ids):], margins


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=PRESETS, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--eval-only", action="store_true",
                    help="skip training; recompute reference.json from OUT's checkpoint")
    a = ap.parse_args()
    p = PRESETS[a.preset]
    steps = a.steps or p["steps"]
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    train = torch.from_numpy(np.fromfile(os.path.join(a.data, "train.u16"), np.uint16).astype(np.int64))
    valid = torch.from_numpy(np.fromfile(os.path.join(a.data, "valid.u16"), np.uint16).astype(np.int64))
    n_win = len(valid) // SEQ
    valid_windows = valid[:n_win * SEQ].view(n_win, SEQ)

    if a.eval_only:  # re-derive the reference figures from the exported checkpoint
        model = load_checkpoint(a.out)
        train_seconds = json.load(open(os.path.join(a.out, "reference.json")))["train_seconds"]
    else:
        model, train_seconds = train_and_export(a, p, steps, gen, train)
    evaluate(a, p, steps, model, train_seconds, valid_windows)


def train_and_export(a, p, steps, gen, train):
    cfg = LlamaConfig(vocab_size=VOCAB, max_position_embeddings=2048, rms_norm_eps=1e-5,
                      rope_theta=10000.0, tie_word_embeddings=True, bos_token_id=None,
                      eos_token_id=IM_END, pad_token_id=ENDOFTEXT, **p["cfg"])
    model = LlamaForCausalLM(cfg)
    decay = [q for n, q in model.named_parameters() if q.dim() >= 2]
    no_decay = [q for n, q in model.named_parameters() if q.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=p["lr"], betas=(0.9, 0.95), eps=1e-8)
    print(f"{a.preset}: {model.num_params():,} parameters, {steps} steps x {p['batch']} x {SEQ} "
          f"tokens ({steps * p['batch'] * SEQ:,}) of {len(train):,} training tokens", flush=True)

    t0 = time.time()
    model.train()
    for step in range(steps):
        starts = torch.randint(0, len(train) - SEQ - 1, (p["batch"],), generator=gen)
        batch = torch.stack([train[s:s + SEQ + 1] for s in starts.tolist()])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, p["lr"])
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 10 == 0 or step == steps - 1:
            el = time.time() - t0
            print(f"step {step:4d} loss {loss.item():.4f} lr {lr_at(step, steps, p['lr']):.2e} "
                  f"elapsed {el:7.1f}s ({(step + 1) * p['batch'] * SEQ / el:.0f} tok/s)", flush=True)
    train_seconds = time.time() - t0

    # Round to bf16 once; everything below uses exactly the weights xyserve loads.
    model.eval()
    with torch.no_grad():
        for q in model.parameters():
            q.copy_(q.to(torch.bfloat16).float())
    os.makedirs(a.out, exist_ok=True)
    state = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}
    write_safetensors(os.path.join(a.out, "model.safetensors"), state)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg.hf_json(), f, indent=2)
        f.write("\n")
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump({"do_sample": True, "eos_token_id": [IM_END, ENDOFTEXT], "pad_token_id": ENDOFTEXT,
                   "temperature": 0.7, "top_p": 0.9}, f, indent=2)
        f.write("\n")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(a.tokenizer, name), os.path.join(a.out, name))
    return model, train_seconds


def evaluate(a, p, steps, model, train_seconds, valid_windows):
    n_win = valid_windows.shape[0]
    t1 = time.time()
    val_nll = window_nll(model, valid_windows)
    slice_windows = valid_windows[:EVAL_WINDOWS]
    slice_nll = window_nll(model, slice_windows)
    enc = Encoder(a.tokenizer)
    greedy_refs = []
    for text in PROMPTS:
        ids = enc.encode(text)
        toks, margins = greedy(model, ids, GREEDY_TOKENS)
        greedy_refs.append({"prompt": text, "prompt_ids": ids, "greedy_ids": toks,
                            "greedy_text": enc.decode(toks), "min_top2_margin": min(margins)})
        print(f"--- {text!r}\n{enc.decode(toks)}", flush=True)
    ref = {
        "preset": a.preset, "seed": a.seed, "parameters": model.num_params(),
        "steps": steps, "batch": p["batch"], "seq_len": SEQ, "peak_lr": p["lr"],
        "train_tokens_seen": steps * p["batch"] * SEQ, "train_seconds": round(train_seconds, 1),
        "torch": torch.__version__,
        "valid": {"tokens": n_win * SEQ, "windows": n_win, "loss": val_nll, "ppl": math.exp(val_nll)},
        "valid_slice": {"windows": slice_windows.tolist(), "loss": slice_nll,
                        "ppl": math.exp(slice_nll)},
        "greedy": greedy_refs,
    }
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(f"valid loss {val_nll:.4f} ppl {math.exp(val_nll):.2f}; slice ppl {math.exp(slice_nll):.3f}; "
          f"trained {train_seconds:.0f}s, evaluated {time.time() - t1:.0f}s", flush=True)


if __name__ == "__main__":
    main()
