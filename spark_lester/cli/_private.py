"""Helpers shared by subcommands."""

from __future__ import annotations

from spark_lester.errors import ConfigError


def parse_named_paths(values: list[str], flag: str) -> dict[str, str]:
    """``["a=x.csv", "b=y.csv"]`` -> ``{"a": "x.csv", "b": "y.csv"}``; typed errors for
    malformed or repeated names.

    >>> parse_named_paths(["mails=m.csv"], "--source")
    {'mails': 'm.csv'}
    """
    out: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"{flag} {value!r} is not NAME=PATH.")
        if name in out:
            raise ConfigError(f"{flag} {name} is given twice.")
        out[name] = path
    return out


def emit_json(payload: object, path: str | None) -> None:
    """Write ``payload`` as JSON to ``path`` (``-`` for stdout)."""
    import json
    import sys
    from pathlib import Path

    text = json.dumps(payload, indent=2, default=str)
    if path == "-":
        print(text)
    elif path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
        print(f"summary written to {path}", file=sys.stderr)
