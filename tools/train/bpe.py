#!/usr/bin/python3
"""Byte-level BPE (GPT-2 / Llama-3 style): training, the Hugging Face files, and encoding.

Trains with the same pre-tokenizer regex and the same tie rule as xyserve's C++ trainer
(src/tokenizer/bpe_trainer.cpp: most frequent pair, ties to the lexicographically smaller pair of
token strings), incrementally (only words containing the merged pair are recounted), and writes
tokenizer.json / tokenizer_config.json in the layout transformers writes, so any HF tokenizer
implementation, xyserve's included, loads them without special cases.

Usage: bpe.py train --corpus bpe_train.txt --vocab-size 4096 --out DIR
       bpe.py encode --tokenizer DIR --text train.txt --out train.u16   (uint16 ids)
"""
import argparse
import collections
import json
import os
import sys

import numpy as np
import regex

SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
         r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def byte_alphabet():
    """GPT-2's reversible byte -> printable character map."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


ALPHABET = byte_alphabet()


def to_symbols(piece):
    return "".join(ALPHABET[b] for b in piece.encode("utf-8"))


def train(corpus, vocab_size):
    counts = collections.Counter(to_symbols(p) for p in regex.findall(SPLIT, corpus))
    words = [list(w) for w in counts]
    freq = list(counts.values())
    pairs = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words containing it
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += freq[i]
            where[(a, b)].add(i)
    vocab = list(ALPHABET)
    merges = []
    while len(vocab) < vocab_size - len(SPECIALS) and pairs:
        top = max(pairs.values())
        if top < 2:
            break
        best = min(p for p, c in pairs.items() if c == top)
        a, b = best
        merged = a + b
        vocab.append(merged)
        merges.append(best)
        for i in list(where[best]):
            w = words[i]
            for x, y in zip(w, w[1:]):  # remove this word's old pairs
                pairs[(x, y)] -= freq[i]
                if pairs[(x, y)] == 0:
                    del pairs[(x, y)]
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for x, y in zip(out, out[1:]):
                pairs[(x, y)] += freq[i]
                where[(x, y)].add(i)
        del where[best]
    return vocab, merges


def write(vocab, merges, out_dir):
    first_special = len(vocab)
    added = [{"id": first_special + i, "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                  "use_regex": False}
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": SPLIT}, "behavior": "Isolated", "invert": False},
            byte_level]},
        "post_processor": byte_level, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(vocab)},
                  "merges": [[a, b] for a, b in merges]}}
    cfg = {"add_bos_token": False, "add_eos_token": False,
           "added_tokens_decoder": {str(a["id"]): a for a in added}, "bos_token": None,
           "chat_template": CHAT_TEMPLATE, "clean_up_tokenization_spaces": False,
           "eos_token": "<|im_end|>", "model_max_length": 2048, "pad_token": "<|endoftext|>",
           "tokenizer_class": "PreTrainedTokenizerFast", "unk_token": None}
    os.makedirs(out_dir, exist_ok=True)
    for name, obj in (("tokenizer.json", tok), ("tokenizer_config.json", cfg)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")


class Encoder:
    def __init__(self, tokenizer_dir):
        tok = json.load(open(os.path.join(tokenizer_dir, "tokenizer.json"), encoding="utf-8"))
        self.vocab = tok["model"]["vocab"]
        self.ranks = {tuple(m): r for r, m in enumerate(tok["model"]["merges"])}
        self.special = {a["content"]: a["id"] for a in tok["added_tokens"]}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.id_to_token.update({i: t for t, i in self.special.items()})
        self.byte_of = {c: b for b, c in enumerate(ALPHABET)}
        self.special_re = regex.compile("(" + "|".join(regex.escape(s) for s in self.special) + ")")
        self.cache = {}

    def _bpe(self, sym):
        if sym in self.cache:
            return self.cache[sym]
        parts = list(sym)
        while len(parts) > 1:
            best = min(((self.ranks.get((x, y), 1 << 30), i)
                        for i, (x, y) in enumerate(zip(parts, parts[1:]))))
            if best[0] == 1 << 30:
                break
            x, y = parts[best[1]], parts[best[1] + 1]
            out, j = [], 0
            while j < len(parts):  # merge every occurrence of the lowest-rank pair, left to right
                if j + 1 < len(parts) and parts[j] == x and parts[j + 1] == y:
                    out.append(x + y)
                    j += 2
                else:
                    out.append(parts[j])
                    j += 1
            parts = out
        ids = [self.vocab[p] for p in parts]
        self.cache[sym] = ids
        return ids

    def encode(self, text):
        ids = []
        for chunk in self.special_re.split(text):
            if not chunk:
                continue
            if chunk in self.special:
                ids.append(self.special[chunk])
                continue
            for piece in regex.findall(SPLIT, chunk):
                ids.extend(self._bpe(to_symbols(piece)))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.id_to_token[i]
            if t in self.special:
                out += t.encode()
            else:
                out += bytes(self.byte_of[c] for c in t)
        return out.decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--corpus", required=True)
    t.add_argument("--vocab-size", type=int, default=4096)
    t.add_argument("--out", required=True)
    e = sub.add_parser("encode")
    e.add_argument("--tokenizer", required=True)
    e.add_argument("--text", required=True)
    e.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "train":
        vocab, merges = train(open(a.corpus, encoding="utf-8").read(), a.vocab_size)
        write(vocab, merges, a.out)
        print(f"vocab {len(vocab) + len(SPECIALS)} ({len(merges)} merges) -> {a.out}")
    else:
        enc = Encoder(a.tokenizer)
        ids = enc.encode(open(a.text, encoding="utf-8").read())
        np.asarray(ids, dtype=np.uint16).tofile(a.out)
        print(f"{len(ids)} tokens -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
