"""Influence-function model updates after a deletion, and their quality metrics.

A request (:class:`UnlearningRequest`: rows removed, or rows changed to new versions) is
applied to a trained model (``spark_lester.models``) with its stored training statistics
(:class:`TrainingStats`, an artifact written after training by :func:`training_stats`):

* :func:`first_order`: one gradient step (for comparison);
* :func:`newton`: logistic regression, Newton step with the stored Hessian downdated by the
  changed rows (O(k p^2 + p^3)), optional refinement with one pass over X, certified
  gradient-residual bound against a budget;
* :func:`newton_cg`: MLP, conjugate gradients with Hessian-vector products over X;
* :func:`update_model`: picks the method and retrains from scratch when an update is
  refused, recording why.

Sums over the full X run partition by partition on Spark (:func:`row_sums`) or block by block
on numpy. :func:`unlearning_quality` measures an update against retraining.
"""

from spark_lester.unlearning.certified import DEFAULT_BUDGET, residual_bound
from spark_lester.unlearning.first_order import first_order
from spark_lester.unlearning.gradient import gradient_difference, gradient_residual, gradient_sum
from spark_lester.unlearning.newton import newton
from spark_lester.unlearning.newton_cg import newton_cg
from spark_lester.unlearning.quality import QualityReport, membership_auc, unlearning_quality
from spark_lester.unlearning.request import UnlearningRequest
from spark_lester.unlearning.result import RETRAIN_REASONS, UnlearningResult
from spark_lester.unlearning.stats import TrainingStats, training_stats
from spark_lester.unlearning.sums import row_sums
from spark_lester.unlearning.update import update_model

__all__ = [
    "DEFAULT_BUDGET",
    "RETRAIN_REASONS",
    "QualityReport",
    "TrainingStats",
    "UnlearningRequest",
    "UnlearningResult",
    "first_order",
    "gradient_difference",
    "gradient_residual",
    "gradient_sum",
    "membership_auc",
    "newton",
    "newton_cg",
    "residual_bound",
    "row_sums",
    "training_stats",
    "unlearning_quality",
    "update_model",
]
