"""The acceptance checks of issue 4 as functions, so tests can show they are able to fail."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spark_lester.unlearning import QualityReport

#: Issue 4: logistic regression (Newton) median rho <= 0.05 and a gradient residual at
#: least 100x smaller than with no update; MLP median rho <= 0.5.
LR_RHO, LR_RESIDUAL_RATIO, MLP_RHO = 0.05, 100.0, 0.5


def failures(reports: Sequence[QualityReport], *, rho_max: float,
             ratio_min: float | None = None) -> list[str]:
    """What the reports fail (empty when they pass): median rho and median residual ratio."""
    out = []
    rho = float(np.median([r.rho for r in reports]))
    if not rho <= rho_max:
        out.append(f"median rho {rho:.4g} > {rho_max}")
    if ratio_min is not None:
        ratio = float(np.median([r.residual_ratio for r in reports]))
        if not ratio >= ratio_min:
            out.append(f"median residual ratio {ratio:.4g} < {ratio_min}")
    return out
