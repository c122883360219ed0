"""The LLM client: OpenAI or any OpenAI-compatible endpoint, the only importer of ``openai``.

Chat Completions is the baseline. Structured output (a JSON schema with ``code`` and
``explanation``) is used only when the endpoint supports it: with ``structured="auto"`` the
first refusal (HTTP 400, 422 or 500 naming ``response_format``) switches it off for the
client's life, and
answers are then taken from fenced code blocks (:mod:`spark_lester.rewrite.extract`).

Throttling (429) and server errors (5xx), timeouts and dropped connections are retried a
bounded number of times, honouring ``Retry-After``; everything else fails at once with an
:class:`~spark_lester.errors.LLMError` whose ``retryable`` says whether trying later can help.
Tokens and cost are accounted per client (one client per rewrite).

The API key is read where it is used (``OPENAI_API_KEY``, else ``SPARK_LESTER_LLM_API_KEY``),
kept out of ``repr`` and never logged.

>>> settings = LLMSettings.from_env({"SPARK_LESTER_LLM_MODEL": "gpt-4o-mini",
...                                  "SPARK_LESTER_LLM_BASE_URL": "http://127.0.0.1:9/v1"})
>>> settings.model, settings.base_url, settings.max_retries
('gpt-4o-mini', 'http://127.0.0.1:9/v1', 3)
>>> Usage(prompt_tokens=1000, completion_tokens=500).cost(input_per_mtok=2.0, output_per_mtok=8.0)
0.006
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from spark_lester import retry
from spark_lester.errors import ConfigError, LLMError, TerminalLLMError, TransientLLMError, variant
from spark_lester.rewrite.redact import redact, register

log = logging.getLogger(__name__)

ENV_PREFIX = "SPARK_LESTER_LLM_"
STRUCTURED_MODES = ("auto", "on", "off")
#: The JSON schema of a structured answer.
ANSWER_SCHEMA: dict[str, Any] = {
    "name": "rewrite",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "explanation": {"type": "string"}},
        "required": ["code", "explanation"],
        "additionalProperties": False,
    },
}


@dataclass(frozen=True)
class LLMSettings:
    """Where and how to call the model. No secret is stored here.

    ``base_url`` None means OpenAI itself. Costs are USD per million tokens (0: unknown).
    """

    model: str = "gpt-4o-mini"
    base_url: str | None = None
    timeout_s: float = 120.0
    max_retries: int = 3
    max_backoff_s: float = 30.0
    temperature: float = 0.0
    max_tokens: int = 4096
    structured: str = "auto"
    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0

    def __post_init__(self) -> None:
        if self.structured not in STRUCTURED_MODES:
            raise ConfigError(f"structured={self.structured!r} is not one of "
                              f"{', '.join(STRUCTURED_MODES)}.")
        if self.max_retries < 0 or self.timeout_s <= 0:
            raise ConfigError("max_retries must be >= 0 and timeout_s > 0.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object
                 ) -> LLMSettings:
        """Read ``SPARK_LESTER_LLM_<FIELD>`` variables; keyword overrides (not None) win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, typ in (("model", str), ("base_url", str), ("timeout_s", float),
                          ("max_retries", int), ("max_backoff_s", float),
                          ("temperature", float), ("max_tokens", int), ("structured", str),
                          ("input_per_mtok", float), ("output_per_mtok", float)):
            raw = env.get(ENV_PREFIX + name.upper())
            if raw:
                try:
                    values[name] = typ(raw)
                except ValueError:
                    raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a "
                                      f"{typ.__name__}.") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


@dataclass
class Usage:
    """Token accounting of one rewrite (all its calls, retries included)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    retries: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def cost(self, *, input_per_mtok: float, output_per_mtok: float) -> float:
        return round((self.prompt_tokens * input_per_mtok
                      + self.completion_tokens * output_per_mtok) / 1e6, 8)

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "total_tokens": self.total_tokens}


@dataclass(frozen=True)
class Completion:
    """One answer: its text, the structured payload when one was returned, and why it ended."""

    text: str
    finish_reason: str | None
    structured: dict[str, Any] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


def api_key(environ: Mapping[str, str] | None = None) -> str | None:
    """The API key from ``OPENAI_API_KEY`` or ``SPARK_LESTER_LLM_API_KEY`` (None if unset)."""
    env = os.environ if environ is None else environ
    return env.get("OPENAI_API_KEY") or env.get(ENV_PREFIX + "API_KEY") or None


@dataclass
class LLMClient:
    """Chat Completions with bounded retries and token accounting.

    ``sleep`` is injectable so tests of the retry policy take no wall-clock time.
    """

    settings: LLMSettings
    key: str | None = field(default=None, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    usage: Usage = field(default_factory=Usage)
    _structured_ok: bool | None = field(default=None, repr=False)
    _client: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.settings.structured == "off":
            self._structured_ok = False

    def _openai(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError:
                raise TerminalLLMError("the openai package is not installed.",
                               hint="pip install 'spark_lester[rewrite]'") from None
            key = self.key or api_key()
            register(key)  # never echoed back to the model, a report or a log
            if not key:
                if self.settings.base_url is None:
                    raise TerminalLLMError("no API key: set OPENAI_API_KEY.")
                key = "unused"  # local OpenAI-compatible servers often need none
            self._client = openai.OpenAI(api_key=key, base_url=self.settings.base_url,
                                         timeout=self.settings.timeout_s, max_retries=0)
        return self._client

    def models(self) -> list[str]:
        """The model ids the endpoint lists (``GET /models``)."""
        return [m.id for m in self._call(lambda c: c.models.list()).data]

    def complete(self, messages: Sequence[Mapping[str, str]]) -> Completion:
        """Send ``messages``; structured output when the endpoint supports it."""
        want_structured = self._structured_ok is not False
        if want_structured:
            try:
                return self._complete(messages, structured=True)
            except LLMError as err:
                if self.settings.structured == "auto" and _names_response_format(err.status, err):
                    log.info("endpoint refuses structured output; using fenced code")
                    self._structured_ok = False
                else:
                    raise
        return self._complete(messages, structured=False)

    def _complete(self, messages: Sequence[Mapping[str, str]], *, structured: bool
                  ) -> Completion:
        kwargs: dict[str, Any] = {
            "model": self.settings.model,
            # A failure fed back to the model quotes what a sandboxed program printed:
            # the last line that keeps a secret out of the prompt (see rewrite.redact).
            "messages": [{**m, "content": redact(str(m.get("content", "")))}
                         for m in messages],
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }
        if structured:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": ANSWER_SCHEMA}
        response = self._call(lambda c: c.chat.completions.create(**kwargs),
                              structured=structured)
        if structured:
            self._structured_ok = True
        choice = response.choices[0] if response.choices else None
        if choice is None:
            raise TransientLLMError("the endpoint returned no choices.")
        text = choice.message.content or ""
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        self.usage.prompt_tokens += prompt
        self.usage.completion_tokens += completion
        payload = None
        if structured and choice.finish_reason != "length":
            import json

            try:
                loaded = json.loads(text)
                payload = loaded if isinstance(loaded, dict) else None
            except json.JSONDecodeError:
                payload = None
        return Completion(text=text, finish_reason=choice.finish_reason, structured=payload,
                          prompt_tokens=prompt, completion_tokens=completion)

    def _call(self, fn: Callable[[Any], Any], *, structured: bool = False) -> Any:
        import openai

        client = self._openai()
        attempt = 0
        while True:
            self.usage.calls += 1
            try:
                return fn(client)
            except openai.APIStatusError as exc:
                status = exc.status_code
                # a refusal of structured output is not retried: it is asked again plainly
                transient = retry.http_status(status) and not (
                    structured and _names_response_format(status, exc))
                err = variant(LLMError, transient=transient)(
                    f"endpoint answered HTTP {status}: {_short(exc)}", status=status,
                    hint=_hint_for(status))
                wait = _retry_after(exc.response)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                err = TransientLLMError(
                    f"endpoint unreachable or too slow: {type(exc).__name__}.",
                               hint="Check --base-url, or raise SPARK_LESTER_LLM_TIMEOUT_S.")
                wait = None
            if not err.retryable or attempt >= self.settings.max_retries:
                raise err from None
            attempt += 1
            self.usage.retries += 1
            delay = wait if wait is not None else min(2.0 ** attempt, self.settings.max_backoff_s)
            self.sleep(min(delay, self.settings.max_backoff_s))


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "retry-after"):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            return None
        return value / 1000.0 if name.endswith("-ms") else value
    return None


def _short(exc: Exception) -> str:
    # The SDK's message carries the response body; never the request headers or key.
    text = str(getattr(exc, "message", "") or exc)
    return text[:300]


def _hint_for(status: int) -> str | None:
    if status == 401:
        return "Check OPENAI_API_KEY (the key itself is never printed)."
    if status == 404:
        return "Check --model and --base-url (GET /v1/models lists what is served)."
    if retry.http_status(status):
        return "The endpoint is throttled or failing; try again later."
    return None


def _names_response_format(status: int | None, error: Any) -> bool:
    """A refusal of ``response_format``: 400/422 from OpenAI-like servers, 500 from
    llama-cpp-python's, which answers a ``json_schema`` type with a validation error."""
    return status in (400, 422, 500) and "response_format" in str(error)

