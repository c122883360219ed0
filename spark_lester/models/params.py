"""Model parameters as one flat float64 vector plus the metadata needed to use it again.

A model of this package is fully described by ``(kind, d, hidden, lam)`` and the flat
parameter vector ``w``; ``seed`` and ``n_train`` say how it came about, ``info`` holds
training or update diagnostics (iterations, final gradient norm, the update method). The
bytes form is an ``.npz`` archive (``np.savez``) with the vector and a JSON metadata string,
read back with ``allow_pickle=False``: no pickle, so stored versions are safe to load and
stable across Python versions.

Loss convention (used by training, unlearning and the quality metrics alike): for n rows

    L(w) = (1/n) * sum_i l(x_i, y_i; w) + (lam/2) * |w|^2

with ``l`` the binary cross-entropy of the model's logit. Every parameter, biases included,
is regularised, so the Hessian is at least ``lam * I`` for logistic regression.

>>> import numpy as np
>>> p = ModelParams(kind="logreg", d=2, lam=0.01, seed=0, n_train=10, w=np.array([1.0, -2.0, 0.5]))
>>> ModelParams.from_bytes(p.to_bytes()) == p
True
>>> p.n_params, p.predict_proba(np.array([[0.0, 0.0]])).round(3).tolist()
(3, [0.622])
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from spark_lester.errors import DimensionMismatchError, ModelError, ModelFormatError

#: Model kinds: L2-regularised logistic regression and a one-hidden-layer tanh MLP.
KINDS = ("logreg", "mlp")
#: Version of the bytes layout written by :meth:`ModelParams.to_bytes`.
FORMAT_VERSION = 1


def n_params(kind: str, d: int, hidden: int = 0) -> int:
    """Length of the flat parameter vector of a ``kind`` model on ``d`` features.

    logreg: ``d`` weights then the bias. mlp: ``W1`` (hidden x d, row-major), ``b1``
    (hidden), ``w2`` (hidden), ``b2`` (1).
    """
    if kind == "logreg":
        return d + 1
    if kind == "mlp":
        return hidden * d + 2 * hidden + 1
    raise ModelError(f"unknown model kind {kind!r}; use one of {', '.join(KINDS)}.")


@dataclass(frozen=True, eq=False)
class ModelParams:
    """One model version: kind, shape, regularisation, provenance and the flat vector ``w``."""

    kind: str
    d: int
    lam: float
    seed: int
    n_train: int
    w: np.ndarray
    hidden: int = 0
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ModelError(f"unknown model kind {self.kind!r}; use one of {', '.join(KINDS)}.")
        if self.d < 1 or self.n_train < 0 or self.lam < 0:
            raise ModelError(f"invalid shape or regulariser: d={self.d}, n_train={self.n_train}, "
                             f"lam={self.lam}.", kind=self.kind)
        if self.kind == "mlp" and self.hidden < 1:
            raise ModelError("an MLP needs hidden >= 1.", kind=self.kind)
        w = np.array(self.w, dtype=np.float64).reshape(-1)
        expected = n_params(self.kind, self.d, self.hidden)
        if w.shape[0] != expected:
            raise ModelError(f"parameter vector has length {w.shape[0]}, expected {expected} "
                             f"for d={self.d}, hidden={self.hidden}.", kind=self.kind)
        if not np.all(np.isfinite(w)):
            raise ModelError("parameter vector has NaN or infinite entries.", kind=self.kind,
                             hint="Retrain the model; a non-finite vector cannot be stored.")
        w.setflags(write=False)
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    @property
    def n_params(self) -> int:
        return int(self.w.shape[0])

    def metadata(self) -> dict[str, Any]:
        """Everything but ``w``, JSON-serialisable (what the artifact store records)."""
        return {"format": FORMAT_VERSION, "kind": self.kind, "d": self.d, "hidden": self.hidden,
                "lam": self.lam, "seed": self.seed, "n_train": self.n_train,
                "info": dict(self.info)}

    def digest(self) -> str:
        """SHA-256 over the metadata that defines the model and the exact bytes of ``w``."""
        h = hashlib.sha256(json.dumps([self.kind, self.d, self.hidden, self.lam]).encode())
        h.update(np.ascontiguousarray(self.w, dtype="<f8").tobytes())
        return h.hexdigest()

    def with_(self, **changes: Any) -> ModelParams:
        """A copy with some fields replaced (a new version after an update)."""
        values = {"kind": self.kind, "d": self.d, "lam": self.lam, "seed": self.seed,
                  "n_train": self.n_train, "w": self.w, "hidden": self.hidden,
                  "info": dict(self.info)}
        values.update(changes)
        return ModelParams(**values)

    def to_bytes(self) -> bytes:
        """The ``.npz`` bytes of this version (vector ``w`` and a JSON ``meta`` string)."""
        buf = io.BytesIO()
        meta = np.frombuffer(json.dumps(self.metadata(), sort_keys=True).encode(), dtype=np.uint8)
        np.savez(buf, w=np.ascontiguousarray(self.w, dtype="<f8"), meta=meta)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ModelParams:
        """Load bytes written by :meth:`to_bytes`; raise ``ModelFormatError`` otherwise."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                w = np.array(npz["w"], dtype=np.float64)
                meta = json.loads(bytes(npz["meta"]).decode())
        except Exception as err:  # zipfile, KeyError, ValueError, JSON errors alike
            raise ModelFormatError(f"not a model artifact ({type(err).__name__}).") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
            raise ModelFormatError(f"unsupported model format {meta.get('format')!r}.")
        try:
            return cls(kind=meta["kind"], d=int(meta["d"]), lam=float(meta["lam"]),
                       seed=int(meta["seed"]), n_train=int(meta["n_train"]), w=w,
                       hidden=int(meta["hidden"]), info=meta.get("info", {}))
        except KeyError as err:
            raise ModelFormatError(f"model metadata lacks {err}.") from None

    def check_width(self, d: int, *, what: str = "X") -> None:
        """Raise ``DimensionMismatchError`` when a matrix with ``d`` columns cannot be used."""
        if d != self.d:
            raise DimensionMismatchError(expected=self.d, got=d, what=what, kind=self.kind)

    def logits(self, X: np.ndarray) -> np.ndarray:
        """The model's logit for each row of ``X`` (numpy, float64)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ModelError(f"X must be 2-D, got shape {X.shape}.", kind=self.kind)
        self.check_width(X.shape[1])
        from spark_lester.models import logistic, mlp

        if self.kind == "logreg":
            return logistic.logits(self.w, X)
        return mlp.logits(self.w, X, self.hidden)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """P(y = 1 | x) for each row of ``X``."""
        return sigmoid(self.logits(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Hard 0/1 predictions (threshold 0.5)."""
        return (self.logits(X) > 0).astype(np.int64)

    def row_losses(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-row cross-entropy ``l(x_i, y_i; w)`` (no regulariser), e.g. for membership tests."""
        return bce_with_logits(self.logits(X), np.asarray(y, dtype=np.float64))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelParams):
            return NotImplemented
        return self.metadata() == other.metadata() and np.array_equal(self.w, other.w)

    def __hash__(self) -> int:
        return hash(self.digest())

    def __repr__(self) -> str:
        return (f"ModelParams(kind={self.kind!r}, d={self.d}, hidden={self.hidden}, "
                f"lam={self.lam}, seed={self.seed}, n_train={self.n_train}, "
                f"n_params={self.n_params})")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def bce_with_logits(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``log(1 + e^z) - y z``, stable for large ``|z|``."""
    z = np.asarray(z, dtype=np.float64)
    return np.logaddexp(0.0, z) - y * z
