"""Matrix column provenance: which ranges of the feature matrix X each input column feeds.

Computed from a *fitted* scikit-learn ColumnTransformer: each transformer's block of X comes
from ``output_indices_``; within a block, output features are attributed to input columns by
the names ``get_feature_names_out`` gives (``country_UK`` -> ``country``; a 1:1 transformer
keeps names). Outputs whose name names no single input (PCA components, a text embedder's
hashed dimensions over several columns) are attributed to every input of that transformer,
which is exact for single-column transformers and conservative otherwise. Nested Pipelines
are handled through the Pipeline's own ``get_feature_names_out``. Dropped columns map to no
range; ``remainder="passthrough"`` columns map to their own single column.

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

from typing import Any

import numpy as np

from spark_lester.errors import PlanError

Ranges = list[tuple[int, int]]


def _columns(ct: Any, selector: Any) -> list[str]:
    names = list(getattr(ct, "feature_names_in_", []))
    if isinstance(selector, str):
        return [selector]
    if callable(selector):
        raise PlanError("callable column selectors are not supported after fitting.",
                        op="matrix_provenance")
    if isinstance(selector, slice):
        return names[selector]
    values = list(np.asarray(selector).ravel()) if not isinstance(selector, list) else selector
    if values and isinstance(values[0], (bool, np.bool_)):
        return [n for n, keep in zip(names, values) if keep]
    if values and isinstance(values[0], (int, np.integer)):
        if not names:
            return [str(v) for v in values]
        return [names[int(v)] for v in values]
    return [str(v) for v in values]


def _attribute(outputs: list[str], inputs: list[str]) -> list[list[str]]:
    """For each output feature name, the input columns it comes from."""
    by_length = sorted(inputs, key=len, reverse=True)
    result = []
    for name in outputs:
        if name in inputs:
            result.append([name])
            continue
        owner = next((c for c in by_length if name.startswith(c + "_")), None)
        result.append([owner] if owner is not None and len(inputs) > 1 else list(inputs))
    return result


def _ranges(indices: list[int]) -> Ranges:
    out: Ranges = []
    for i in sorted(indices):
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def matrix_provenance(ct: Any) -> dict[str, Ranges]:
    """Input column -> sorted list of half-open ``[start, end)`` ranges of X."""
    if not hasattr(ct, "output_indices_"):
        raise PlanError("the ColumnTransformer is not fitted.", op="matrix_provenance",
                        hint="Fit it first (features are fitted on the driver).")
    indices: dict[str, list[int]] = {c: [] for c in getattr(ct, "feature_names_in_", [])}
    for name, trans, selector in ct.transformers_:
        cols = _columns(ct, selector)
        for c in cols:
            indices.setdefault(c, [])
        block = ct.output_indices_.get(name, slice(0, 0))
        width = block.stop - block.start
        if trans == "drop" or width == 0:
            continue
        if trans == "passthrough":
            outputs = cols
        else:
            outputs = [str(o) for o in trans.get_feature_names_out(cols)]
        if len(outputs) != width:
            raise PlanError(f"transformer '{name}' names {len(outputs)} outputs but fills "
                            f"{width} columns of X.", op="matrix_provenance")
        for offset, owners in enumerate(_attribute(outputs, cols)):
            for c in owners:
                indices[c].append(block.start + offset)
    return {c: _ranges(ix) for c, ix in indices.items()}
