"""Builders for the training-core tests (and anyone who wants a tiny model on disk): a random Llama in the HF
layout mlx_lm.load reads, with a BPE tokenizer trained on the spot and a ChatML-style chat template; JSONL
records with random scores."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import mlx.core as mx
from mlx_lm.models.llama import Model, ModelArgs
from mlx_lm.utils import save_config, save_model
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WORDS = [
    "the",
    "letter",
    "diary",
    "patent",
    "report",
    "archive",
    "witness",
    "measured",
    "observed",
    "recorded",
    "official",
    "agency",
    "statement",
    "consensus",
    "experts",
    "claim",
    "source",
    "primary",
    "evidence",
    "year",
    "field",
    "notes",
    "trial",
    "sample",
    "data",
    "river",
    "mountain",
    "village",
    "merchant",
    "ship",
    "voyage",
    "telescope",
    "comet",
    "weather",
    "harvest",
]


def sentence(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n_words)]
    return " ".join(words).capitalize() + "."


def build_tokenizer(path: Path, vocab_size: int, corpus: list[str]) -> int:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tok.save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": "<s>",
                "eos_token": "</s>",
                "pad_token": "<pad>",
                "chat_template": CHAT_TEMPLATE,
                "model_max_length": 4096,
            }
        )
    )
    return tok.get_vocab_size()


def build_model_dir(path: Path, *, layers: int = 2, hidden: int = 64, vocab: int = 300, seed: int = 0) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    corpus = [sentence(rng, rng.randint(4, 14)) for _ in range(400)]
    vocab_size = build_tokenizer(path, vocab, corpus)
    args = {
        "model_type": "llama",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "intermediate_size": hidden * 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "vocab_size": vocab_size,
        "tie_word_embeddings": True,
        "eos_token_id": 2,
        "bos_token_id": 1,
    }
    mx.random.seed(seed)
    model = Model(ModelArgs.from_dict(args))
    model.set_dtype(mx.float32)
    mx.eval(model.parameters())
    save_model(path, model)
    save_config(dict(args), path / "config.json")
    return path


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def text_records(n: int, *, seed: int = 0, scores: bool = True) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        record: dict[str, Any] = {"text": " ".join(sentence(rng, rng.randint(3, 12)) for _ in range(rng.randint(1, 3)))}
        if scores:
            record["auth_weight"] = round(rng.uniform(0.0, 0.99), 3)
            record["prov_entropy"] = round(rng.uniform(0.0, 9.0), 3)
        out.append(record)
    return out
