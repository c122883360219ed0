"""Deletion requests: which source rows, and what to remove of them.

A request names source rows of one source, by key values or by a SQL predicate over that
source's columns, and asks either to

* ``delete_rows``: remove everything derived from those rows, or
* ``redact_columns``: set columns to NULL, of the same source or of another one, where
  ``mails.mail_subject`` of customers' rows means the subjects of the mails that appear
  together with those customers in an artifact row (row provenance links them).

JSON form (file or dict)::

    {"request_id": "inc-42", "source": "customers", "keys": [17, 23],
     "action": "redact_columns", "columns": ["mails.mail_subject"],
     "verify_patterns": ["\\\\b(?:\\\\d[ -]?){13,16}\\\\b"], "clean_source": false}

``where`` replaces ``keys`` (``"bank IN ('Leaky Bank', 'Other Bank')"``). ``pipelines`` and
``runs`` restrict the request to some pipelines or run ids (default: every run that read the
source). The request id defaults to a hash of the request,
so resubmitting the same request is recognised (idempotence).

>>> r = DeletionRequest.from_dict({"source": "mails", "keys": [3], "action": "delete_rows"})
>>> r.action, r.keys, len(r.request_id)
('delete_rows', (3,), 16)
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spark_lester.errors import RequestError

ACTIONS = ("delete_rows", "redact_columns")
_FIELDS = {"request_id", "source", "keys", "where", "action", "columns", "verify_patterns",
           "clean_source", "pipelines", "runs"}
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
#: Finds 13-19 digit card numbers whose digits may be separated by single spaces or dashes
#: (``4111 1111 1111 1111``, ``4111-1111-1111-1111``); valid in Python, Java and RE2 syntax.
CARD_NUMBER = r"\b(?:\d[ -]?){12,18}\d\b"


@dataclass(frozen=True)
class DeletionRequest:
    source: str
    action: str
    keys: tuple[Any, ...] | None = None
    where: str | None = None
    columns: tuple[tuple[str, str], ...] = ()
    verify_patterns: tuple[str, ...] = ()
    clean_source: bool = False
    pipelines: tuple[str, ...] | None = None
    runs: tuple[str, ...] | None = None
    request_id: str = field(default="")

    def __post_init__(self) -> None:
        rid = self.request_id or None
        if not isinstance(self.source, str) or not self.source:
            raise RequestError("'source' must name a source.", request_id=rid, field="source")
        if self.action not in ACTIONS:
            raise RequestError(f"'action' must be one of {', '.join(ACTIONS)}, got "
                               f"{self.action!r}.", request_id=rid, field="action")
        if (self.keys is None) == (self.where is None):
            raise RequestError("give exactly one of 'keys' (a list of key values) or 'where' "
                               "(a SQL predicate over the source).", request_id=rid,
                               field="keys")
        if self.keys is not None and not self.keys:
            raise RequestError("'keys' is empty.", request_id=rid, field="keys")
        if self.where is not None and (not isinstance(self.where, str) or not self.where.strip()):
            raise RequestError("'where' must be a non-empty SQL predicate.", request_id=rid,
                               field="where")
        if self.action == "redact_columns" and not self.columns:
            raise RequestError("redact_columns needs 'columns' (e.g. ['mails.mail_subject']).",
                               request_id=rid, field="columns")
        if self.action == "delete_rows" and self.columns:
            raise RequestError("delete_rows takes no 'columns'.", request_id=rid,
                               field="columns")
        for pattern in self.verify_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise RequestError(f"verify pattern is not a regular expression ({exc}).",
                                   request_id=rid, field="verify_patterns") from None
        if not self.request_id:
            object.__setattr__(self, "request_id", self._digest())
        elif not _ID.match(self.request_id):
            raise RequestError("request_id may use letters, digits and _ . : - (max 64).",
                               field="request_id")

    # ---- construction ---------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> DeletionRequest:
        if not isinstance(data, dict):
            raise RequestError(f"a request is a JSON object, got {type(data).__name__}.")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise RequestError(f"unknown field(s) {', '.join(unknown)}; known: "
                               f"{', '.join(sorted(_FIELDS))}.", field=unknown[0])
        rid = data.get("request_id") or ""
        keys = data.get("keys")
        if keys is not None and not isinstance(keys, list):
            raise RequestError("'keys' must be a list.", request_id=rid or None, field="keys")
        source = data.get("source")
        columns = tuple(_column(c, source, rid) for c in data.get("columns") or ())
        pipelines = data.get("pipelines")
        runs = data.get("runs")
        return cls(source=source, action=data.get("action"),  # type: ignore[arg-type]
                   keys=tuple(keys) if keys is not None else None, where=data.get("where"),
                   columns=columns, verify_patterns=tuple(data.get("verify_patterns") or ()),
                   clean_source=bool(data.get("clean_source", False)),
                   pipelines=tuple(pipelines) if pipelines else None,
                   runs=tuple(runs) if runs else None, request_id=rid)

    @classmethod
    def from_json(cls, text: str) -> DeletionRequest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(f"not valid JSON (line {exc.lineno}, column {exc.colno}).",
                               hint="Check the request file's syntax.") from None
        return cls.from_dict(data)

    @classmethod
    def from_file(cls, path: str | Path) -> DeletionRequest:
        p = Path(path)
        if not p.is_file():
            raise RequestError(f"request file {p} does not exist.")
        return cls.from_json(p.read_text())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"request_id": self.request_id, "source": self.source,
                               "action": self.action}
        if self.keys is not None:
            out["keys"] = list(self.keys)
        if self.where is not None:
            out["where"] = self.where
        if self.columns:
            out["columns"] = [f"{s}.{c}" for s, c in self.columns]
        if self.verify_patterns:
            out["verify_patterns"] = list(self.verify_patterns)
        if self.clean_source:
            out["clean_source"] = True
        if self.pipelines:
            out["pipelines"] = list(self.pipelines)
        if self.runs:
            out["runs"] = list(self.runs)
        return out

    def fingerprint(self) -> str:
        """A hash of the request's content: stored in the ledger instead of key values."""
        body = {k: v for k, v in self.to_dict().items() if k != "request_id"}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

    def _digest(self) -> str:
        return self.fingerprint()[:16]

    def describe(self) -> str:
        """A log-safe description: no key values, no predicate text."""
        what = f"{len(self.keys)} key(s)" if self.keys is not None else "a predicate"
        cols = f" redacting {', '.join(f'{s}.{c}' for s, c in self.columns)}" if self.columns \
            else ""
        return f"{self.action} on {self.source} rows given by {what}{cols}"


def _column(value: Any, source: Any, rid: str) -> tuple[str, str]:
    if not isinstance(value, str) or not value:
        raise RequestError("each entry of 'columns' is a column name.", request_id=rid or None,
                           field="columns")
    if "." in value:
        src, col = value.split(".", 1)
        return src, col
    return str(source), value
