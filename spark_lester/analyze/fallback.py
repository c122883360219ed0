"""A token pass over a file the parsers could not read: URIs and table names, low confidence.

When a Python file does not parse (a half-written DAG, Python 2 syntax), or an extractor
fails on it, the analyzer still reports what the text plainly names: storage URIs
(``s3://``, ``hdfs://``, ``jdbc:``...) and qualified table names after SQL keywords or in
``saveAsTable``/``table`` calls. Every such location carries ``confidence="low"``; its role
comes from the words around it (a shell copy's last location is written, a name such as
``output_path`` says which way data flows), else ``input``.

>>> src = 'with DAG("x") as dag\\n    t = BashOperator(bash_command="aws s3 cp s3://raw/a s3://tmp/a")\\n'
>>> [(l.role, l.uri, l.confidence) for l in fallback(src, "dags/x.py")[0].locations]
[('input', 's3://raw/a', 'low'), ('output', 's3://tmp/a', 'low')]
"""

from __future__ import annotations

import re

from spark_lester.analyze._private import Findings, finalize_roles, role_from_name
from spark_lester.analyze.locations import table_uri
from spark_lester.analyze.pipeline import Pipeline

#: A URI as written in code; Jinja ``{{ ... }}`` may hold spaces, nothing else may.
_URI = re.compile(r"""(?:\b(?:s3[an]?|hdfs|gs|abfss?|wasbs?)://|\bjdbc:[a-z]+:)(?:\{\{[^}]*\}\}|[^\s'"`,;()\[\]<>\\])+""",
                  re.I)
_IMPORT = re.compile(r"^\s*(from\s+\S+\s+import|import)\s")
_TABLE_IN = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_]\w*\.[A-Za-z_]\w*)\b(?!\s*\()", re.I)
_TABLE_OUT = re.compile(
    r"\b(?:INSERT\s+(?:INTO|OVERWRITE)(?:\s+TABLE)?|CREATE\s+(?:OR\s+REPLACE\s+)?(?:EXTERNAL\s+)?TABLE"
    r"(?:\s+IF\s+NOT\s+EXISTS)?|MERGE\s+INTO)\s+([A-Za-z_]\w*\.[A-Za-z_]\w*)\b", re.I)
_TABLE_CALL = re.compile(r"""\.(saveAsTable|insertInto|toTable|table)\(\s*['"]([A-Za-z_]\w*\.[A-Za-z_]\w*)['"]""")
_ASSIGNED = re.compile(r"""(?:^|[\s,(])["']?([A-Za-z_][\w-]*)["']?\s*[=:]\s*[rfb]*["']?[^=]*$""")
_OUT_HINT = re.compile(r"\b(write|save|to_csv|to_parquet|put_object|upload_file|insertInto|saveAsTable)\b")
_SCRIPT = re.compile(r"\.(py|jar|sh|scala)$", re.I)
#: Confidence given to everything this pass finds.
LOW = "low"


def fallback(text: str, file: str) -> list[Pipeline]:
    """One ``python``/``sql`` pipeline with the URIs and tables ``text`` names; [] if none."""
    f = Findings()
    for lineno, line in enumerate(text.splitlines(), 1):
        if _IMPORT.match(line):
            continue
        uris = [m.group(0).rstrip(".") for m in _URI.finditer(line)]
        if len(uris) >= 2 and re.search(r"\b(cp|sync|mv|distcp|s3-dist-cp)\b", line):
            for i, uri in enumerate(uris):  # source ... destination
                f.add("output" if i == len(uris) - 1 else "input", uri, lineno, "token fallback", LOW)
        else:
            for uri in uris:
                f.add(_role(line, uri), uri, lineno, "token fallback", LOW)
        for m in _TABLE_IN.finditer(line):
            f.add("input", table_uri("glue", m.group(1)), lineno, "token fallback", LOW)
        for m in _TABLE_OUT.finditer(line):
            f.add("output", table_uri("glue", m.group(1)), lineno, "token fallback", LOW)
        for m in _TABLE_CALL.finditer(line):
            role = "input" if m.group(1) == "table" else "output"
            f.add(role, table_uri("glue", m.group(2)), lineno, "token fallback", LOW)
    if not f.locations:
        return []
    kind = "sql" if file.lower().endswith(".sql") else "python"
    p = Pipeline(file, kind, locations=finalize_roles(f.locations))
    p.config["analysis"] = "token fallback (the file could not be analyzed in full)"
    return [p]


def _role(line: str, uri: str) -> str:
    if _SCRIPT.search(uri.split("?")[0]):
        return "code"
    before = line[: line.find(uri)]
    m = _ASSIGNED.search(before)
    if m:
        role = role_from_name(m.group(1), "")
        if role:
            return role
    return "output" if _OUT_HINT.search(before) else "input"
