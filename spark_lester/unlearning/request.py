"""What a deletion did to the training data: rows removed, or rows changed to new versions.

Both request kinds are one shape: the old versions of the touched rows leave the training
set (``removed``), their new versions (if any) enter it (``added``). A GDPR erasure removes
rows; the credit-card incident changes rows (the title ranges of X re-encoded, same label).
The rows are small (k rows, k much smaller than n) and are held on the driver.

>>> import numpy as np
>>> old = (np.zeros((2, 3)), np.array([0, 1]))
>>> new = (np.ones((2, 3)), np.array([0, 1]))
>>> r = UnlearningRequest.change(old, new, request_id="req-1")
>>> r.kind, r.n_removed, r.n_added, r.d
('change', 2, 2, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spark_lester.errors import DimensionMismatchError, ModelError
from spark_lester.models.data import FEATURES_COL, LABEL_COL, Data, as_arrays, check_arrays


@dataclass(frozen=True, eq=False)
class UnlearningRequest:
    """Old versions of touched rows (``X_removed``, ``y_removed``) and new ones (``X_added``...)."""

    X_removed: np.ndarray
    y_removed: np.ndarray
    X_added: np.ndarray
    y_added: np.ndarray
    request_id: str | None = None

    def __post_init__(self) -> None:
        X0, y0 = check_arrays(self.X_removed, self.y_removed, where="request.removed")
        X1, y1 = check_arrays(self.X_added, self.y_added, where="request.added")
        for name, value in (("X_removed", X0), ("y_removed", y0), ("X_added", X1),
                            ("y_added", y1)):
            object.__setattr__(self, name, value)
        widths = {a.shape[1] for a in (self.X_removed, self.X_added) if a.shape[0]}
        if len(widths) > 1:
            raise DimensionMismatchError(expected=self.X_removed.shape[1],
                                         got=self.X_added.shape[1], what="request.added")
        if self.n_removed == 0 and self.n_added == 0:
            raise ModelError("the request touches no rows.",
                             hint="Nothing to unlearn; skip the model update.")

    @classmethod
    def remove(cls, rows: Data, *, request_id: str | None = None,
               features_col: str = FEATURES_COL, label_col: str = LABEL_COL) -> UnlearningRequest:
        """Rows deleted from the training data (their features and labels before deletion)."""
        X, y = as_arrays(rows, features_col=features_col, label_col=label_col,
                         where="request.removed")
        return cls(X, y, np.zeros((0, X.shape[1])), np.zeros(0), request_id)

    @classmethod
    def change(cls, old: Data, new: Data, *, request_id: str | None = None,
               features_col: str = FEATURES_COL, label_col: str = LABEL_COL) -> UnlearningRequest:
        """Rows replaced by new versions (``old`` before, ``new`` after re-encoding)."""
        X0, y0 = as_arrays(old, features_col=features_col, label_col=label_col,
                           where="request.removed")
        X1, y1 = as_arrays(new, features_col=features_col, label_col=label_col,
                           where="request.added")
        return cls(X0, y0, X1, y1, request_id)

    @property
    def kind(self) -> str:
        """``remove`` (rows only leave) or ``change`` (new versions enter)."""
        return "change" if self.n_added else "remove"

    @property
    def n_removed(self) -> int:
        return int(self.X_removed.shape[0])

    @property
    def n_added(self) -> int:
        return int(self.X_added.shape[0])

    @property
    def d(self) -> int:
        return int((self.X_removed if self.n_removed else self.X_added).shape[1])
