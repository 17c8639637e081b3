"""TEST DOUBLE of an LLM server's Messages API — stands in for a TGI server, which needs a GPU.

It is a real HTTP server on 127.0.0.1 (random free port, background thread), so the
code under test goes through its real HTTP stack: `huggingface_hub`, `httpx2`, sockets,
SSE parsing, timeouts. It speaks the part of TGI's OpenAI-compatible API that Dirigent
uses:

    POST /v1/chat/completions   JSON answer, or SSE when `"stream": true`
                                (content chunks, a usage chunk when asked for with
                                `stream_options.include_usage`, then `data: [DONE]`)
    GET  /health                200 when up
    GET  /info                  TGI's model description
    GET  /stats                 {"connections": accepted TCP connections, "requests": chat requests}

Tests script the next answers (`reply(...)`, `script(...)` or `respond_with(fn)`) and read
what was sent (`requests`, `last_request`, `headers`). Like vLLM started with `--api-key`, the
double can require a key (`MessagesApiDouble(api_key=...)`): a chat request without
`Authorization: Bearer <key>` gets 401 and is counted in `refused`, not in `requests`::

    messages_api.reply("Paris.", usage={"prompt_tokens": 9, "completion_tokens": 2})
    ... run the node ...
    assert messages_api.last_request["temperature"] == 0.2

An answer may ask for tools instead (OpenAI's format, as TGI and vLLM send it; streamed,
the call's arguments come in pieces): `Reply(tool_calls=[tool_call("search", {"query":
"Urlaub"})])`. `script(first, second, ...)` answers the next requests in that order::

    messages_api.script(Reply(tool_calls=[tool_call("search", {"query": "Urlaub"})]), "30 Tage.")

Like TGI, it sends with TCP_NODELAY: each streamed chunk leaves at once. (Without it the
first chunk after the headers waits for the client's delayed ACK, ≈ 40 ms on a reused
connection, and every latency measured against the double would be that.) `connections`
counts the TCP connections it accepted, so tests can see whether clients reuse them.

`python -m tests.support.messages_api_double [--port N] [--chunks K] [--chunk-delay-ms D]`
serves it on its own (for `bench/stream.py`) until SIGTERM; it prints its URL first.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_USAGE = {"prompt_tokens": 12, "completion_tokens": 7}


@dataclass
class Reply:
    """One scripted answer of the double.

    Attributes:
        text: the assistant's answer.
        usage: token counts to report; None sends no usage at all (some servers don't).
        status: HTTP status; anything but 200 answers with TGI's error body instead.
        error: the error message of a non-200 answer.
        delay_s: seconds to wait before answering (to provoke client timeouts).
        chunk_delay_s: seconds between streamed chunks (a slowly trickling stream).
        chunks: the streamed pieces (their concatenation is then the whole answer, streamed
            or not); default: `text` cut after each space.
        finish_reason: reported with the last chunk / in the JSON answer ("tool_calls"
            when the reply asks for tools and says nothing else).
        tool_calls: tools the model asks to call (`tool_call(...)`), OpenAI's format.
    """

    text: str = "Hello from the Messages API double."
    usage: dict[str, int] | None = field(default_factory=lambda: dict(DEFAULT_USAGE))
    status: int = 200
    error: str = "the double was told to fail"
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    chunks: list[str] | None = None
    finish_reason: str = "stop"
    tool_calls: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.tool_calls and self.finish_reason == "stop":
            self.finish_reason = "tool_calls"
        if self.tool_calls and self.text == Reply.text and self.chunks is None:
            self.text = ""  # a tool call says nothing unless told to

    @property
    def content(self) -> str:
        return "".join(self.chunks) if self.chunks is not None else self.text

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        words = self.text.split(" ")
        return [word + " " for word in words[:-1]] + [words[-1]] if self.text else []


Responder = Callable[[dict[str, Any]], "Reply | str"]


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str | None = None) -> dict[str, Any]:
    """A tool call of a scripted reply, in OpenAI's format (arguments as a JSON text)."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {
        "id": call_id or f"call_{name}_{next(_call_numbers)}",
        "type": "function",
        "function": {"name": name, "arguments": text},
    }


_call_numbers = itertools.count(1)


class MessagesApiDouble:
    """TEST DOUBLE standing in for a TGI server (see the module docstring)."""

    def __init__(
        self, model_id: str = "double/tiny-chat", *, api_key: str | None = None, keep_requests: bool = True
    ) -> None:
        self.model_id = model_id
        self.api_key = api_key
        self.keep_requests = keep_requests  # False: only count them (`served`)
        self.served = 0  # chat requests answered (or about to be)
        self.refused = 0  # chat requests refused for a missing or wrong key
        self.connections = 0  # TCP connections accepted
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._responder: Responder = lambda body: Reply()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ----------------------------------------------------------------
    def reply(self, text: str | Reply = Reply.text, **options: Any) -> None:
        """Answer every following request with `Reply(text, **options)` (or that `Reply`)."""
        scripted = text if isinstance(text, Reply) else Reply(text, **options)
        self._responder = lambda body: scripted

    def script(self, *replies: Reply | str) -> None:
        """Answer the next requests with `replies`, in order; once they are used up, every
        further request gets HTTP 500 (a loop that asks once too often fails visibly)."""
        queue = list(replies)
        lock = threading.Lock()

        def next_reply(body: dict[str, Any]) -> Reply | str:
            with lock:
                if queue:
                    return queue.pop(0)
            return Reply(status=500, error="the script of the Messages API double has no more answers")

        self._responder = next_reply

    def respond_with(self, responder: Responder) -> None:
        """Answer with `responder(request body)`: a `Reply`, or just the text."""
        self._responder = responder

    @property
    def last_request(self) -> dict[str, Any]:
        assert self.requests, "the double has received no chat request"
        return self.requests[-1]

    # -- lifecycle ----------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "the double is not started"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self, port: int = 0) -> MessagesApiDouble:
        handler = type("Handler", (_Handler,), {"double": self})
        self._server = _Server(("127.0.0.1", port), handler)
        self._server.double = self
        self._thread = threading.Thread(
            # A short poll keeps stop() (which waits for the loop to notice) fast.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="messages-api-double",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that sit in a scripted delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MessagesApiDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- used by the handler --------------------------------------------------------
    def _answer_for(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.served += 1
            if self.keep_requests:
                self.requests.append(body)
                self.headers.append(headers)
        answer = self._responder(body)
        return Reply(answer) if isinstance(answer, str) else answer

    def _sleep(self, seconds: float) -> bool:
        """Wait `seconds`; False when the double is stopping meanwhile."""
        return seconds <= 0 or not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in a scripted delay must not block stop()
    request_queue_size = 128  # socketserver's default of 5 resets bursts of connections
    double: MessagesApiDouble

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as TGI (see above)
        with self.double._lock:
            self.double.connections += 1
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up mid-answer on purpose (timeouts, closing pooled connections).
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    double: MessagesApiDouble
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as TGI does

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        if self.path == "/health":
            self._send_json(200, None)
        elif self.path == "/stats":
            with self.double._lock:
                stats = {"connections": self.double.connections, "requests": self.double.served}
            self._send_json(200, stats)
        elif self.path == "/info":
            self._send_json(
                200,
                {
                    "model_id": self.double.model_id,
                    "version": "double",
                    "max_input_tokens": 4096,
                    "max_total_tokens": 8192,
                },
            )
        else:
            self._send_json(404, {"error": f"no route {self.path}", "error_type": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/v1/chat/completions":
            self._send_json(404, {"error": f"no route {self.path}", "error_type": "not_found"})
            return
        wanted = self.double.api_key
        if wanted is not None and self.headers.get("authorization") != f"Bearer {wanted}":
            with self.double._lock:
                self.double.refused += 1
            self._send_json(401, {"error": "invalid API key", "error_type": "authentication"})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_json(422, {"error": "body is not JSON", "error_type": "validation"})
            return
        reply = self.double._answer_for(body, {k.lower(): v for k, v in self.headers.items()})
        if not self.double._sleep(reply.delay_s):
            return
        if reply.status != 200:
            kind = {422: "validation", 429: "overloaded"}.get(reply.status, "generation")
            self._send_json(reply.status, {"error": reply.error, "error_type": kind})
        elif body.get("stream"):
            self._stream(body, reply)
        else:
            self._send_json(200, self._completion(body, reply))

    # -- answers in TGI's shapes -----------------------------------------------------
    def _envelope(self, body: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "id": "",
            "object": kind,
            "created": int(time.time()),
            "model": body.get("model") or self.double.model_id,
            "system_fingerprint": "double-native",
        }

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["content"] = reply.content or None
            message["tool_calls"] = reply.tool_calls
        return {
            **self._envelope(body, "chat.completion"),
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}
            ],
            **({"usage": _with_total(reply.usage)} if reply.usage is not None else {}),
        }

    def _stream(self, body: dict[str, Any], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        pieces = reply.pieces()
        for index, piece in enumerate(pieces):
            if index and not self.double._sleep(reply.chunk_delay_s):
                return
            last = index == len(pieces) - 1 and not reply.tool_calls
            self._event(
                {
                    **self._envelope(body, "chat.completion.chunk"),
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": piece},
                            "logprobs": None,
                            "finish_reason": reply.finish_reason if last else None,
                        }
                    ],
                    "usage": None,
                }
            )
        for delta, last in _tool_call_deltas(reply.tool_calls or []):
            self._event(
                {
                    **self._envelope(body, "chat.completion.chunk"),
                    "choices": [
                        {
                            "index": 0,
                            "delta": {"role": "assistant", "content": None, "tool_calls": [delta]},
                            "logprobs": None,
                            "finish_reason": reply.finish_reason if last else None,
                        }
                    ],
                    "usage": None,
                }
            )
        wants_usage = (body.get("stream_options") or {}).get("include_usage")
        if wants_usage and reply.usage is not None:
            self._event(
                {
                    **self._envelope(body, "chat.completion.chunk"),
                    "choices": [],
                    "usage": _with_total(reply.usage),
                }
            )
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")  # end of the chunked body

    def _event(self, payload: dict[str, Any]) -> None:
        self._chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _chunk(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the client gave up (e.g. its timeout)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _send_json(self, status: int, payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up already
            self.wfile.write(data)


def _tool_call_deltas(calls: list[dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]:
    """Streamed pieces of tool calls, as OpenAI sends them: per call, its id and name with
    the first half of the arguments, then the rest; (delta, whether it is the last piece)."""
    deltas: list[dict[str, Any]] = []
    for index, call in enumerate(calls):
        function = call.get("function") or {}
        arguments = str(function.get("arguments") or "")
        half = len(arguments) // 2
        deltas.append(
            {
                "index": index,
                "id": call.get("id"),
                "type": "function",
                "function": {"name": function.get("name"), "arguments": arguments[:half]},
            }
        )
        deltas.append({"index": index, "function": {"arguments": arguments[half:]}})
    return [(delta, number == len(deltas) - 1) for number, delta in enumerate(deltas)]


def _with_total(usage: dict[str, int]) -> dict[str, int]:
    return {**usage, "total_tokens": sum(usage.get(k, 0) for k in ("prompt_tokens", "completion_tokens"))}


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> None:
    """Serve the double until SIGTERM/SIGINT; the first line printed is its URL."""
    parser = argparse.ArgumentParser(description="TEST DOUBLE of an LLM server's Messages API")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=8, help="streamed pieces per answer (8)")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="between pieces (0)")
    args = parser.parse_args(argv)
    double = MessagesApiDouble(keep_requests=False)  # a long bench must not grow memory
    pieces = [f"word{i} " for i in range(args.chunks)]
    double.reply(Reply(chunks=pieces, chunk_delay_s=args.chunk_delay_ms / 1e3))
    double.start(args.port)
    print(double.url, flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    double.stop()


if __name__ == "__main__":
    main()
