"""Taking the program out of an LLM answer: the structured payload, else a fenced block.

The answer must hold the whole module: exactly one fenced block, or several of which the
one defining the stage's entry point (``prepare``, ``encoder``, ``model``) is taken. A fence
that is opened but never closed means the answer was cut off.

>>> extract_code("Here it is:\\n```python\\ndef prepare(mails):\\n    return mails\\n```\\n")
'def prepare(mails):\\n    return mails\\n'
>>> extract_code("no code here")
Traceback (most recent call last):
...
spark_lester.errors.ExtractionError: extract: the answer has no fenced code block. Answer with the whole module in one ```python fenced block.
"""

from __future__ import annotations

import re
from typing import Any

from spark_lester.errors import ExtractionError

_FENCE = re.compile(r"^```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def extract_code(text: str, structured: dict[str, Any] | None = None, *,
                 entry_point: str | None = None, truncated: bool = False) -> str:
    """The program in an answer (see module doc)."""
    if structured is not None and isinstance(structured.get("code"), str):
        code = structured["code"]
        inner = _FENCE.search(code)
        return inner.group(2) if inner else code
    if truncated:
        raise ExtractionError("the answer was cut off (finish_reason=length).")
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text)]
    if not blocks:
        if text.count("```") % 2 == 1:
            raise ExtractionError("the answer opens a code fence but never closes it; "
                                  "it was probably cut off.")
        raise ExtractionError("the answer has no fenced code block.")
    python = [b for lang, b in blocks if lang in ("python", "py", "python3", "")]
    candidates = python or [b for _, b in blocks]
    if entry_point is not None:
        defining = [b for b in candidates if re.search(rf"^def {entry_point}\b", b, re.M)]
        if defining:
            candidates = defining
    return max(candidates, key=len)
