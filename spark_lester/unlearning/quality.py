"""How well an update forgot: the unlearned model measured against retraining from scratch.

Given the original model ``w_o``, the updated one ``w_u`` and a model ``w_r`` retrained from
scratch on the remaining data with the same seed and hyper-parameters:

* ``rho = |w_u - w_r| / |w_o - w_r|``: the fraction of the distance to the retrained model
  that is left (0 is perfect, 1 means the update did nothing, > 1 made it worse);
* gradient residual ``||grad L(w)||`` of the mean-form loss on the remaining data, for
  ``w_u`` and for ``w_o`` (no update); ``residual_ratio = residual_original /
  residual_unlearned`` (how many times closer to stationarity the update got);
* test accuracy of all three and prediction disagreement with ``w_r`` on the test rows;
* membership-inference AUC on the deleted rows: a loss-threshold attack scores each row by
  its negative loss; AUC of deleted rows (members of the original training set) against
  held-out test rows (never members). About 0.5 means the deleted rows look like unseen
  data; the original model usually scores above the retrained one.

For a change request, ``deleted`` are the old versions of the changed rows.

>>> import numpy as np
>>> from spark_lester.models.params import ModelParams
>>> m = ModelParams(kind="logreg", d=1, lam=0.0, seed=0, n_train=3, w=np.array([1.0, 0.0]))
>>> members = (np.array([[3.0], [2.0], [-1.0]]), np.array([1, 1, 1]))
>>> unseen = (np.array([[-3.0], [0.5]]), np.array([1, 1]))
>>> membership_auc(m, members, unseen)  # 5 of 6 member/non-member pairs ranked right
0.8333333333333334
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spark_lester.models.data import FEATURES_COL, LABEL_COL, Data, as_arrays
from spark_lester.models.params import ModelParams
from spark_lester.unlearning.gradient import gradient_residual


@dataclass(frozen=True)
class QualityReport:
    """The metrics of one update (see the module docstring); ``to_dict`` for JSON."""

    rho: float
    distance_unlearned: float
    distance_original: float
    residual_unlearned: float
    residual_original: float
    residual_retrained: float
    residual_ratio: float
    accuracy_original: float
    accuracy_unlearned: float
    accuracy_retrained: float
    disagreement_unlearned: float
    disagreement_original: float
    mia_auc_original: float
    mia_auc_unlearned: float
    mia_auc_retrained: float

    @property
    def accuracy_gap(self) -> float:
        """``accuracy_unlearned - accuracy_retrained`` on the test rows."""
        return self.accuracy_unlearned - self.accuracy_retrained

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy_gap": self.accuracy_gap}


def unlearning_quality(original: ModelParams, unlearned: ModelParams, retrained: ModelParams, *,
                       remaining: Data, deleted: Data, test: Data,
                       features_col: str = FEATURES_COL,
                       label_col: str = LABEL_COL) -> QualityReport:
    """All metrics for one update; ``remaining`` may be a Spark DataFrame (one pass each)."""
    cols = {"features_col": features_col, "label_col": label_col}
    X_test, y_test = as_arrays(test, where="test", **cols)
    members = as_arrays(deleted, where="deleted", **cols)
    d_u = float(np.linalg.norm(unlearned.w - retrained.w))
    d_o = float(np.linalg.norm(original.w - retrained.w))
    res_u = gradient_residual(unlearned, remaining, **cols)
    res_o = gradient_residual(original, remaining, **cols)
    res_r = gradient_residual(retrained, remaining, **cols)
    pred_r = retrained.predict(X_test)
    return QualityReport(
        rho=d_u / d_o if d_o > 0 else (0.0 if d_u == 0 else float("inf")),
        distance_unlearned=d_u,
        distance_original=d_o,
        residual_unlearned=res_u,
        residual_original=res_o,
        residual_retrained=res_r,
        residual_ratio=res_o / res_u if res_u > 0 else float("inf"),
        accuracy_original=_accuracy(original, X_test, y_test),
        accuracy_unlearned=_accuracy(unlearned, X_test, y_test),
        accuracy_retrained=_accuracy(retrained, X_test, y_test),
        disagreement_unlearned=float(np.mean(unlearned.predict(X_test) != pred_r)),
        disagreement_original=float(np.mean(original.predict(X_test) != pred_r)),
        mia_auc_original=membership_auc(original, members, (X_test, y_test)),
        mia_auc_unlearned=membership_auc(unlearned, members, (X_test, y_test)),
        mia_auc_retrained=membership_auc(retrained, members, (X_test, y_test)),
    )


def membership_auc(params: ModelParams, members: tuple[np.ndarray, np.ndarray],
                   nonmembers: tuple[np.ndarray, np.ndarray]) -> float:
    """AUC of the loss-threshold attack: members should have lower loss than non-members.

    Computed as the Mann-Whitney statistic (ties count one half); 0.5 is chance level.
    """
    from scipy.stats import rankdata

    s_in = -params.row_losses(*members)
    s_out = -params.row_losses(*nonmembers)
    if len(s_in) == 0 or len(s_out) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([s_in, s_out]))
    u = ranks[:len(s_in)].sum() - len(s_in) * (len(s_in) + 1) / 2.0
    return float(u / (len(s_in) * len(s_out)))


def _accuracy(params: ModelParams, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(params.predict(X) == y))
