"""Compare the declarative pipeline's output with the messy original's.

Rows are compared as multisets over the output columns: exact for strings and integers,
within ``tol`` for floats. Feature rows are matched by ``mail_id``; features agree within
1e-5, not exactly: the sentence embeddings come from a float32 neural model, and the messy
program batches its texts differently (a padded batch moves a vector by ~1e-7).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _canonical(row: dict[str, Any], float_digits: int) -> tuple[Any, ...]:
    out = []
    for key in sorted(row):
        value = row[key]
        if isinstance(value, float) or isinstance(value, np.floating):
            value = round(float(value), float_digits)
        elif isinstance(value, np.integer):
            value = int(value)
        out.append((key, value))
    return tuple(out)


def compare_rows(expected: list[dict[str, Any]], actual: list[dict[str, Any]],
                 float_digits: int = 9) -> dict[str, Any]:
    """Multiset difference of two row lists; ``equal`` is True when none differ."""
    a = Counter(_canonical(r, float_digits) for r in expected)
    b = Counter(_canonical(r, float_digits) for r in actual)
    missing, extra = a - b, b - a
    return {"equal": not missing and not extra, "rows_expected": sum(a.values()),
            "rows_actual": sum(b.values()), "missing": sum(missing.values()),
            "extra": sum(extra.values())}


def read_messy_output(out_dir: str | Path) -> tuple[list[dict[str, Any]], np.ndarray]:
    out = Path(out_dir)
    rows = [json.loads(line) for line in (out / "prepared.jsonl").read_text().splitlines()]
    return rows, np.load(out / "X.npy")


def compare_features(messy_rows: list[dict[str, Any]], messy_x: np.ndarray,
                     ids: pd.Series, x: np.ndarray, tol: float = 1e-5) -> dict[str, Any]:
    """Max absolute difference of feature rows matched by mail_id."""
    if messy_x.shape != x.shape:
        return {"equal": False, "shape_expected": list(messy_x.shape), "shape_actual": list(x.shape)}
    order = {int(r["mail_id"]): i for i, r in enumerate(messy_rows)}
    idx = np.array([order[int(i)] for i in ids])
    diff = float(np.abs(messy_x[idx] - x).max()) if len(idx) else 0.0
    return {"equal": diff <= tol, "max_abs_diff": diff, "shape": list(x.shape)}
