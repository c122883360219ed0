"""The outcome of a model update: a new version, or a signal to retrain and why.

An update either yields new parameters and stats (``params`` and ``stats`` set) or refuses
(``params is None``, ``retrain_reason`` set): there is never a partly updated vector. The
caller retrains from scratch on a refusal (``update_model(..., auto_retrain=True)`` does it)
and records the reason; ``to_dict`` is the JSON written into the ledger.

>>> r = UnlearningResult(method="newton", params=None, stats=None,
...                      retrain_reason="bound_exceeded", detail="bound 3e-3 > budget 1e-4")
>>> r.needs_retrain, r.to_dict()["retrain_reason"]
(True, 'bound_exceeded')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spark_lester.models.params import ModelParams
from spark_lester.unlearning.stats import TrainingStats

#: Why an update may be refused: the certified bound is above the budget; a gradient,
#: Hessian or step is NaN/inf; the Hessian is not positive definite (no Newton step exists).
RETRAIN_REASONS = ("bound_exceeded", "non_finite", "not_positive_definite")
#: Update methods (``retrain`` when the fallback ran).
METHODS = ("first_order", "newton", "newton_cg", "retrain")


@dataclass(frozen=True)
class UnlearningResult:
    """New parameters and stats, or a refusal; with the numbers the ledger records."""

    method: str
    params: ModelParams | None
    stats: TrainingStats | None
    retrain_reason: str | None = None
    detail: str = ""
    residual_bound: float | None = None
    n_removed: int = 0
    n_added: int = 0
    n_remaining: int = 0
    refined: bool = False
    passes: int = 0
    iterations: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_retrain(self) -> bool:
        """True when the update was refused and no new parameters exist."""
        return self.params is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (digests, not vectors)."""
        return {
            "method": self.method,
            "refined": self.refined,
            "retrain_reason": self.retrain_reason,
            "detail": self.detail,
            "residual_bound": self.residual_bound,
            "n_removed": self.n_removed,
            "n_added": self.n_added,
            "n_remaining": self.n_remaining,
            "passes_over_x": self.passes,
            "iterations": self.iterations,
            "seconds": self.seconds,
            "params_digest": None if self.params is None else self.params.digest(),
            "stats_reference": None if self.stats is None else self.stats.ref_digest,
            **self.extra,
        }
