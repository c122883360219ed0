"""Tables read and written by SQL text, parsed with sqlglot (never executed).

Jinja expressions (``{{ ds }}``, ``{{ params.db }}``) are swapped for identifiers before
parsing and restored in table names afterwards, so templated SQL keeps its placeholders.
``CREATE TABLE ... LOCATION 's3://...'`` links the table to its storage; Redshift
``COPY ... FROM 's3://...'`` and ``UNLOAD (...) TO 's3://...'`` are recognised by pattern.

>>> r = sql_tables("INSERT INTO mart.daily SELECT * FROM raw.events e JOIN raw.users u ON e.uid = u.id")
>>> sorted(r.reads), r.writes
(['raw.events', 'raw.users'], ['mart.daily'])
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" chatter

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_FMT_PLACEHOLDER = re.compile(r"\$?\{(\w[\w.]*)\}")  # {db}.{table}, ${table_name}
_COPY = re.compile(r"\bCOPY\s+([\w.\"{}]+)(?:\s*\([^)]*\))?\s+FROM\s+'([^']+)'", re.I)
_UNLOAD = re.compile(r"\bUNLOAD\s*\(.*?\)\s*TO\s+'([^']+)'", re.I | re.S)
_UNLOAD_FROM = re.compile(r"\bFROM\s+([\w.\"]+)", re.I)
_DIRECTORY = re.compile(r"\bINSERT\s+OVERWRITE\s+(?:LOCAL\s+)?DIRECTORY\s+'([^']+)'", re.I)
#: Objects that are not tables: CREATE DATABASE/SCHEMA/FUNCTION/PROCEDURE write no dataset.
_NOT_TABLES = frozenset({"DATABASE", "SCHEMA", "FUNCTION", "PROCEDURE", "MACRO", "INDEX", "SEQUENCE"})
_DIALECTS = ("spark", "athena", "redshift", None)
_PATH_FORMATS = frozenset({"delta", "parquet", "json", "csv", "orc", "avro", "text"})
#: Statements only Redshift has: a .sql file with these is Redshift SQL.
REDSHIFT_HINT = re.compile(r"\bIAM_ROLE\b|\bUNLOAD\s*\(|\bCOPY\s+[\w.]+\s+FROM\s+'s3://", re.I)


@dataclass
class SqlTables:
    """What a SQL text reads and writes; ``locations`` maps a table to its LOCATION."""

    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)
    s3_reads: list[str] = field(default_factory=list)
    s3_writes: list[str] = field(default_factory=list)
    operations: list[tuple[str, str]] = field(default_factory=list)
    temp_views: list[str] = field(default_factory=list)  # session-scoped names, not catalog tables
    error: str | None = None


def _protect(sql: str) -> tuple[str, dict[str, str]]:
    saved: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        if m.group(0).startswith(("{%", "{#")):
            return " "
        key = f"__jinja{len(saved)}__"
        saved[key] = m.group(0)
        return key

    text = _JINJA.sub(sub, sql)

    def sub_fmt(m: re.Match[str]) -> str:  # python-format leftovers {db}.{table}, template ${table}
        key = f"__fmt{len(saved)}__"
        saved[key] = "{" + m.group(1) + "}"
        return key

    return _FMT_PLACEHOLDER.sub(sub_fmt, text), saved


def _restore(text: str, saved: dict[str, str]) -> str:
    for key, value in saved.items():
        text = text.replace(key, value)
    return text


def _name(table: exp.Table, saved: dict[str, str]) -> str:
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    return _restore(".".join(parts), saved)


def sql_tables(sql: str, dialect: str | None = None) -> SqlTables:
    """Parse ``sql`` (one or more statements) and list the tables it reads and writes."""
    result = SqlTables()
    protected, saved = _protect(sql)
    for m in _COPY.finditer(protected):
        result.writes.append(_restore(m.group(1).replace('"', ""), saved))
        result.s3_reads.append(_restore(m.group(2), saved))
    for m in _UNLOAD.finditer(protected):
        result.s3_writes.append(_restore(m.group(1), saved))
        inner = _UNLOAD_FROM.search(m.group(0))
        if inner:
            result.reads.append(_restore(inner.group(1).replace('"', ""), saved))
    for m in _DIRECTORY.finditer(protected):  # Spark/Hive: INSERT OVERWRITE DIRECTORY '/path' ...
        result.s3_writes.append(_restore(m.group(1), saved))
        inner = re.search(r"\bFROM\s+([\w.`\"]+)", protected[m.end():].split(";")[0], re.I)
        if inner:
            result.reads.append(_restore(inner.group(1).strip('`"'), saved))
    body = ";".join(c for c in protected.split(";")
                    if not (_COPY.search(c) or _UNLOAD.search(c) or _DIRECTORY.search(c)))
    if not body.strip().strip(";").strip():
        return result
    statements = None
    for d in ([dialect] if dialect else []) + [x for x in _DIALECTS if x != dialect]:
        try:
            statements = sqlglot.parse(body, read=d, error_level=sqlglot.ErrorLevel.RAISE)
            break
        except Exception as err:  # sqlglot raises ParseError/TokenError and friends
            result.error = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    if statements is None:
        return result
    result.error = None
    for stmt in statements:
        if stmt is not None:
            _statement(stmt, result, saved)
    temps = {t.lower() for t in result.temp_views}
    result.reads = [t for t in dict.fromkeys(result.reads) if t.lower() not in temps]
    result.writes = [t for t in dict.fromkeys(result.writes) if t.lower() not in temps]
    return result


def _is_temporary(stmt: exp.Create) -> bool:
    props = stmt.args.get("properties")
    return bool(props and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions))


def _statement(stmt: exp.Expression, result: SqlTables, saved: dict[str, str]) -> None:
    ctes = {c.alias_or_name for c in stmt.find_all(exp.CTE)}
    written: list[exp.Table] = []
    target = None
    kind = str(stmt.args.get("kind") or "").upper()
    if isinstance(stmt, exp.Create) and kind in _NOT_TABLES:
        return
    if isinstance(stmt, exp.Create) and kind == "VIEW" and _is_temporary(stmt):
        if isinstance(stmt.this, exp.Table):  # a session view: its name is no catalog table
            result.temp_views.append(_name(stmt.this, saved))
            written.append(stmt.this)
    elif isinstance(stmt, (exp.Insert, exp.Create, exp.Merge, exp.LoadData)):
        target = stmt.this
        if isinstance(target, exp.Schema):
            target = target.this
        if isinstance(stmt, exp.LoadData) and isinstance(stmt.args.get("inpath"), exp.Literal):
            result.s3_reads.append(_restore(stmt.args["inpath"].name, saved))
    elif isinstance(stmt, (exp.Update, exp.Delete, exp.Alter, exp.Drop, exp.TruncateTable)):
        if isinstance(stmt, exp.Drop) and kind not in ("TABLE", "VIEW", ""):
            return
        if isinstance(stmt, exp.Drop):  # DROP TABLE a, b: every one is changed
            for t in stmt.args.get("tables") or ([stmt.this] if isinstance(stmt.this, exp.Table) else []):
                if isinstance(t, exp.Table):
                    written.append(t)
                    result.writes.append(_name(t, saved))
        else:
            target = stmt.this if not isinstance(stmt, exp.TruncateTable) else (stmt.expressions or [None])[0]
        for action in stmt.args.get("actions") or []:
            if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
                written.append(action.this)
                result.writes.append(_name(action.this, saved))
    if isinstance(target, exp.Table):
        written.append(target)
        result.writes.append(_name(target, saved))
        loc = stmt.find(exp.LocationProperty)
        if loc is not None:
            value = loc.this.name if isinstance(loc.this, exp.Literal) else loc.this.sql()
            result.locations[_name(target, saved)] = _restore(value, saved)
    written_ids = {id(t) for t in written}
    for table in stmt.find_all(exp.Table):
        if id(table) in written_ids or not table.name or table.name in ctes:
            continue
        if table.db.lower() in _PATH_FORMATS and "/" in table.name:  # delta.`s3://...`
            result.s3_reads.append(_restore(table.name, saved))
            continue
        result.reads.append(_name(table, saved))
    if isinstance(stmt, exp.Update):
        result.reads = [r for r in result.reads if r not in result.writes]
    for where in stmt.find_all(exp.Where):
        result.operations.append(("filter", _restore(where.this.sql()[:100], saved)))
    for join in stmt.find_all(exp.Join):
        on = join.args.get("on")
        result.operations.append(("join", _restore(on.sql()[:100], saved) if on else join.this.sql()[:60]))
    for group in stmt.find_all(exp.Group):
        result.operations.append(("aggregate", _restore(group.sql()[:100], saved)))
    if stmt.find(exp.Window):
        result.operations.append(("window", ""))
    if isinstance(stmt, exp.Merge):
        result.operations.append(("merge", _name(target, saved) if isinstance(target, exp.Table) else ""))
