"""Encoder unlearning: a fitted ColumnTransformer brought to the state a refit on the
remaining fit rows gives, transformer by transformer.

A fitted encoder remembers values: a one-hot or ordinal encoder every category it saw, a
count or tf-idf vectorizer every term, an imputer its fill value. After a deletion those are
personal data of the deleted rows when no remaining fit row holds them. :func:`downdate`
removes them; the X columns they fed are removed and the blocks whose values change are
recomputed (:func:`project`). Per transformer kind (the *policy*; ``statistics`` chooses
for the aggregates, ``"keep"`` by default):

=====================  ======================  ==========================================
transformer            state                   policy
=====================  ======================  ==========================================
OneHotEncoder          ``categories_``         exact: categories no remaining fit row holds
                                               are removed, and their X columns (zero on
                                               every remaining row with
                                               ``handle_unknown='ignore'``). With ``drop``,
                                               ``min_frequency`` or ``max_categories`` (count
                                               thresholds) the block is refit.
OrdinalEncoder         ``categories_``         exact removal; the codes after a removed
                                               category shift, so the block is re-encoded
                                               for every row (one pass over the column).
CountVectorizer        ``vocabulary_``         exact: terms no remaining fit document holds
                                               are removed with their X columns (zero on
                                               every remaining row); the other terms keep
                                               their order. ``min_df``/``max_df``/
                                               ``max_features`` thresholds: refit.
TfidfVectorizer        ``vocabulary_``,        vocabulary as CountVectorizer. ``idf_``
                       ``idf_``                (document frequencies over n rows, no literal
                                               value): ``keep`` keeps it for the remaining
                                               terms; ``downdate`` recomputes it from the
                                               remaining documents and re-encodes the block.
StandardScaler         ``mean_``, ``var_``     ``keep`` (an aggregate over n rows, no literal
                                               value; a downdate shifts one column of every
                                               row of X, turning a k-row MERGE into an n-row
                                               rewrite and a retrain); ``downdate``: exact,
                                               from the removed rows alone (Chan's update of
                                               count, mean and sum of squares), block
                                               re-encoded.
SimpleImputer          ``statistics_``         ``most_frequent``: the fill value is a literal
                                               value: recounted on the remaining rows
                                               whenever a removed row held it (else it
                                               cannot change), block re-encoded. ``mean``/
                                               ``median``: ``keep`` or ``downdate`` (refit).
                                               ``constant``: nothing to unlearn.
value-blind            none                    text embedders (``fit_ignores_values``),
                                               random projections, ``passthrough``: nothing.
anything else          unknown                 refit on the remaining fit rows, block
                                               re-encoded; the result says so (``refit``).
=====================  ======================  ==========================================

The default (``statistics="keep"``) leaves no literal value of a removed row in the encoder:
categories, terms and most-frequent fill values are always unlearned; what is kept are
averages. A redacted cell (NULL) of a remaining row is encoded as an unknown category; the
encoder is never widened (a refit would add a NULL category: adding is not unlearning).

The remaining fit rows are reached through :class:`FitRows`: questions of the form "which
of these values does a remaining row still hold" (a filtered query on Spark) and, only for a
refit or recount, the remaining rows' columns (one pass over the train split's columns).

>>> import pandas as pd
>>> from sklearn.compose import ColumnTransformer
>>> from sklearn.preprocessing import OneHotEncoder
>>> fit = pd.DataFrame({"country": ["UK", "DE", "Atlantis", "UK"]})
>>> ct = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["country"])]).fit(fit)
>>> result = downdate(ct, FitRows.from_frames(fit.iloc[[2]], fit.drop(index=2)))
>>> [list(c) for c in result.encoder.named_transformers_["c"].categories_], result.kept
([['DE', 'UK']], [1, 2])
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spark_lester.errors import PlanError

if TYPE_CHECKING:
    import pandas as pd

#: Values of ``statistics``: keep aggregate statistics, or downdate them exactly.
KEEP, DOWNDATE = "keep", "downdate"
#: Policies recorded per transformer (in the ledger: counts only, never values).
NOTHING, EXACT, REFIT, KEPT = "nothing", "exact", "refit", "kept"


@dataclass
class FitRows:
    """The fit rows a request changes, and questions about the remaining ones.

    ``removed``: the fit rows that leave, with their values before the request (deleted
    rows, and the old values of updated ones); ``added``: the new values of updated rows.
    ``holding(column, values)``: which of ``values`` a remaining fit row still holds in
    ``column``; ``containing(column, needles)``: the remaining fit rows' ``column`` values
    that contain one of ``needles`` as a substring (case-insensitive), to check vocabulary
    terms; ``remaining(columns)``: the remaining fit rows' ``columns`` (a pass, for a refit).
    """

    removed: pd.DataFrame
    added: pd.DataFrame
    holding: Callable[[str, list[Any]], set[Any]]
    containing: Callable[[str, list[str]], list[Any]]
    remaining: Callable[[list[str]], pd.DataFrame]

    @classmethod
    def from_frames(cls, removed: pd.DataFrame, remaining: pd.DataFrame,
                    added: pd.DataFrame | None = None) -> FitRows:
        """In memory: ``remaining`` holds every remaining fit row (``added`` included)."""
        import pandas as pd

        def holding(column: str, values: list[Any]) -> set[Any]:
            present = set(remaining[column].dropna().tolist())
            return {v for v in values if v in present}

        def containing(column: str, needles: list[str]) -> list[Any]:
            lowered = [n.lower() for n in needles]
            return [v for v in remaining[column].tolist()
                    if isinstance(v, str) and any(n in v.lower() for n in lowered)]

        return cls(removed=removed, added=added if added is not None else pd.DataFrame(),
                   holding=holding, containing=containing,
                   remaining=lambda columns: remaining[list(columns)])


@dataclass
class Downdate:
    """The unlearned encoder and how X follows it.

    ``kept``: the old X columns that stay, in order (each block's kept columns, then the
    re-encoded blocks take their new width); ``reencode``: transformers whose block is
    recomputed for every row; ``actions``: per transformer, what was done (no values).
    """

    encoder: Any
    width_before: int
    kept: list[int]
    reencode: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.reencode) or self.kept != list(range(self.width_before))

    @property
    def dropped(self) -> list[int]:
        """Old X columns removed (their model parameters go too)."""
        kept = set(self.kept)
        return [c for c in range(self.width_before) if c not in kept]

    @property
    def refit(self) -> bool:
        return any(a["policy"] == REFIT for a in self.actions)

    @property
    def width_after(self) -> int:
        from spark_lester.features.matrix_provenance import width

        return width(self.encoder)

    def summary(self) -> dict[str, Any]:
        """Ledger-ready: counts and policies, never a removed value."""
        return {"changed": self.changed, "refit": self.refit, "width_before": self.width_before,
                "width_after": self.width_after, "columns_dropped": len(self.dropped),
                "reencoded": list(self.reencode), "transformers": self.actions}


def downdate(encoder: Any, rows: FitRows, *, statistics: str = KEEP) -> Downdate:
    """``encoder`` (a fitted ColumnTransformer, unchanged) unlearned for ``rows``.

    Returns a :class:`Downdate` whose ``encoder`` is a new ColumnTransformer sharing the
    untouched fitted transformers; when nothing needs unlearning it is ``encoder`` itself.
    """
    from spark_lester.features.matrix_provenance import input_names, selected_positions, width

    if statistics not in (KEEP, DOWNDATE):
        raise PlanError(f"statistics must be '{KEEP}' or '{DOWNDATE}', got {statistics!r}.",
                        op="downdate", hint="Set ENCODER_STATISTICS in the pipeline file.")
    before = width(encoder)
    result = Downdate(encoder=encoder, width_before=before, kept=list(range(before)))
    if len(rows.removed) == 0 and len(rows.added) == 0:
        return result
    names = input_names(encoder)
    new_transformers = []
    kept: list[int] = []
    touched = False
    for name, trans, selector in encoder.transformers_:
        block = encoder.output_indices_.get(name, slice(0, 0))
        inputs = [names[p] for p in selected_positions(encoder, selector, len(names))] \
            if not (isinstance(trans, str) and trans == "drop") else []
        if isinstance(trans, str) or block.stop == block.start:
            new_transformers.append((name, trans, selector))
            kept.extend(range(block.start, block.stop))
            continue
        scalar = isinstance(selector, (str, int, np.integer))
        step = _Step(name, trans, inputs, scalar, rows, statistics)
        new, local_kept, action = step.run()
        result.actions.append({"transformer": name, "kind": type(trans).__name__, **action})
        if new is not trans:
            touched = True
        if action.get("reencode"):
            result.reencode.append(name)
        else:
            kept.extend(block.start + k for k in local_kept)
        new_transformers.append((name, new, selector))
    if not touched:
        return result
    out = copy.copy(encoder)
    out.transformers_ = new_transformers
    out.output_indices_ = _output_indices(out, rows, names)
    result.encoder = out
    result.kept = kept
    return result


def _output_indices(ct: Any, rows: FitRows, names: list[str]) -> dict[str, slice]:
    """``output_indices_`` of the new ColumnTransformer: each block's width, from one row."""
    from spark_lester.features.matrix_provenance import selected_positions

    sample = rows.removed.head(1) if len(rows.removed) else rows.added.head(1)
    out: dict[str, slice] = {}
    start = 0
    for name, trans, selector in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            out[name] = slice(0, 0)
            continue
        inputs = [names[p] for p in selected_positions(ct, selector, len(names))]
        if isinstance(trans, str):  # passthrough
            n = len(inputs)
        else:
            scalar = isinstance(selector, (str, int, np.integer))
            n = _dense(trans.transform(sample[inputs[0]] if scalar else sample[inputs])).shape[1]
        out[name] = slice(start, start + n)
        start += n
    return out


def project(features: np.ndarray, frame: pd.DataFrame | None, result: Downdate) -> np.ndarray:
    """X after the downdate, from X before it (``features``, rows x ``width_before``) and,
    for the re-encoded blocks, the same rows' input values (``frame``)."""
    X = np.asarray(features, dtype=np.float32)
    if not result.changed:
        return X
    from spark_lester.features.encode import _float32
    from spark_lester.features.matrix_provenance import input_names, selected_positions

    ct = result.encoder
    names = input_names(ct)
    out = np.zeros((X.shape[0], result.width_after), dtype=np.float32)
    kept = iter(result.kept)
    for name, trans, selector in ct.transformers_:
        block = ct.output_indices_.get(name, slice(0, 0))
        if block.stop == block.start:
            continue
        if name in result.reencode:
            if frame is None:
                raise PlanError(f"transformer '{name}' is re-encoded, its inputs are needed.",
                                op="project", hint="Pass the rows' input values as frame.")
            inputs = [names[p] for p in selected_positions(ct, selector, len(names))]
            scalar = isinstance(selector, (str, int, np.integer))
            if len(frame):
                sub = frame[inputs[0]] if scalar else frame[inputs]
                out[:, block] = _float32(trans.transform(sub), op="project")
        else:
            for column in range(block.start, block.stop):
                out[:, column] = X[:, next(kept)]
    return out


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix)


#: A downdated sum of squares at most this fraction of what the removal subtracted from is
#: not resolved (float64 round-off, amplified by the subtraction): the scaler is refit.
_RESOLVED = 1e6 * float(np.finfo(np.float64).eps)


class _Step:
    """One transformer's unlearning: ``run()`` -> (new transformer, kept local columns,
    action). A new transformer is a copy; the old one is never changed."""

    def __init__(self, name: str, trans: Any, inputs: list[str], scalar: bool, rows: FitRows,
                 statistics: str) -> None:
        self.name, self.trans, self.inputs, self.scalar = name, trans, inputs, scalar
        self.rows, self.statistics = rows, statistics
        self.width = _width(trans, inputs, rows)

    def unchanged(self, policy: str = NOTHING, **info: Any) -> tuple[Any, list[int], dict]:
        return self.trans, list(range(self.width)), {"policy": policy, **info}

    def run(self) -> tuple[Any, list[int], dict[str, Any]]:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

        from spark_lester.features.encode import _fit_is_value_blind

        trans = self.trans
        if _fit_is_value_blind(trans) or _stateless(trans):
            return self.unchanged()
        if type(trans) is OneHotEncoder:
            return self.categories(one_hot=True)
        if type(trans) is OrdinalEncoder:
            return self.categories(one_hot=False)
        if type(trans) in (CountVectorizer, TfidfVectorizer):
            return self.vocabulary(tfidf=type(trans) is TfidfVectorizer)
        if type(trans) is StandardScaler:
            return self.scaler()
        if type(trans) is SimpleImputer:
            return self.imputer()
        return self.refit(f"{type(trans).__name__} cannot be downdated")

    # ---- helpers -------------------------------------------------------------------
    def _frame(self, frame: pd.DataFrame) -> Any:
        return frame[self.inputs[0]] if self.scalar else frame[self.inputs]

    def refit(self, reason: str) -> tuple[Any, list[int], dict[str, Any]]:
        """Refit a clone on the remaining fit rows; its block is re-encoded."""
        from sklearn.base import clone

        remaining = self.rows.remaining(self.inputs)
        if len(remaining) == 0:
            raise PlanError(f"no fit rows remain to refit transformer '{self.name}'.",
                            op="downdate", hint="A request cannot remove every training row.")
        new = clone(self.trans).fit(self._frame(remaining))
        return new, [], {"policy": REFIT, "reason": reason, "reencode": True}

    # ---- categories ------------------------------------------------------------------
    def categories(self, *, one_hot: bool) -> tuple[Any, list[int], dict[str, Any]]:
        enc = self.trans
        if one_hot and (enc.drop is not None or enc.min_frequency is not None
                        or enc.max_categories is not None):
            return self.refit("drop or frequency thresholds depend on every row")
        if not one_hot and (getattr(enc, "min_frequency", None) is not None
                            or getattr(enc, "max_categories", None) is not None):
            return self.refit("frequency thresholds depend on every row")
        new_categories, kept, removed = [], [], 0
        offset = 0
        for column, cats in zip(self.inputs, enc.categories_, strict=True):
            leaving = [v for v in self.rows.removed[column].tolist() if _present(v)]
            leaving_set = set(leaving)
            candidates = [c for c in cats if _present(c) and c in leaving_set]
            held = self.rows.holding(column, candidates) if candidates else set()
            held |= {v for v in self.rows.added.get(column, []) if _present(v)}
            gone = {c for c in candidates if c not in held}
            keep = [i for i, c in enumerate(cats) if c not in gone]
            removed += len(gone)
            new_categories.append(np.asarray([cats[i] for i in keep], dtype=cats.dtype))
            kept.extend(offset + i for i in keep)
            offset += len(cats)
        if not removed:
            return self.unchanged(EXACT, removed=0)
        new = _refit_with(enc, "categories", new_categories, self._frame_of(new_categories))
        if one_hot:
            return new, kept, {"policy": EXACT, "removed": removed}
        return new, [], {"policy": EXACT, "removed": removed, "reencode": True}

    def _frame_of(self, columns: list[np.ndarray]) -> Any:
        """A small frame holding exactly the given values per input column (to fit with
        explicit categories)."""
        import pandas as pd

        n = max(len(c) for c in columns)
        data = {name: [c[i % len(c)] if len(c) else None for i in range(n)]
                for name, c in zip(self.inputs, columns, strict=True)}
        frame = pd.DataFrame(data)
        return self._frame(frame)

    # ---- vocabulary -----------------------------------------------------------------
    def vocabulary(self, *, tfidf: bool) -> tuple[Any, list[int], dict[str, Any]]:
        vec = self.trans
        if vec.min_df != 1 or vec.max_df != 1.0 or vec.max_features is not None:
            return self.refit("document-frequency thresholds depend on every row")
        if vec.vocabulary is not None:
            return self.unchanged(NOTHING, reason="fixed vocabulary")
        column = self.inputs[0]
        analyze = vec.build_analyzer()
        terms: set[str] = set()
        for doc in self.rows.removed[column].tolist():
            if isinstance(doc, str):
                terms.update(analyze(doc))
        candidates = sorted(t for t in terms if t in vec.vocabulary_)
        held: set[str] = set()
        for doc in [*self.rows.added.get(column, []),
                    *(self.rows.containing(column, _probes(candidates, vec))
                      if candidates else [])]:
            if isinstance(doc, str):
                held.update(analyze(doc))
        gone = {t for t in candidates if t not in held}
        if not gone and not (tfidf and self.statistics == DOWNDATE):
            return self.unchanged(EXACT, removed=0)
        remaining_terms = sorted(t for t in vec.vocabulary_ if t not in gone)
        old_index = [vec.vocabulary_[t] for t in remaining_terms]
        new = copy.deepcopy(vec)
        new.vocabulary_ = {t: i for i, t in enumerate(remaining_terms)}
        action: dict[str, Any] = {"policy": EXACT, "removed": len(gone)}
        if tfidf:
            # the inner TfidfTransformer checks its input width
            new._tfidf.n_features_in_ = len(remaining_terms)
            if self.statistics == DOWNDATE:
                docs = self.rows.remaining([column])[column]
                counts = _dense(new._count_vocab(docs, fixed_vocab=True)[1])
                df = np.bincount(np.nonzero(counts)[1], minlength=len(remaining_terms))
                n = counts.shape[0] + int(vec.smooth_idf)
                idf = np.log(n / (df + int(vec.smooth_idf))) + 1
                new.idf_ = idf.astype(vec.idf_.dtype)
                return new, [], {**action, "idf": DOWNDATE, "reencode": True}
            new.idf_ = np.asarray(vec.idf_)[old_index]
            action["idf"] = KEPT
        return new, old_index, action

    # ---- statistics -----------------------------------------------------------------
    def scaler(self) -> tuple[Any, list[int], dict[str, Any]]:
        sc = self.trans
        if self.statistics == KEEP:
            return self.unchanged(KEPT, reason="mean and variance are aggregates")
        n = sc.n_samples_seen_
        if not np.isscalar(n) or not (sc.with_mean or sc.with_std):
            return self.refit("per-column counts (missing values) or nothing to downdate")
        removed = np.asarray(self.rows.removed[self.inputs], dtype=np.float64)
        added = np.asarray(self.rows.added[self.inputs], dtype=np.float64) \
            if len(self.rows.added) else np.zeros((0, len(self.inputs)))
        if np.isnan(removed).any() or np.isnan(added).any():
            return self.refit("missing values change the per-column counts")
        mean = np.asarray(sc.mean_ if sc.mean_ is not None else np.zeros(len(self.inputs)),
                          dtype=np.float64)
        var = np.asarray(sc.var_ if sc.var_ is not None else np.zeros(len(self.inputs)),
                         dtype=np.float64)
        count = float(n)
        m2 = var * count
        # remove: M2_A = M2_U - M2_B - nA nB / nU (mean_A - mean_B)^2
        k = removed.shape[0]
        j = added.shape[0]
        if k >= count and not j:
            raise PlanError("the request removes every fit row.", op="downdate")
        if k >= count:  # every fit row leaves (updated rows come back below): start afresh
            count, mean, m2, k = 0.0, np.zeros_like(mean), np.zeros_like(m2), 0
        if k:
            mean_b = removed.mean(axis=0)
            m2_b = ((removed - mean_b) ** 2).sum(axis=0)
            rest = count - k
            mean_a = (count * mean - k * mean_b) / rest
            # the removal subtracts: its round-off scales with what it subtracts from
            scale = m2 + m2_b + count * mean ** 2 + k * mean_b ** 2
            m2 = m2 - m2_b - rest * k / count * (mean_a - mean_b) ** 2
            count, mean = rest, mean_a
            if sc.with_std and np.any(m2 <= _RESOLVED * scale):
                # a remaining variance the formula cannot tell from its round-off (the
                # remaining values are (nearly) equal): a refit, which gives the exact 0
                return self.refit("a remaining variance below the removal's round-off")
        if j:
            mean_c = added.mean(axis=0)
            m2_c = ((added - mean_c) ** 2).sum(axis=0)
            total = count + j
            delta = mean_c - mean
            m2 = m2 + m2_c + count * j / total * delta ** 2
            mean = mean + delta * j / total
            count = total
        new = copy.deepcopy(sc)
        new.n_samples_seen_ = type(n)(int(count)) if isinstance(n, (int, np.integer)) else count
        if sc.mean_ is not None:  # fit keeps the mean without with_mean too (for the var)
            new.mean_ = mean
        if sc.with_std:
            new.var_ = np.maximum(m2 / count, 0.0)
            from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature

            # as fit does: a variance at round-off level is a constant feature, scaled by 1
            constant = _is_constant_feature(new.var_, mean, count)
            new.scale_ = _handle_zeros_in_scale(np.sqrt(new.var_), copy=False,
                                                constant_mask=constant)
        return new, [], {"policy": EXACT, "statistics": DOWNDATE, "reencode": True}

    def imputer(self) -> tuple[Any, list[int], dict[str, Any]]:
        imp = self.trans
        strategy = imp.strategy
        if strategy == "constant":
            return self.unchanged(NOTHING, reason="a constant fill value")
        if imp.add_indicator:
            return self.refit("the missing indicator depends on every row")
        if strategy == "most_frequent":
            fills = list(imp.statistics_)
            hit = False
            for column, fill in zip(self.inputs, fills, strict=True):
                values = self.rows.removed[column].tolist()
                if any(_equal(v, fill) for v in values):
                    hit = True
            if not hit and len(self.rows.added) == 0:
                return self.unchanged(EXACT, removed=0,
                                      reason="no removed row held a fill value")
            return self.refit("a removed row held the most frequent value (a literal value)")
        if self.statistics == KEEP:
            return self.unchanged(KEPT, reason=f"the {strategy} is an aggregate")
        return self.refit(f"the {strategy} is recomputed on the remaining rows")


def _width(trans: Any, inputs: list[str], rows: FitRows) -> int:
    try:
        return len(trans.get_feature_names_out(inputs))
    except Exception:  # noqa: BLE001 - width from one transformed row instead
        sample = rows.removed.head(1) if len(rows.removed) else rows.added.head(1)
        return _dense(trans.transform(sample[inputs])).shape[1]


def _stateless(trans: Any) -> bool:
    """A transformer with no fitted state drawn from values (a seeded random projection, a
    FunctionTransformer without inverse checks), or a Pipeline of such."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

    if isinstance(trans, Pipeline):
        return all(step in (None, "passthrough") or _stateless(step) for _, step in trans.steps)
    return isinstance(trans, (GaussianRandomProjection, SparseRandomProjection)) or (
        isinstance(trans, FunctionTransformer) and not trans.check_inverse)


def _present(value: Any) -> bool:
    if value is None:
        return False
    try:
        return not bool(np.isnan(value))
    except (TypeError, ValueError):
        return True


def _equal(a: Any, b: Any) -> bool:
    if not _present(a) or not _present(b):
        return False
    return bool(a == b)


def _refit_with(enc: Any, param: str, value: Any, frame: Any) -> Any:
    """``enc`` fitted with ``param`` fixed to ``value`` (explicit categories) on a frame of
    those values, then ``param`` set back: fitted state of a refit, parameters unchanged."""
    from sklearn.base import clone

    original = enc.get_params()[param]
    new = clone(enc).set_params(**{param: value}).fit(frame)
    setattr(new, param, original)
    return new


def _probes(terms: Iterable[str], vec: Any) -> list[str]:
    """Substrings a document holding one of ``terms`` must contain: the terms' words (a
    bigram's first word); every document when the analyzer is not plain words."""
    if vec.analyzer != "word" or vec.preprocessor is not None or vec.tokenizer is not None \
            or vec.strip_accents is not None or not vec.lowercase:
        return [""]
    return sorted({t.split(" ")[0] for t in terms})
