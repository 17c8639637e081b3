"""E-mail through SMTP: STARTTLS, implicit TLS (`ssl`) or plain (`none`, for a relay on
the company network), with login when a username is configured.

smtplib is blocking, so it runs in a thread; the TCP connection is opened by the egress
guard (resolved once, checked, connected to that address) and handed to smtplib, which
then speaks TLS with the configured host name as SNI and for certificate checks.

Recipients must be in the connection's `allowed_domains` (a flow cannot mail the world),
and every message carries a `Message-ID` derived from the run and node, so that a
message sent again after a crash is recognisable as the same one.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses
from typing import TypeVar

from runtime.connections.egress import EgressGuard, tls_context
from runtime.connections.errors import ActionNotAllowed, RemoteFailure
from runtime.connections.kinds import EmailSettings

T = TypeVar("T")


@dataclass(frozen=True)
class Mail:
    to: Sequence[str]
    subject: str
    text: str
    cc: Sequence[str] = ()
    message_key: str | None = None


class _PinnedSMTP(smtplib.SMTP):
    """smtplib on a socket the egress guard connected; `_host` stays the name (TLS SNI)."""

    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        self._pinned = sock
        super().__init__(local_hostname=socket.gethostname() or "dirigent", timeout=timeout)
        self._host = host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # type: ignore[override]
        return self._pinned


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(self, sock: socket.socket, host: str, timeout: float, context: ssl.SSLContext) -> None:
        self._pinned = sock
        super().__init__(local_hostname=socket.gethostname() or "dirigent", timeout=timeout, context=context)
        self._host = host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # type: ignore[override]
        return self.context.wrap_socket(self._pinned, server_hostname=self._host)


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


class EmailSender:
    def __init__(
        self, name: str, settings: EmailSettings, secrets: Mapping[str, str], guard: EgressGuard
    ) -> None:
        self.name = name
        self.settings = settings
        self.secrets = secrets
        self.guard = guard

    def recipients(self, addresses: Sequence[str]) -> list[str]:
        """Parsed addresses, each in an allowed domain; `ActionNotAllowed` otherwise."""
        parsed = [address for _, address in getaddresses(list(addresses)) if address]
        if not parsed:
            raise ActionNotAllowed("the e-mail has no recipient; set `to`", code="email_no_recipient")
        if len(parsed) > self.settings.max_recipients:
            raise ActionNotAllowed(
                f"at most {self.settings.max_recipients} recipients per e-mail, not {len(parsed)}",
                code="email_too_many_recipients",
                max=self.settings.max_recipients,
                count=len(parsed),
            )
        allowed = self.settings.allowed_domains
        for address in parsed:
            local, _, domain = address.rpartition("@")
            domain = domain.lower()
            if not local or not any(domain == item or domain.endswith("." + item) for item in allowed):
                raise ActionNotAllowed(
                    f"connection '{self.name}' sends only to addresses in "
                    f"{', '.join(allowed)}, not to {address}",
                    code="email_recipient_not_allowed",
                    connection=self.name,
                    domains=", ".join(allowed),
                    address=address,
                )
        return parsed

    def message(self, mail: Mail, to: list[str], cc: list[str]) -> EmailMessage:
        message = EmailMessage()
        try:
            message["From"] = self.settings.sender
            message["To"] = ", ".join(to)
            if cc:
                message["Cc"] = ", ".join(cc)
            message["Subject"] = mail.subject
            message["Date"] = formatdate(localtime=False, usegmt=True)
            if mail.message_key:
                domain = self.settings.sender.rpartition("@")[2]
                message["Message-ID"] = (
                    f"<{mail.message_key.replace(':', '.')}@{Address(domain=domain).domain}>"
                )
            message.set_content(mail.text)
        except (ValueError, TypeError) as error:
            raise ActionNotAllowed(
                f"the e-mail cannot be built: {error}", code="email_not_buildable", detail=str(error)
            ) from None
        return message

    async def send(self, mail: Mail) -> dict[str, object]:
        to, cc = self.recipients(mail.to), self.recipients(mail.cc) if mail.cc else []
        message = self.message(mail, to, cc)
        refused = await self._session(lambda smtp: smtp.send_message(message, to_addrs=[*to, *cc]))
        accepted = [address for address in [*to, *cc] if address not in (refused or {})]
        return {"message_id": message["Message-ID"], "accepted": accepted, "refused": sorted(refused or {})}

    async def probe(self) -> None:
        """Connect, greet, secure and log in — no message."""
        await self._session(lambda smtp: smtp.noop())

    async def _session(self, work: Callable[[smtplib.SMTP], T]) -> T:
        settings = self.settings
        sock = await self.guard.connect_socket(settings.host, settings.port, settings.timeout_s)
        context = tls_context(verify=settings.verify_tls)
        password = self.secrets.get("password")
        if settings.username and not password:
            sock.close()
            raise ActionNotAllowed(
                f"connection '{self.name}' logs in as {settings.username}, but its secret "
                "'password' is not set; an admin can set it",
                code="smtp_password_missing",
                connection=self.name,
                username=settings.username,
            )

        def run() -> T:
            if settings.security == "ssl":
                smtp: smtplib.SMTP = _PinnedSMTPSSL(sock, settings.host, settings.timeout_s, context)
            else:
                smtp = _PinnedSMTP(sock, settings.host, settings.timeout_s)
            try:
                smtp.connect(settings.host, settings.port)
                smtp.ehlo()
                if settings.security == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if settings.username:
                    smtp.login(settings.username, password or "")
                return work(smtp)
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()

        try:
            return await asyncio.to_thread(run)
        except smtplib.SMTPAuthenticationError as error:
            raise RemoteFailure(
                f"{settings.host} refused the login of {settings.username} ({error.smtp_code})",
                code="smtp_login_refused",
                host=settings.host,
                username=settings.username,
                smtp_code=error.smtp_code,
            ) from None
        except smtplib.SMTPRecipientsRefused as error:
            raise RemoteFailure(
                f"{settings.host} refused the recipients {', '.join(error.recipients)}",
                code="smtp_recipients_refused",
                host=settings.host,
                recipients=", ".join(error.recipients),
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            raise RemoteFailure(
                f"{settings.host} does not support this: {error}",
                code="smtp_not_supported",
                host=settings.host,
                detail=str(error),
            ) from None
        except smtplib.SMTPResponseException as error:
            raise RemoteFailure(
                f"{settings.host} answered {error.smtp_code}: {_text(error.smtp_error)[:200]}",
                code="smtp_error",
                host=settings.host,
                smtp_code=error.smtp_code,
                detail=_text(error.smtp_error)[:200],
            ) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
            raise RemoteFailure(
                f"SMTP with {settings.host} failed ({type(error).__name__}: {error})",
                code="smtp_failed",
                host=settings.host,
                detail=f"{type(error).__name__}: {error}",
            ) from None
