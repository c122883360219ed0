"""Known secret values are removed from every text that leaves the sandbox or goes to the model.

The sandbox never sees the host's secrets (its environment is scrubbed and the parent is not
visible from inside), so this is the second line: whatever a sandboxed program printed, wrote
into an output row, or put in an exception message passes through :func:`redact` before it
reaches a report, a log line, the CLI's stderr or the next round's prompt.

Known secrets are the values of the host's environment variables whose names say they hold
one (``*_KEY``, ``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``, ``*CREDENTIAL*``, ``*_PAT``) and any
value registered with :func:`register` (the API key the LLM client was given). Values shorter
than 8 characters are not treated as secrets (they would redact ordinary words).

>>> register("sk-test-0123456789")
>>> redact("key=sk-test-0123456789, bye")
'key=[REDACTED], bye'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

#: Environment variable names whose values are secrets.
SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|_PAT)$|SECRET|TOKEN",
                         re.IGNORECASE)
MIN_LENGTH = 8
MARK = "[REDACTED]"
_registered: set[str] = set()


def register(*values: str | None) -> None:
    """Treat ``values`` as secrets from now on (None and short values are ignored)."""
    _registered.update(v for v in values if v and len(v) >= MIN_LENGTH)


def known_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Every known secret value, longest first."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_LENGTH}
    return sorted(values | _registered, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every known secret value replaced by ``[REDACTED]``."""
    if not text:
        return text
    for secret in known_secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, MARK)
    return text


def redact_tree(value: object) -> object:
    """:func:`redact` applied to every string in a JSON-like tree."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_tree(k): redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value
