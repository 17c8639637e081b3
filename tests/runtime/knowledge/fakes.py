"""A deterministic stand-in for the embedding model: hashed bag of words (fast, no torch)."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashingModel:
    """Texts sharing words get similar vectors; good enough to test plumbing, not quality."""

    name = "hashing-test-model"

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.calls: list[int] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.sha1(word.encode()).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out
