#!/usr/bin/python3
"""Builds the training corpus of the shipped models from Debian packages.

Sources (exact versions are recorded in OUT/sources.json and models/README.md):
  bible-kjv-text + bible-kjv  the King James Bible (public domain text; the `bible` program of
                              bible-kjv, GPL-2+, only decompresses it)
  fortunes, fortunes-min      the fortune-mod cookie files (BSD licence per Debian's copyright)

Documents: one per Bible chapter (verses one per line, references stripped) and one per fortune.
A fixed share of them is wrapped in a ChatML exchange (a templated user request, the document as
the assistant's reply) so the models also follow the chat format `xyserve generate --chat` uses.
A deterministic 3% of documents is held out for validation.

Writes OUT/train.txt and OUT/valid.txt, each document followed by <|endoftext|>, and
OUT/bpe_train.txt (training documents without special tokens) for the tokenizer.

Usage: build_corpus.py --out DIR [--debs DIR]   (downloads the .debs with apt-get when absent)
"""
import argparse
import glob
import json
import os
import random
import re
import subprocess

PACKAGES = ["bible-kjv-text", "bible-kjv", "fortunes", "fortunes-min"]
EOT = "<|endoftext|>"
SYSTEM = "You are a helpful assistant."
# Fortune files left out: pictures and non-English text.
SKIP_FORTUNES = {"ascii-art", "translate-me"}
SEED = 20261130

# The 66 books in canonical order (the `bible` program prints them in this order).
BOOKS = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra",
    "Nehemiah", "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah",
    "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah",
    "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah", "Malachi", "Matthew", "Mark",
    "Luke", "John", "Acts", "Romans", "1 Corinthians", "2 Corinthians", "Galatians", "Ephesians",
    "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians", "1 Timothy", "2 Timothy",
    "Titus", "Philemon", "Hebrews", "James", "1 Peter", "2 Peter", "1 John", "2 John", "3 John",
    "Jude", "Revelation",
]

BIBLE_REQUESTS = ["Read me {book} chapter {ch}.", "What does {book} {ch} say?",
                  "Recite {book}, chapter {ch}.", "Quote {book} {ch} from the King James Bible."]
FORTUNE_REQUESTS = ["Tell me something about {topic}.", "Give me a quote about {topic}.",
                    "Say something funny about {topic}.", "Share a thought on {topic}.",
                    "Tell me a fortune.", "Say something wise.", "Give me a quote."]


def fetch(debs):
    os.makedirs(debs, exist_ok=True)
    if not glob.glob(os.path.join(debs, "*.deb")):
        subprocess.run(["apt-get", "download"] + PACKAGES, cwd=debs, check=True)
    root = os.path.join(debs, "root")
    versions = {}
    for deb in sorted(glob.glob(os.path.join(debs, "*.deb"))):
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
        name = subprocess.run(["dpkg-deb", "-f", deb, "Package"], capture_output=True, text=True,
                              check=True).stdout.strip()
        ver = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True,
                             check=True).stdout.strip()
        versions[name] = ver
    return root, versions


def bible_chapters(root):
    """[(book, chapter, text)] in canonical order."""
    out = subprocess.run([os.path.join(root, "usr/bin/bible"), "-p", os.path.join(root, "usr/lib"),
                          "-f", "-m", "10", "gen1:1-rev22:21"], capture_output=True, text=True,
                         check=True).stdout
    chapters, key, books = [], None, []
    for line in out.splitlines():
        m = re.match(r"^(\S+?)(\d+):(\d+) (.*)$", line)
        if not m:
            raise SystemExit(f"unexpected bible line: {line!r}")
        book, ch, text = m.group(1), int(m.group(2)), m.group(4).strip()
        if not books or books[-1] != book:
            books.append(book)
        if (book, ch) != key:
            chapters.append([BOOKS[len(books) - 1], ch, []])
            key = (book, ch)
        chapters[-1][2].append(text)
    if len(chapters) != 1189 or len(books) != 66:
        raise SystemExit(f"expected 1189 chapters, got {len(chapters)}")
    return [(b, c, "\n".join(v)) for b, c, v in chapters]


def fortunes(root):
    """[(topic, text)] in file order."""
    out = []
    for path in sorted(glob.glob(os.path.join(root, "usr/share/games/fortunes/*"))):
        name = os.path.basename(path)
        if "." in name or os.path.islink(path) or name in SKIP_FORTUNES:
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        text = re.sub(r".\x08", "", text)  # overstrike (bold/underline) -> plain
        for item in re.split(r"\n%\n", text):
            item = item.strip("\n").replace("\t", "    ").rstrip()
            if item and item != "%":
                out.append((name.replace("-", " and ") if name == "men-women" else name, item))
    return out


def chat(request, reply):
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{request}<|im_end|>\n"
            f"<|im_start|>assistant\n{reply}<|im_end|>\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--debs", default=None)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    root, versions = fetch(a.debs or os.path.join(a.out, "debs"))
    rng = random.Random(SEED)
    docs = []  # (text with specials, text for BPE)
    for book, ch, text in bible_chapters(root):
        if rng.random() < 0.10:
            docs.append((chat(rng.choice(BIBLE_REQUESTS).format(book=book, ch=ch), text), text))
        else:
            docs.append((text, text))
    for topic, text in fortunes(root):
        if rng.random() < 0.25:
            docs.append((chat(rng.choice(FORTUNE_REQUESTS).format(topic=topic), text), text))
        else:
            docs.append((text, text))
    rng.shuffle(docs)
    valid = [d for i, d in enumerate(docs) if i % 33 == 0]
    train = [d for i, d in enumerate(docs) if i % 33 != 0]
    for name, part in (("train", train), ("valid", valid)):
        with open(os.path.join(a.out, name + ".txt"), "w", encoding="utf-8") as f:
            f.write("".join(t + EOT for t, _ in part))
    with open(os.path.join(a.out, "bpe_train.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(b for _, b in train))
    stats = {"packages": versions, "documents": {"train": len(train), "valid": len(valid)},
             "bytes": {"train": sum(len(t.encode()) for t, _ in train),
                       "valid": sum(len(t.encode()) for t, _ in valid)}}
    with open(os.path.join(a.out, "sources.json"), "w") as f:
        json.dump(stats, f, indent=2)
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
