"""Real local servers for connection tests: an HTTP server and an SMTP server (aiosmtpd),
both on 127.0.0.1 on a free port, in background threads.

    with HttpTarget() as target:
        target.route("/tasks", status=201, json={"id": 7})
        target.route("/moved", status=302, headers={"Location": "http://169.254.169.254/"})
        target.route("/flaky", status=503, times=2)       # 503 twice, then the default 200
        ... target.requests[-1].headers["authorization"] ...

    with SmtpTarget(username="mailer", password="pw") as smtp:
        ... smtp.messages[-1]["To"] ...

    # A slow server, to kill a client mid-call: the first message is held open for 20 s
    # before the server answers — delivered first (the client never learns it was), or
    # delivered only after the hold (a client that dies meanwhile sent nothing).
    with SmtpTarget(hold_s=20, hold_count=1, deliver_before_hold=True) as smtp:
        ... smtp.data_received ...   # messages whose DATA arrived, delivered or not
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Route:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    times: int | None = None  # answer like this this many times, then fall back
    delay_s: float = 0.0


class HttpTarget:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.routes: dict[str, list[_Route]] = {}
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def route(
        self,
        path: str,
        *,
        status: int = 200,
        json_body: Any = None,
        text: str | None = None,
        headers: dict[str, str] | None = None,
        times: int | None = None,
        delay_s: float = 0.0,
        size: int | None = None,
    ) -> None:
        if size is not None:
            body, kind = b"x" * size, "text/plain"
        elif text is not None:
            body, kind = text.encode(), "text/plain"
        else:
            body, kind = (
                json.dumps({"ok": True} if json_body is None else json_body).encode(),
                "application/json",
            )
        self.routes.setdefault(path, []).append(
            _Route(status, body, {"Content-Type": kind, **(headers or {})}, times, delay_s)
        )

    def _answer(self, path: str) -> _Route:
        for route in self.routes.get(path.split("?")[0], []):
            if route.times is None:
                return route
            if route.times > 0:
                route.times -= 1
                return route
        return _Route()

    def __enter__(self) -> HttpTarget:
        target = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target.requests.append(
                    Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                route = target._answer(self.path)
                if route.delay_s:
                    time.sleep(route.delay_s)
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(route.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def self_signed_context(directory: Path, name: str = "localhost") -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for `name` and 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class _Hold:
    seconds: float = 0.0
    count: int = 0  # hold this many messages, then answer at once
    deliver_before_hold: bool = True


class _Collect:
    def __init__(
        self,
        sink: list[EmailMessage],
        envelopes: list[tuple[str, list[str]]],
        received: list[EmailMessage],
        hold: _Hold,
    ) -> None:
        self.sink = sink
        self.envelopes = envelopes
        self.received = received
        self.hold = hold

    def _deliver(self, envelope: Any) -> None:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.sink.append(message_from_bytes(envelope.content, policy=policy.default))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        self.received.append(message_from_bytes(envelope.content, policy=policy.default))
        if self.hold.count > 0:
            self.hold.count -= 1
            if self.hold.deliver_before_hold:
                self._deliver(envelope)
            # aiosmtpd cancels this when the client goes away: then an undelivered one never is
            await asyncio.sleep(self.hold.seconds)
            if not self.hold.deliver_before_hold:
                self._deliver(envelope)
            return "250 Message accepted for delivery"
        self._deliver(envelope)
        return "250 Message accepted for delivery"


# aiosmtpd warns about AUTH without TLS on every connection; fine on 127.0.0.1 in a test.
QUIET_AUTH_WARNING = "ignore:Requiring AUTH while not requiring TLS:UserWarning"


class SmtpTarget:
    """aiosmtpd on 127.0.0.1; with `username`, it requires AUTH PLAIN (no TLS needed)."""

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        port: int | None = None,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        hold_s: float = 0.0,
        hold_count: int = 0,
        deliver_before_hold: bool = True,
    ) -> None:
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.hold = _Hold(hold_s, hold_count, deliver_before_hold)
        self.data_received: list[EmailMessage] = []
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self.username = username
        self.password = password
        self.port = port or free_port()
        self._controller: Controller | None = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        if ok:
            self.logins.append(self.username or "")
        return AuthResult(success=ok, handled=False)

    def __enter__(self) -> SmtpTarget:
        options: dict[str, Any] = {}
        if self.username:
            # PLAIN only: smtplib falls back to LOGIN after a refusal, which aiosmtpd answers slowly.
            options = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
                "auth_exclude_mechanism": ["LOGIN"],
            }
        if self.starttls is not None:
            options.update(tls_context=self.starttls, require_starttls=True)
        if self.implicit_tls is not None:
            options.update(ssl_context=self.implicit_tls)
        self._controller = Controller(
            _Collect(self.messages, self.envelopes, self.data_received, self.hold),
            hostname="127.0.0.1",
            port=self.port,
            **options,
        )
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._controller is not None
        self._controller.stop()
