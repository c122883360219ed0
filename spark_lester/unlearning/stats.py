"""Training statistics: what an update needs to know about the loss on the training data.

Stored next to each model version as an artifact of the run (``to_bytes``), computed once
after training in one pass over X (:func:`training_stats`), and afterwards kept current by
*downdating*: a request subtracts the contributions of its removed rows and adds those of
its new rows, in O(k p^2) for k touched rows, never touching the other n rows again.

All quantities are sums over the current training rows evaluated at one reference vector
``w_ref`` (sum form, see ``models.logistic``):

* ``grad``: ``sum_i grad[l_i + (lam/2)|w|^2](w_ref)``, about 0 right after training, but
  kept exactly, so an update is a Newton step from ``w_ref`` even when L-BFGS stopped short;
* ``hessian`` (logistic regression): ``sum_i hess[...](w_ref) = X~^T S X~ + n lam I``;
* ``gram`` (logistic regression): ``X~^T X~``, for the certified-removal bound
  (``||X~||_2`` and ``||X~ v||_2`` in O(p^3) without a pass over X);
* ``max_row_norm2``: the largest ``|x~_i|^2`` seen (removals keep it a valid upper bound).

Updates always step from ``w_ref``; the stats of a chain of requests stay anchored there
(until a refinement pass re-anchors them at a new, exactly evaluated vector). The MLP keeps
only ``grad``: its Hessian is used through Hessian-vector products over X.

>>> import numpy as np
>>> from spark_lester.models import train
>>> from spark_lester.models.synthetic import synthetic_features
>>> X, y = synthetic_features(300, seed=0)
>>> model = train((X, y), lam=1e-2)
>>> stats = training_stats(model, (X, y))
>>> stats.n, stats.hessian.shape, TrainingStats.from_bytes(stats.to_bytes()).n
(300, (53, 53), 300)
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from spark_lester.errors import ModelFormatError, NonFiniteError, StatsMismatchError
from spark_lester.models.data import FEATURES_COL, LABEL_COL, Data
from spark_lester.models.loss import LOGISTIC_STATS_OPS, grad_block, logistic_stats_block
from spark_lester.models.params import ModelParams
from spark_lester.unlearning.request import UnlearningRequest
from spark_lester.unlearning.sums import SumInfo, row_sums

FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class TrainingStats:
    """Sums of the training loss's derivatives over the current training rows at ``w_ref``."""

    kind: str
    d: int
    hidden: int
    lam: float
    n: int
    w_ref: np.ndarray
    grad: np.ndarray
    hessian: np.ndarray | None = None
    gram: np.ndarray | None = None
    max_row_norm2: float = 0.0

    def __post_init__(self) -> None:
        for name in ("w_ref", "grad", "hessian", "gram"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.array(value, dtype=np.float64)
            if not np.all(np.isfinite(arr)):
                raise NonFiniteError(f"stats.{name}")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def ref_digest(self) -> str:
        """Digest of the reference vector (equals ``ModelParams.digest()`` of that version)."""
        h = hashlib.sha256(json.dumps([self.kind, self.d, self.hidden, self.lam]).encode())
        h.update(np.ascontiguousarray(self.w_ref, dtype="<f8").tobytes())
        return h.hexdigest()

    def check(self, params: ModelParams) -> None:
        """Raise ``StatsMismatchError`` unless these stats belong to ``params``' lineage.

        They belong when ``params`` is the reference version itself or was computed from it
        by an update (its ``info["reference"]`` is this digest).
        """
        same_model = (params.kind, params.d, params.hidden, params.lam) == (
            self.kind, self.d, self.hidden, self.lam)
        if not same_model:
            raise StatsMismatchError(
                f"stats are for {self.kind} d={self.d} hidden={self.hidden} lam={self.lam}, "
                f"the model is {params.kind} d={params.d} hidden={params.hidden} "
                f"lam={params.lam}.")
        ref = self.ref_digest
        if params.digest() != ref and params.info.get("reference") != ref:
            raise StatsMismatchError("stats were computed at another parameter vector than "
                                     "this model version or the version it was updated from.")

    def downdate(self, request: UnlearningRequest) -> TrainingStats:
        """The stats after ``request``: minus the removed rows' terms, plus the added rows'."""
        if request.d != self.d:
            from spark_lester.errors import DimensionMismatchError

            raise DimensionMismatchError(expected=self.d, got=request.d, what="request rows",
                                         kind=self.kind)
        grad = self.grad.copy()
        hessian = None if self.hessian is None else self.hessian.copy()
        gram = None if self.gram is None else self.gram.copy()
        norm2 = self.max_row_norm2
        for sign, X, y in ((-1.0, request.X_removed, request.y_removed),
                           (1.0, request.X_added, request.y_added)):
            if not len(y):
                continue
            if self.kind == "logreg":
                with np.errstate(over="ignore", invalid="ignore"):  # checked below
                    g, H, G, m = logistic_stats_block(self.lam, self.w_ref, X, y)
                hessian = hessian + sign * H  # type: ignore[operator]
                gram = gram + sign * G  # type: ignore[operator]
                if sign > 0:
                    norm2 = max(norm2, float(m[0]))
            else:
                (g,) = grad_block(self.kind, self.hidden, self.lam, self.w_ref, X, y)
            grad += sign * g
        n = self.n - request.n_removed + request.n_added
        return replace(self, n=n, grad=grad, hessian=hessian, gram=gram, max_row_norm2=norm2)

    def metadata(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "kind": self.kind, "d": self.d, "hidden": self.hidden,
                "lam": self.lam, "n": self.n, "max_row_norm2": self.max_row_norm2,
                "reference": self.ref_digest}

    def to_bytes(self) -> bytes:
        """``.npz`` bytes: the arrays and a JSON ``meta`` string (no pickle)."""
        arrays = {"w_ref": self.w_ref, "grad": self.grad}
        if self.hessian is not None:
            arrays["hessian"] = self.hessian
            arrays["gram"] = self.gram  # type: ignore[assignment]
        meta = np.frombuffer(json.dumps(self.metadata(), sort_keys=True).encode(), np.uint8)
        buf = io.BytesIO()
        np.savez(buf, meta=meta, **{k: np.ascontiguousarray(v, "<f8") for k, v in arrays.items()})
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingStats:
        """Load bytes written by :meth:`to_bytes`; ``ModelFormatError`` otherwise."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                meta = json.loads(bytes(npz["meta"]).decode())
                arrays = {k: np.array(npz[k]) for k in npz.files if k != "meta"}
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError("format")
            stats = cls(kind=meta["kind"], d=int(meta["d"]), hidden=int(meta["hidden"]),
                        lam=float(meta["lam"]), n=int(meta["n"]), w_ref=arrays["w_ref"],
                        grad=arrays["grad"], hessian=arrays.get("hessian"),
                        gram=arrays.get("gram"), max_row_norm2=float(meta["max_row_norm2"]))
        except NonFiniteError:
            raise
        except Exception as err:
            raise ModelFormatError(f"not a training-stats artifact ({type(err).__name__}).",
                                   hint="Recompute it with training_stats().") from None
        if stats.ref_digest != meta.get("reference"):
            raise ModelFormatError("training-stats artifact is corrupt (digest mismatch).")
        return stats


def training_stats(params: ModelParams, data: Data, *, at: np.ndarray | None = None,
                   features_col: str = FEATURES_COL, label_col: str = LABEL_COL,
                   info: list[SumInfo] | None = None) -> TrainingStats:
    """One pass over ``data`` (numpy or Spark, partition by partition) at ``params.w``.

    ``at`` evaluates at another vector of the same model (a refinement re-anchors there).
    For logistic regression the pass yields gradient, Hessian, Gram matrix and the largest
    row norm; for the MLP the gradient only.
    """
    w = np.asarray(params.w if at is None else at, dtype=np.float64)
    counts: list[SumInfo] = []
    if params.kind == "logreg":
        fn = functools.partial(logistic_stats_block, params.lam, w)
        g, H, G, m = row_sums(data, fn, d=params.d, ops=LOGISTIC_STATS_OPS,
                              features_col=features_col, label_col=label_col, info=counts)
        hessian, gram, norm2 = H, G, float(m[0])
    else:
        fn = functools.partial(grad_block, params.kind, params.hidden, params.lam, w)
        (g,) = row_sums(data, fn, d=params.d, features_col=features_col, label_col=label_col,
                        info=counts)
        hessian = gram = None
        norm2 = 0.0
    if info is not None:
        info.extend(counts)
    return TrainingStats(kind=params.kind, d=params.d, hidden=params.hidden, lam=params.lam,
                         n=counts[0].n_rows, w_ref=w, grad=g, hessian=hessian, gram=gram,
                         max_row_norm2=norm2)
