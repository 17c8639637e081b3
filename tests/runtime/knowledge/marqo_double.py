"""TEST DOUBLE of a Marqo server's REST API — Marqo itself needs Docker and a large JVM.

A real HTTP server on 127.0.0.1 (free port, background thread), so the `marqo` client
under test goes through its real HTTP stack (requests, sockets, JSON, error mapping).
It speaks the part of Marqo 2's API that Dirigent uses and keeps documents in memory:

    GET    /                                   version (the client checks it)
    POST   /indexes/{name}                     create (409 when it exists)
    DELETE /indexes/{name}                     delete
    GET    /indexes/{name}/stats               numberOfDocuments, numberOfVectors
    POST   /indexes/{name}/documents           add/replace; per-item status, `errors`
    POST   /indexes/{name}/documents/delete-batch
    POST   /indexes/{name}/search              word-overlap ranking; applies the
                                               `labelset:(...)` OR-filter it is sent

Tests read `requests` (method, path, JSON body) to assert exactly what was sent, and can
make it refuse documents (`refuse_ids`), fail (`fail_with`) or stall (`delay_s`).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TERM = re.compile(r"labelset:\(((?:\\.|[^\\)])*)\)")


def parse_labelset_filter(condition: str) -> set[str]:
    """The labelset values of a `labelset:(a) OR labelset:(b\\-c)` filter, unescaped."""
    values = {re.sub(r"\\(.)", r"\1", match) for match in _TERM.findall(condition)}
    rest = _TERM.sub("", condition).replace(" OR ", "").strip()
    if rest:
        raise ValueError(f"the double understands only OR-ed labelset terms, not {rest!r}")
    return values


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


@dataclass
class MarqoDouble:
    requests: list[Recorded] = field(default_factory=list)
    indexes: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    refuse_ids: set[str] = field(default_factory=set)
    fail_with: int | None = None
    delay_s: float = 0.0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> MarqoDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path = self.path.split("?")[0]
                double.requests.append(Recorded(self.command, self.path, body))
                if double.delay_s:
                    time.sleep(double.delay_s)
                if double.fail_with is not None and path != "/":
                    self._answer(
                        double.fail_with,
                        {"message": "the double was told to fail", "code": "internal", "type": "error"},
                    )
                    return
                status, answer = double.route(self.command, path, body)
                self._answer(status, answer)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def calls(self, method: str, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.split("?")[0].endswith(suffix)]

    # -- the API ------------------------------------------------------------------------
    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/" and method == "GET":
            return 200, {"message": "Welcome to Marqo", "version": "2.24.0"}
        parts = path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "indexes":
            return 404, {"message": "not found", "code": "not_found", "type": "invalid_request"}
        name, rest = parts[1], "/".join(parts[2:])
        if rest == "" and method == "POST":
            if name in self.indexes:
                return 409, {
                    "message": f"index {name} exists",
                    "code": "index_already_exists",
                    "type": "invalid_request",
                }
            self.indexes[name], self.documents[name] = body or {}, {}
            return 200, {"acknowledged": True, "index": name}
        if name not in self.indexes:
            return 404, {
                "message": f"index {name} not found",
                "code": "index_not_found",
                "type": "invalid_request",
            }
        docs = self.documents[name]
        if rest == "" and method == "DELETE":
            del self.indexes[name], self.documents[name]
            return 200, {"acknowledged": True}
        if rest == "stats":
            return 200, {"numberOfDocuments": len(docs), "numberOfVectors": len(docs)}
        if rest == "documents" and method == "POST":
            items = []
            for doc in body["documents"]:
                if doc["_id"] in self.refuse_ids:
                    items.append(
                        {
                            "_id": doc["_id"],
                            "status": 400,
                            "error": "the double refused it",
                            "code": "invalid_argument",
                        }
                    )
                else:
                    docs[doc["_id"]] = doc
                    items.append({"_id": doc["_id"], "status": 200, "result": "created"})
            return 200, {
                "errors": any(item["status"] != 200 for item in items),
                "items": items,
                "processingTimeMs": 1.0,
                "index_name": name,
            }
        if rest.startswith("documents/") and method == "GET":  # one document by id
            found = docs.get(rest[len("documents/") :])
            if found is None:
                return 404, {
                    "message": "document not found",
                    "code": "document_not_found",
                    "type": "invalid_request",
                }
            return 200, found
        if rest == "documents/delete-batch" and method == "POST":
            deleted = sum(1 for doc_id in body if docs.pop(doc_id, None) is not None)
            return 200, {
                "index_name": name,
                "status": "succeeded",
                "type": "documentDeletion",
                "details": {"receivedDocumentIds": len(body), "deletedDocuments": deleted},
            }
        if rest == "search" and method == "POST":
            allowed = parse_labelset_filter(body["filter"]) if body.get("filter") else None
            words = set(re.findall(r"\w+", body["q"].lower()))
            scored = []
            for doc in docs.values():
                if allowed is not None and doc["labelset"] not in allowed:
                    continue
                overlap = len(words & set(re.findall(r"\w+", doc["text"].lower())))
                if overlap:
                    scored.append((overlap, doc))
            scored.sort(key=lambda pair: -pair[0])
            hits = [
                {
                    **{key: doc[key] for key in body.get("attributesToRetrieve", doc) if key in doc},
                    "_id": doc["_id"],
                    "_score": 1.0 / (60 + rank),
                }
                for rank, (_, doc) in enumerate(scored[: body.get("limit", 10)], start=1)
            ]
            return 200, {
                "hits": hits,
                "query": body["q"],
                "limit": body.get("limit"),
                "offset": 0,
                "processingTimeMs": 1.0,
            }
        return 404, {
            "message": f"{method} {path} is not part of the double",
            "code": "not_found",
            "type": "invalid_request",
        }
