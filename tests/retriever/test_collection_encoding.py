"""The index build's passage encoder: same embeddings as colbert-ai's, the k-means sample encoded once."""

from __future__ import annotations

import json

import pytest
import torch

from services.retriever.encoding import configure_checkpoint, passage_text
from services.retriever.build.indexing import BuildOptions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def encoder_parts(home):
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint

    options = BuildOptions(home.colbert_checkpoint)
    path = str(options.checkpoint)
    config = ColBERTConfig.from_existing(ColBERTConfig.load_from_checkpoint(path), ColBERTConfig(
        checkpoint=path, doc_maxlen=options.doc_maxlen, index_bsize=4, gpus=0))
    checkpoint = Checkpoint(path, colbert_config=config, verbose=0)
    configure_checkpoint(checkpoint, options.encoding, "fp32")
    return config, checkpoint


@pytest.fixture(scope="module")
def texts(small_corpus):
    records = [json.loads(line) for line in small_corpus.open()][:24]
    return [passage_text(r["title"], r["text"]) for r in records]


def test_length_sorted_batches_give_colbert_ai_embeddings_in_passage_order(encoder_parts, texts):
    from colbert.indexing.collection_encoder import CollectionEncoder

    from services.retriever.build.collection_encoding import LengthSortedEncoder

    config, checkpoint = encoder_parts
    expected, expected_lengths = CollectionEncoder(config, checkpoint).encode_passages(texts)
    embeddings, lengths = LengthSortedEncoder(config, checkpoint).encode_passages(texts)
    assert lengths == expected_lengths
    assert embeddings.dtype == torch.float32
    assert torch.allclose(embeddings, expected, atol=1e-5)


def test_the_k_means_sample_is_encoded_once(encoder_parts, texts, monkeypatch):
    from services.retriever.build.collection_encoding import LengthSortedEncoder

    config, checkpoint = encoder_parts
    encoder = LengthSortedEncoder(config, checkpoint)
    encoder.start_phase("sample", total=8, remember=True)
    sample_embeddings, _ = encoder.encode_passages(texts[:8])
    encoder.end_phase()

    encoded: list[str] = []
    original = encoder._encode_batch
    monkeypatch.setattr(encoder, "_encode_batch", lambda batch: encoded.extend(batch) or original(batch))
    encoder.start_phase("passages", total=len(texts))
    embeddings, lengths = encoder.encode_passages(texts)
    assert encoder.bar.n == len(texts)
    encoder.end_phase()
    assert sorted(encoded) == sorted(texts[8:])
    assert torch.equal(embeddings[:sum(lengths[:8])], sample_embeddings.half().float())

    encoded.clear()
    again, _ = encoder.encode_passages(texts[:8])  # a small collection is sampled whole
    assert encoded == [] and torch.equal(again, sample_embeddings.half().float())

    encoder.forget()
    encoder.encode_passages(texts[:2])
    assert sorted(encoded) == sorted(texts[:2])
