"""Matrix column provenance: which ranges of the feature matrix X each input column feeds.

Computed from a *fitted* scikit-learn ColumnTransformer. Each transformer's block of X is
placed by ``output_indices_``; within a block, every output column is attributed to the
input columns it depends on, by the transformer's structure:

- ``"passthrough"`` and one-to-one transformers (scalers, imputers, ordinal encoders, feature
  selectors): scikit-learn names such an output after its input, so an output named like
  an input depends on that input only (``missingindicator_<col>`` on ``<col>``);
- ``OneHotEncoder``: exact per-input widths from ``categories_``, ``drop_idx_`` and the
  infrequent categories (names like ``country_UK`` are never parsed: ``a`` and ``a_b`` would
  be ambiguous);
- ``PolynomialFeatures``: exact, from ``powers_`` (``a b`` depends on ``a`` and ``b``; the
  constant bias column depends on no input, so no range names it);
- ``Pipeline``: the composition of its steps; a nested ``ColumnTransformer``: recursively;
- anything else (PCA, TruncatedSVD, a text embedder, a custom transformer): every output
  depends on every input of that transformer. This is exact for a single-input transformer
  and *conservative* for several inputs (a PCA over ``['n', 'm']`` attributes each component
  to both, which is also the truth for a PCA). A custom transformer whose outputs carry an
  input's name is taken at its word, as scikit-learn's own one-to-one transformers are.

Dropped columns (``"drop"``, ``remainder="drop"``) map to no range; ``remainder=
"passthrough"`` columns map to their own single column.

>>> import pandas as pd
>>> from sklearn.compose import ColumnTransformer
>>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
>>> df = pd.DataFrame({"country": ["UK", "DE", "UK"], "n": [1.0, 2.0, 3.0], "x": [0, 0, 1]})
>>> ct = ColumnTransformer([("c", OneHotEncoder(), ["country"]), ("n", StandardScaler(), ["n"])],
...                        remainder="drop").fit(df)
>>> matrix_provenance(ct)
{'country': [(0, 2)], 'n': [(2, 3)], 'x': []}
"""

from __future__ import annotations

from collections import UserList
from typing import Any

import numpy as np

from spark_lester.errors import PlanError

Ranges = list[tuple[int, int]]
#: For each output column of a transformer, the positions of the inputs it depends on.
Dependencies = list[frozenset[int]]

#: The prefix scikit-learn's MissingIndicator (and SimpleImputer(add_indicator=True)) gives
#: the indicator of column ``c``: ``missingindicator_c``.
_INDICATOR = "missingindicator_"


class _Opaque(Exception):
    """A transformer whose output layout cannot be derived (no get_feature_names_out)."""


def input_names(ct: Any) -> list[str]:
    """The input column names of a fitted ColumnTransformer (``str(i)`` if fitted on arrays)."""
    names = getattr(ct, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return [str(i) for i in range(int(ct.n_features_in_))]


def selected_positions(ct: Any, selector: Any, n_inputs: int) -> list[int]:
    """Positions (into the ColumnTransformer's inputs) that a fitted ``selector`` picks."""
    names = list(getattr(ct, "feature_names_in_", [])) or [str(i) for i in range(n_inputs)]
    if isinstance(selector, UserList):  # the remainder's column list (quiet access)
        selector = selector.data
    if callable(selector):
        raise PlanError("callable column selectors are not supported after fitting.",
                        op="matrix_provenance")
    if isinstance(selector, str):
        return [names.index(selector)]
    if isinstance(selector, (int, np.integer)):
        return [int(selector)]
    if isinstance(selector, slice):
        if not isinstance(selector.start, str) and not isinstance(selector.stop, str):
            return list(range(n_inputs))[selector]
        start = 0 if selector.start is None else names.index(selector.start)
        stop = n_inputs - 1 if selector.stop is None else names.index(selector.stop)
        return list(range(start, stop + 1))  # label slices include their end
    values = list(np.asarray(selector).ravel()) if not isinstance(selector, list) else selector
    if values and isinstance(values[0], (bool, np.bool_)):
        return [i for i, keep in enumerate(values) if keep]
    if values and isinstance(values[0], (int, np.integer)):
        return [int(v) for v in values]
    return [names.index(str(v)) for v in values]


def _onehot_widths(enc: Any) -> list[int]:
    """Output columns per input of a fitted OneHotEncoder."""
    infrequent = getattr(enc, "infrequent_categories_", None) or [None] * len(enc.categories_)
    drop = getattr(enc, "drop_idx_", None)
    widths = []
    for i, categories in enumerate(enc.categories_):
        width = len(categories)
        if infrequent[i] is not None:
            width -= len(infrequent[i]) - 1  # infrequent categories share one column
        if drop is not None and drop[i] is not None:
            width -= 1
        widths.append(width)
    return widths


def _by_name(outputs: list[str], names: list[str]) -> Dependencies:
    position = {n: i for i, n in enumerate(names)}
    everything = frozenset(range(len(names)))
    deps = []
    for out in outputs:
        if out in position:
            deps.append(frozenset([position[out]]))
        elif out.startswith(_INDICATOR) and out[len(_INDICATOR):] in position:
            deps.append(frozenset([position[out[len(_INDICATOR):]]]))
        else:
            deps.append(everything)
    return deps


def dependencies(trans: Any, names: list[str]) -> tuple[list[str], Dependencies]:
    """Output names of a fitted transformer fed the columns ``names``, and per output the
    positions (into ``names``) of the inputs it depends on. Raises ``_Opaque`` when the
    transformer cannot name its outputs."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures

    if trans is None or (isinstance(trans, str) and trans == "passthrough"):
        return list(names), [frozenset([i]) for i in range(len(names))]
    if isinstance(trans, ColumnTransformer):
        deps = column_dependencies(trans)
        try:
            outputs = [str(o) for o in trans.get_feature_names_out()]
        except Exception:  # noqa: BLE001 - only the names are missing; the layout is known
            outputs = [f"{i}" for i in range(len(deps))]
        return outputs, deps
    if isinstance(trans, Pipeline):
        current = list(names)
        deps = [frozenset([i]) for i in range(len(names))]
        for _, step in trans.steps:
            if step is None or (isinstance(step, str) and step == "passthrough"):
                continue
            current, step_deps = dependencies(step, current)
            deps = [frozenset().union(*(deps[i] for i in d)) for d in step_deps]
        return current, deps
    if not hasattr(trans, "get_feature_names_out"):
        raise _Opaque(type(trans).__name__)
    try:
        outputs = [str(o) for o in trans.get_feature_names_out(names)]
    except Exception as exc:  # noqa: BLE001 - e.g. a FunctionTransformer without names
        raise _Opaque(type(trans).__name__) from exc
    if isinstance(trans, OneHotEncoder):
        widths = _onehot_widths(trans)
        deps = [frozenset([i]) for i, width in enumerate(widths) for _ in range(width)]
        if len(deps) != len(outputs):
            raise PlanError(f"OneHotEncoder widths {widths} do not add up to its "
                            f"{len(outputs)} outputs.", op="matrix_provenance")
        return outputs, deps
    if isinstance(trans, PolynomialFeatures):
        powers = np.asarray(trans.powers_)
        return outputs, [frozenset(int(i) for i in np.flatnonzero(row)) for row in powers]
    return outputs, _by_name(outputs, names)


def width(ct: Any) -> int:
    """Number of columns of X a fitted ColumnTransformer produces."""
    return max((s.stop for s in ct.output_indices_.values()), default=0)


def column_dependencies(ct: Any) -> Dependencies:
    """For each column of X, the positions of the ColumnTransformer's inputs it depends on."""
    if not hasattr(ct, "output_indices_"):
        raise PlanError("the ColumnTransformer is not fitted.", op="matrix_provenance",
                        hint="Fit it first (features are fitted on the driver).")
    names = input_names(ct)
    deps: Dependencies = [frozenset()] * width(ct)
    for name, trans, selector in ct.transformers_:
        block = ct.output_indices_.get(name, slice(0, 0))
        if (isinstance(trans, str) and trans == "drop") or block.stop == block.start:
            continue
        positions = selected_positions(ct, selector, len(names))
        try:
            _, local = dependencies(trans, [names[p] for p in positions])
        except _Opaque:
            local = [frozenset(range(len(positions)))] * (block.stop - block.start)
        if len(local) != block.stop - block.start:
            raise PlanError(f"transformer '{name}' names {len(local)} outputs but fills "
                            f"{block.stop - block.start} columns of X.", op="matrix_provenance")
        for offset, inputs in enumerate(local):
            deps[block.start + offset] = frozenset(positions[i] for i in inputs)
    return deps


def _ranges(indices: list[int]) -> Ranges:
    out: Ranges = []
    for i in sorted(indices):
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def matrix_provenance(ct: Any) -> dict[str, Ranges]:
    """Input column -> sorted list of half-open ``[start, end)`` ranges of X (adjacent
    columns merged); every input of the ColumnTransformer is a key, dropped ones map to
    ``[]``."""
    deps = column_dependencies(ct)
    names = input_names(ct)
    indices: dict[str, list[int]] = {n: [] for n in names}
    for column, inputs in enumerate(deps):
        for i in inputs:
            indices[names[i]].append(column)
    return {n: _ranges(ix) for n, ix in indices.items()}
