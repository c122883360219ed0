"""An OpenAI-compatible fake server on loopback, for tests and for trying the CLI offline.

It serves ``GET /v1/models`` and ``POST /v1/chat/completions``. Each chat request consumes the
next :class:`Step` of a script; a step is either an answer or an injected fault:

=============  ===========================================================================
``fault``      effect
=============  ===========================================================================
(none)         200 with ``content`` as the assistant message
``429``        429 with ``Retry-After: retry_after`` (then the script moves on)
``500``        500 with an error body
``slow``       sleeps ``delay`` seconds, then answers ``content``
``truncated``  answers the first half of ``content`` with ``finish_reason="length"``
=============  ===========================================================================

Content faults (no code fence, syntax errors, wrong API use) are just scripted answers.
When the script is exhausted the last answer is repeated. ``structured=True`` makes the
server honour ``response_format`` (the answer becomes ``{"code": ..., "explanation": ...}``
with the first fenced block as code); otherwise such requests get a 400, like endpoints
without structured output. Requests are recorded (without headers, so no key is kept).

>>> with FakeServer([Step(content="```python\\nx = 1\\n```")]) as server:
...     import json, urllib.request
...     body = json.dumps({"model": "fake", "messages": [{"role": "user", "content": "hi"}]})
...     req = urllib.request.Request(server.base_url + "/chat/completions", body.encode(),
...                                  {"Content-Type": "application/json"})
...     answer = json.load(urllib.request.urlopen(req))
>>> answer["choices"][0]["message"]["content"]
'```python\\nx = 1\\n```'

Run it standalone with a JSON script (a list of step objects)::

    python -m spark_lester.rewrite.fake_server --script steps.json --port 8765
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("429", "500", "slow", "truncated")


@dataclass(frozen=True)
class Step:
    """One scripted response (see the module table)."""

    content: str = ""
    fault: str | None = None
    retry_after: float = 0.0
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; use one of {', '.join(FAULTS)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(**{k: data[k] for k in ("content", "fault", "retry_after", "delay")
                      if k in data})


@dataclass
class FakeServer:
    """The server; use as a context manager. ``base_url`` ends in ``/v1``."""

    steps: Sequence[Step]
    model: str = "fake-model"
    structured: bool = False
    #: The status a refused ``response_format`` gets: 400 (OpenAI-like), or 500 as
    #: llama-cpp-python's server answers a ``json_schema`` it does not know.
    refusal_status: int = 400
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    _index: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _httpd: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> FakeServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_step(self) -> Step:
        with self._lock:
            if not self.steps:
                return Step(content="")
            step = self.steps[min(self._index, len(self.steps) - 1)]
            self._index += 1
            return step

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r.get("path", "").endswith("/chat/completions")]


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _first_block(text: str) -> str:
    match = re.search(r"```[a-zA-Z0-9_+-]*\n(.*?)```", text, re.S)
    return match.group(1) if match else text


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: dict[str, Any],
                  headers: Iterable[tuple[str, str]] = ()) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            server.requests.append({"path": self.path, "method": "GET"})
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [
                    {"id": server.model, "object": "model", "created": 0, "owned_by": "fake"}]})
            else:
                self._send(404, {"error": {"message": "not found", "type": "not_found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "invalid JSON", "type": "invalid"}})
                return
            server.requests.append({"path": self.path, "method": "POST", "body": body,
                                    "auth_present": bool(self.headers.get("Authorization"))})
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found", "type": "not_found"}})
                return
            if "response_format" in body and not server.structured:
                self._send(server.refusal_status, {"error": {
                    "message": "response_format is not supported",
                    "type": "invalid_request_error"}})
                return
            step = server.next_step()
            if step.fault == "429":
                self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                           [("Retry-After", str(step.retry_after))])
                return
            if step.fault == "500":
                self._send(500, {"error": {"message": "internal error", "type": "server"}})
                return
            if step.fault == "slow":
                time.sleep(step.delay)
            content, finish = step.content, "stop"
            if step.fault == "truncated":
                content, finish = content[: len(content) // 2], "length"
            if "response_format" in body and finish == "stop":
                content = json.dumps({"code": _first_block(content), "explanation": ""})
            prompt = "".join(str(m.get("content", "")) for m in body.get("messages", []))
            self._send(200, {
                "id": f"chatcmpl-fake-{len(server.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", server.model),
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": _tokens(prompt),
                          "completion_tokens": _tokens(content),
                          "total_tokens": _tokens(prompt) + _tokens(content)},
            })

    return Handler


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", required=True, help="JSON file: a list of step objects")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--structured", action="store_true")
    args = parser.parse_args(argv)
    with open(args.script, encoding="utf-8") as fh:
        steps = [Step.from_dict(s) for s in json.load(fh)]
    server = FakeServer(steps, model=args.model, structured=args.structured, port=args.port)
    server.start()
    print(f"fake OpenAI server on {server.base_url} ({len(steps)} steps); Ctrl-C stops it",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    main()

__all__ = ["FAULTS", "FakeServer", "Step", "asdict"]
