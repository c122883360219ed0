"""Building the messages for a rewrite stage from its prompt file.

One template per stage lives in ``<stage>.md`` beside this module (package data) with ``$name``
placeholders; :func:`render` fills them and refuses a missing value.

>>> "$output_columns" in template("prepare")
True
>>> render("feedback", failure="Validation failed at stage 'parse'")[:35]
'Your rewrite was executed and rejec'
"""

from __future__ import annotations

from importlib import resources
from string import Template

from spark_lester.errors import RewriteError

PROMPT_STAGES = ("prepare", "encoder", "model", "feedback")
SYSTEM = ("You are a careful senior data engineer. You preserve the exact semantics of the "
          "code you rewrite and answer with code only, in one fenced block.")


def template(stage: str) -> str:
    """The raw text of ``<stage>.md`` beside this module."""
    if stage not in PROMPT_STAGES:
        raise RewriteError(f"no prompt for stage {stage!r}; stages: {', '.join(PROMPT_STAGES)}.")
    return resources.files(__name__).joinpath(f"{stage}.md").read_text(
        encoding="utf-8")


def render(stage: str, **values: str) -> str:
    """The prompt of ``stage`` with every placeholder filled."""
    try:
        return Template(template(stage)).substitute(values)
    except KeyError as exc:
        raise RewriteError(f"prompt {stage!r} needs a value for {exc.args[0]!r}.") from None
