"""Comparing the original's output with the rewrite's: as multisets of rows.

Row order never matters; a duplicated or missing row does. Cells are normalised before
comparison so that a CSV written by the original and Parquet written by the rewrite agree:
NULL, NaN and the empty string are all "missing" (CSV cannot tell them apart); booleans
compare as booleans; numbers (and strings that spell a number) compare as floats with a
tolerance; dates and timestamps compare as ISO text; other strings compare exactly.

Feature matrices are compared column by column, in order: rows are aligned (both sides
encode the input in its order) and column ``j`` of the rewrite's X must equal column ``j`` of
the original's. A permuted X (blocks in another order, one-hot categories in another order)
is a different X for the model that consumes it and is rejected; the feedback says where
each misplaced column went and, through the matrix provenance, which input column the
rewrite's block encodes.

Model definitions are compared by behaviour: the ordered parameter shapes must be equal, and
with the original's weights loaded the outputs on the same ``X`` must be equal within float32
tolerance (:data:`MODEL_RTOL`, :data:`MODEL_ATOL`).

>>> import pandas as pd
>>> a = pd.DataFrame({"id": [1, 2, 2], "x": [0.1, 0.2, 0.2]})
>>> b = pd.DataFrame({"x": ["0.2", "0.1", "0.2000000001"], "id": ["2", "1", "2"]})
>>> compare_tables(a, b).equal
True
>>> print(compare_tables(a, b.iloc[:2]).summary())
row counts differ: original 3, rewrite 2; 1 row(s) only in the original, 0 only in the rewrite
  only in original: {'id': 2, 'x': 0.2}
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

REL_TOL = 1e-6
ABS_TOL = 1e-9
MODEL_RTOL = 1e-4
MODEL_ATOL = 1e-5
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_MISSING = object()


def normalise(value: Any) -> Any:
    """The comparable form of one cell (see module doc).

    >>> normalise(""), normalise("3"), normalise(True), normalise(dt.date(2022, 1, 5))
    (None, 3.0, True, '2022-01-05')
    """
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()  # numpy scalars
        except (ValueError, AttributeError):
            pass
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, (dt.datetime, dt.date)):
        if isinstance(value, dt.datetime) and value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return normalise(value.to_pydatetime())
    if isinstance(value, (list, tuple)):
        return tuple(normalise(v) for v in value)
    text = str(value)
    if text == "" or text.lower() in ("nan", "nat", "none", "null"):
        return None
    if text in ("True", "true", "False", "false"):
        return text.lower() == "true"
    if _NUMBER.match(text.strip()):
        return float(text)
    return text


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_round(v) for v in row)


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.5g}") if v != 0 else 0.0
    return v


def _close(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=REL_TOL, abs_tol=ABS_TOL):
                return False
        elif x != y:
            return False
    return True


@dataclass
class Comparison:
    """The outcome of one comparison; ``summary()`` is what the LLM is told."""

    equal: bool
    problems: list[str] = field(default_factory=list)
    only_original: list[dict[str, Any]] = field(default_factory=list)
    only_rewrite: list[dict[str, Any]] = field(default_factory=list)

    def summary(self, limit: int = 5) -> str:
        lines = list(self.problems)
        for label, rows in (("only in original", self.only_original),
                            ("only in rewrite", self.only_rewrite)):
            for row in rows[:limit]:
                lines.append(f"  {label}: {row}")
        return "\n".join(lines) if lines else "outputs are equal"

    def to_dict(self, limit: int = 10) -> dict[str, Any]:
        return {"equal": self.equal, "problems": self.problems,
                "only_original": self.only_original[:limit],
                "only_rewrite": self.only_rewrite[:limit]}


def compare_tables(original: pd.DataFrame, rewrite: pd.DataFrame,
                   columns: Sequence[str] | None = None) -> Comparison:
    """Compare two tables as multisets of rows over ``columns`` (default: the original's)."""
    cols = list(columns) if columns is not None else [str(c) for c in original.columns]
    problems = []
    missing = [c for c in cols if c not in rewrite.columns]
    if missing or any(c not in original.columns for c in cols):
        extra = [c for c in rewrite.columns if c not in cols]
        problems.append(f"columns differ: the rewrite lacks {missing or 'nothing'}"
                        f"{f' and has extra {extra}' if extra else ''}; expected {cols}")
        return Comparison(False, problems)
    left = [tuple(normalise(v) for v in row) for row in original[cols].itertuples(index=False)]
    right = [tuple(normalise(v) for v in row) for row in rewrite[cols].itertuples(index=False)]
    lc, rc = Counter(_key(r) for r in left), Counter(_key(r) for r in right)
    only_l, only_r = lc - rc, rc - lc
    rest_l = [k for k, n in only_l.items() for _ in range(n)]
    rest_r = [k for k, n in only_r.items() for _ in range(n)]
    if rest_l and rest_r and len(rest_l) * len(rest_r) <= 250_000:
        # Values rounded onto different sides of a boundary: pair them up with tolerance.
        by_key_l = _originals(left, set(rest_l))
        by_key_r = _originals(right, set(rest_r))
        unmatched = []
        for row in (r for k in rest_l for r in by_key_l[k][:1]):
            match = next((i for i, cand in enumerate(rest_r)
                          if _close(row, by_key_r[cand][0])), None)
            if match is None:
                unmatched.append(_key(row))
            else:
                rest_r.pop(match)
        rest_l = unmatched
    if len(left) != len(right):
        problems.append(f"row counts differ: original {len(left)}, rewrite {len(right)}")
    if rest_l or rest_r:
        problems.append(f"{len(rest_l)} row(s) only in the original, "
                        f"{len(rest_r)} only in the rewrite")
    if problems and len(problems) == 2:
        problems = [f"{problems[0]}; {problems[1]}"]
    return Comparison(not (rest_l or rest_r or len(left) != len(right)), problems,
                      [_show(cols, r) for r in rest_l[:20]],
                      [_show(cols, r) for r in rest_r[:20]])


def _originals(rows: list[tuple[Any, ...]], keys: set[tuple[Any, ...]]
               ) -> dict[tuple[Any, ...], list[tuple[Any, ...]]]:
    out: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for r in rows:
        k = _key(r)
        if k in keys:
            out.setdefault(k, []).append(r)
    return out


def _show(cols: Sequence[str], row: tuple[Any, ...]) -> dict[str, Any]:
    return {c: (int(v) if isinstance(v, float) and v.is_integer() else v)
            for c, v in zip(cols, row, strict=True)}


def compare_matrices(original: np.ndarray, rewrite: np.ndarray,
                     provenance: Mapping[str, Sequence[Sequence[int]]] | None = None
                     ) -> Comparison:
    """Compare feature matrices column by column in order (see module doc).

    >>> import numpy as np
    >>> x = np.array([[1.0, 0.0, 5.0], [0.0, 1.0, 7.0]])
    >>> compare_matrices(x, x.copy(), {"c": [[0, 2]], "n": [[2, 3]]}).equal
    True
    >>> print(compare_matrices(x, x[:, [2, 0, 1]], {"n": [[0, 1]], "c": [[1, 3]]}).summary())
    3 of 3 feature column(s) differ from the original's, first at X[:, 0]
      X[:, 0] (rewrite encodes 'n'): the original's X[:, 0] is the rewrite's X[:, 1]
      X[:, 1] (rewrite encodes 'c'): the original's X[:, 1] is the rewrite's X[:, 2]
      X[:, 2] (rewrite encodes 'c'): the original's X[:, 2] is the rewrite's X[:, 0]
    columns in another order: keep the original's order (of transformers, of categories)
    """
    import numpy as np

    problems: list[str] = []
    a, b = np.asarray(original, dtype=float), np.asarray(rewrite, dtype=float)
    if a.ndim != 2 or b.ndim != 2:
        return Comparison(False, ["feature outputs must be 2-d matrices"])
    if a.shape[0] != b.shape[0]:
        return Comparison(False, [f"row counts differ: original {a.shape[0]}, "
                                  f"rewrite {b.shape[0]}"])

    def same(x: np.ndarray, y: np.ndarray) -> bool:
        return bool(np.allclose(x, y, rtol=REL_TOL, atol=1e-7, equal_nan=True))

    owner: dict[int, str] = {}
    for col, ranges in (provenance or {}).items():
        for start, end in ranges:
            for k in range(start, end):
                owner.setdefault(k, col)
    if a.shape[1] != b.shape[1]:
        problems.append(f"feature counts differ: original {a.shape[1]}, rewrite {b.shape[1]}")
    width = min(a.shape[1], b.shape[1])
    differing = [j for j in range(width) if not same(a[:, j], b[:, j])]
    if differing:
        problems.append(f"{len(differing)} of {a.shape[1]} feature column(s) differ from the "
                        f"original's, first at X[:, {differing[0]}]")
    moved = False
    for j in differing[:10]:
        label = f" (rewrite encodes {owner[j]!r})" if j in owner else ""
        k = next((k for k in range(b.shape[1]) if k != j and same(a[:, j], b[:, k])), None)
        if k is not None:
            moved = True
            problems.append(f"  X[:, {j}]{label}: the original's X[:, {j}] is the rewrite's "
                            f"X[:, {k}]")
        else:
            rows = np.flatnonzero(~np.isclose(a[:, j], b[:, j], rtol=REL_TOL, atol=1e-7,
                                              equal_nan=True))
            i = int(rows[0]) if len(rows) else 0
            problems.append(f"  X[:, {j}]{label}: {len(rows)} row(s) differ, e.g. row {i}: "
                            f"original {a[i, j]:.6g}, rewrite {b[i, j]:.6g}")
    for k in range(width, a.shape[1]):
        if len(problems) > 12:
            break
        problems.append(f"  the original's X[:, {k}] is missing from the rewrite")
    for k in range(width, b.shape[1]):
        if len(problems) > 12:
            break
        label = f" (encodes {owner[k]!r})" if k in owner else ""
        problems.append(f"  the rewrite's extra X[:, {k}]{label} has no place in the original")
    if moved:
        problems.append("columns in another order: keep the original's order (of "
                        "transformers, of categories)")
    return Comparison(not problems, problems)


def compare_parameter_shapes(original: Sequence[Sequence[int]],
                             rewrite: Sequence[Sequence[int]]) -> Comparison:
    """Equal when both modules have the same parameter shapes in the same order.

    >>> compare_parameter_shapes([[8, 4], [8], [1, 8], [1]], [[8, 4], [8], [1, 8], [1]]).equal
    True
    >>> print(compare_parameter_shapes([[8, 4], [8], [1, 8], [1]], [[8, 4], [1, 8]]).summary())
    parameter shapes differ: original 4 parameter(s) (49 values), rewrite 2 (40 values)
      first difference at parameter 1: original [8], rewrite [1, 8]
      original shapes: [[8, 4], [8], [1, 8], [1]]
      rewrite shapes:  [[8, 4], [1, 8]]
    """
    a = [[int(d) for d in s] for s in original]
    b = [[int(d) for d in s] for s in rewrite]
    if a == b:
        return Comparison(True)
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    at_a = a[first] if first < len(a) else "nothing"
    at_b = b[first] if first < len(b) else "nothing"
    return Comparison(False, [
        f"parameter shapes differ: original {len(a)} parameter(s) ({_values(a)} values), "
        f"rewrite {len(b)} ({_values(b)} values)",
        f"  first difference at parameter {first}: original {at_a}, rewrite {at_b}",
        f"  original shapes: {a}", f"  rewrite shapes:  {b}"])


def _values(shapes: Sequence[Sequence[int]]) -> int:
    return sum(math.prod(s) for s in shapes)


def compare_model_outputs(original: np.ndarray, rewrite: np.ndarray, *,
                          probabilities: bool = False) -> Comparison:
    """Compare the original's outputs with the rewrite's logits on the same ``X``.

    ``(n,)`` and ``(n, 1)`` are the same shape. With ``probabilities`` the original wrote
    probabilities: the rewrite's logits go through a sigmoid (softmax when ``k > 1``) first.

    >>> import numpy as np
    >>> logits = np.array([[-2.0], [0.5]])
    >>> compare_model_outputs(1 / (1 + np.exp(-logits[:, 0])), logits, probabilities=True).equal
    True
    >>> print(compare_model_outputs(np.tanh(logits), logits).summary())
    2 of 2 output row(s) differ (largest difference 1.04)
      row 0: original -0.964, rewrite -2
      row 1: original 0.462, rewrite 0.5
    """
    import numpy as np

    a = np.asarray(original, dtype=float)
    b = np.asarray(rewrite, dtype=float)
    a, b = (x[:, 0] if x.ndim == 2 and x.shape[1] == 1 else x for x in (a, b))
    if a.shape != b.shape:
        return Comparison(False, [f"output shapes differ: original {list(a.shape)}, rewrite "
                                  f"{list(b.shape)} (the module must return logits of shape "
                                  "(batch,), (batch, 1) or (batch, k))"])
    if probabilities:
        if b.ndim == 2:
            shifted = np.exp(b - b.max(axis=1, keepdims=True))
            b = shifted / shifted.sum(axis=1, keepdims=True)
        else:
            b = 1.0 / (1.0 + np.exp(-b))
    if a.ndim == 0:
        return Comparison(False, ["the outputs must have one row per row of X"])
    close = np.isclose(a, b, rtol=MODEL_RTOL, atol=MODEL_ATOL, equal_nan=True)
    rows = close.reshape(len(close), -1).all(axis=1)
    bad = np.flatnonzero(~rows)
    if len(bad) == 0:
        return Comparison(True)
    worst = float(np.nanmax(np.abs(a - b)))
    problems = [f"{len(bad)} of {len(rows)} output row(s) differ (largest difference "
                f"{worst:.3g})" + ("; the sigmoid of the rewrite's logits is compared with "
                                   "the original's probabilities" if probabilities else "")]
    problems += [f"  row {int(i)}: original {_short(a[i])}, rewrite {_short(b[i])}"
                 for i in bad[:5]]
    return Comparison(False, problems)


def _short(value: Any) -> str:
    import numpy as np

    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return f"{float(arr):.3g}"
    return "[" + ", ".join(f"{float(v):.3g}" for v in arr[:6]) + "]"
