"""The egress guard: deny by default, check every resolved address, connect to that address.

Peers of Dirigent had SSRF CVEs because they checked a URL's host *name* and then let the
HTTP client resolve it again (DNS rebinding), followed redirects to internal hosts, or
parsed `http://2130706433/` differently from the resolver. Here::

    connection's base URL ─▶ host must be the base URL's host (checked when the URL is built)
    connect(host, port)   ─▶ resolve ONCE ─▶ every address checked ─▶ TCP to that address
                                                                      (TLS SNI and Host: the name)

An address is refused when it is loopback, link-local (169.254.0.0/16, fe80::/10), private
(RFC 1918, fc00::/7, CGNAT, documentation ranges), multicast, unspecified, reserved, the
cloud metadata service, or an IPv6 address embedding any of those (IPv4-mapped `::ffff:`,
NAT64 `64:ff9b::`, 6to4, Teredo) — unless `DIRIGENT_EGRESS_ALLOW` lists it: a
comma-separated list of IP addresses, CIDR networks and host names (a listed host name
allows whatever it resolves to). If any address of a name is refused, the name is refused.

Redirects are never followed (the connector answers the 3xx status); the HTTP transport
ignores proxy environment variables, which would bypass the check.

The same guard is in front of model endpoints (`runtime/llm/client.py`, through
`GuardedTransport2`: huggingface_hub speaks httpx2) and of network databases
(`runtime/connections/sql.py`). The allow list comes from `Settings.egress_allow`.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpcore2
import httpx
import httpx2

from runtime.connections.errors import EgressDenied, RemoteFailure

ENV_ALLOW = "DIRIGENT_EGRESS_ALLOW"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

METADATA = {
    ipaddress.ip_address("169.254.169.254"): "the cloud metadata service",
    ipaddress.ip_address("169.254.170.2"): "the container metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "the cloud metadata service",
    ipaddress.ip_address("100.100.100.200"): "the cloud metadata service",
}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
RESOLVE_TIMEOUT_S = 5.0


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (getaddrinfo), every address it answers."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError, UnicodeError) as error:  # UnicodeError: not a host name (".x", "a..b")
        raise RemoteFailure(
            f"the host name '{host}' does not resolve ({error})",
            code="host_unresolvable",
            host=host,
            detail=str(error),
        ) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(address: IPAddress) -> str | None:
    """Why `address` is refused by default, or None for an ordinary public address."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(address.packed)  # drop a %scope
        embedded: IPAddress | None = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(address.packed[-4:])
        if embedded is not None:
            inner = refusal(embedded)
            return f"{inner} (embedded in the IPv6 address)" if inner else None
    if address in METADATA:
        return METADATA[address]
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return name
    if not address.is_global:
        return "not publicly routable"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """What an admin allows beyond public addresses (`DIRIGENT_EGRESS_ALLOW`)."""

    networks: tuple[IPNetwork, ...] = ()
    hostnames: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str | Iterable[str] | None) -> EgressPolicy:
        items = text.split(",") if isinstance(text, str) else list(text or [])
        networks: list[IPNetwork] = []
        hostnames: set[str] = set()
        for raw in items:
            item = raw.strip()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hostnames.add(normalise_host(item))
        return cls(tuple(networks), frozenset(hostnames))

    @classmethod
    def from_env(cls) -> EgressPolicy:
        return cls.parse(os.environ.get(ENV_ALLOW, ""))

    def also_allowing(self, host: str) -> EgressPolicy:
        """This policy with `host` (an IP address or a name) allowed as well."""
        extra = EgressPolicy.parse([host])
        return EgressPolicy(self.networks + extra.networks, self.hostnames | extra.hostnames)

    def allows(self, address: IPAddress, host: str) -> bool:
        if normalise_host(host) in self.hostnames:
            return True
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            candidates.append(address.ipv4_mapped)
        return any(
            candidate in network
            for candidate in candidates
            for network in self.networks
            if candidate.version == network.version
        )

    def describe(self) -> list[str]:
        return [str(network) for network in self.networks] + sorted(self.hostnames)


def normalise_host(host: str) -> str:
    """Lower case, without brackets and without the trailing dot of a fully qualified name."""
    return host.strip().strip("[]").rstrip(".").lower()


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass
class EgressGuard:
    """Resolves a host once and returns only addresses the policy allows (or refuses)."""

    policy: EgressPolicy = field(default_factory=EgressPolicy.from_env)
    resolver: Resolver = system_resolver

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address of `host`, each checked; raises `EgressDenied` if any is refused."""
        literal = ip_literal(host)
        if literal is not None:
            found = [literal]
        else:
            found = []
            for raw in await self.resolver(host, port):
                literal = ip_literal(raw.split("%", 1)[0])
                if literal is None:
                    raise EgressDenied(
                        f"the resolver answered '{raw}' for '{host}', which is no IP address",
                        code="resolver_not_ip",
                        answer=raw,
                        host=host,
                    )
                found.append(literal)
            if not found:
                raise RemoteFailure(
                    f"the host name '{host}' has no address", code="host_has_no_address", host=host
                )
        for address in found:
            reason = refusal(address)
            if reason and not self.policy.allows(address, host):
                shown = host if str(address) == host.strip("[]") else f"{host} ({address})"
                raise EgressDenied(
                    f"outbound connections to {shown} are not allowed: the address is {reason}; "
                    f"an admin can allow it in {ENV_ALLOW} "
                    f"(now: {', '.join(self.policy.describe()) or 'empty'})",
                    code="address_not_allowed",
                    host=shown,
                    reason_text=reason,
                )
        return found

    async def connect_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        """A connected blocking socket to a checked address (for smtplib, which is blocking)."""
        addresses = await self.addresses(host, port)

        def connect() -> socket.socket:
            last: OSError | None = None
            for address in addresses:
                try:
                    return socket.create_connection((str(address), port), timeout=timeout)
                except OSError as error:
                    last = error
            raise RemoteFailure(
                f"cannot connect to {host}:{port} ({last})",
                code="cannot_connect",
                host=host,
                port=port,
                detail=str(last),
            )

        return await asyncio.to_thread(connect)


async def _connect_checked(
    guard: EgressGuard,
    hosts: frozenset[str] | None,
    host: str,
    port: int,
    connect: Callable[[str], Awaitable[Any]],
    retry_on: tuple[type[Exception], ...],
) -> Any:
    """`connect(address)` to the first checked address of `host` that accepts."""
    if hosts is not None and normalise_host(host) not in hosts:
        raise EgressDenied(
            f"this connection may only reach {', '.join(sorted(hosts))}, not {host}",
            code="host_not_allowed",
            hosts=", ".join(sorted(hosts)),
            host=host,
        )
    last: Exception | None = None
    for address in await guard.addresses(host, port):
        try:
            return await connect(str(address))
        except retry_on as error:
            last = error
    assert last is not None
    raise last


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer with the guard in front of every TCP connection."""

    def __init__(self, guard: EgressGuard, hosts: frozenset[str]) -> None:
        self.guard = guard
        self.hosts = hosts
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        async def connect(address: str) -> httpcore.AsyncNetworkStream:
            return await self._inner.connect_tcp(
                address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
            )

        stream: httpcore.AsyncNetworkStream = await _connect_checked(
            self.guard, self.hosts, host, port, connect, (httpcore.ConnectError, httpcore.ConnectTimeout)
        )
        return stream

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise EgressDenied("connections over unix sockets are not allowed", code="unix_socket_not_allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose every connection goes through the egress guard.

    TLS still verifies the certificate against the URL's host name (httpcore passes the
    name, not the address, as SNI), and the Host header is the name.
    """

    def __init__(
        self, guard: EgressGuard, hosts: Iterable[str], *, verify: ssl.SSLContext | bool = True
    ) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else tls_context(verify=verify)
        # httpx builds a TLS context of its own unless it is handed one: hand it ours.
        super().__init__(verify=context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=20,
            max_keepalive_connections=5,
            network_backend=_GuardedBackend(guard, frozenset(normalise_host(host) for host in hosts)),
        )


@functools.cache
def tls_context(*, verify: bool = True) -> ssl.SSLContext:
    """The process's TLS context, made once: loading the trusted certificates takes
    20-50 ms of CPU, which a context per outbound call (as each connector and agent tool
    call makes a transport) paid on the event loop. An SSLContext is meant to be shared;
    nothing here changes it after it is made."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _GuardedBackend2(httpcore2.AsyncNetworkBackend):
    """`_GuardedBackend` for httpcore2 (under httpx2, which huggingface_hub uses)."""

    def __init__(self, guard: EgressGuard, hosts: frozenset[str] | None) -> None:
        self.guard = guard
        self.hosts = hosts
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        async def connect(address: str) -> httpcore2.AsyncNetworkStream:
            return await self._inner.connect_tcp(
                address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
            )

        stream: httpcore2.AsyncNetworkStream = await _connect_checked(
            self.guard, self.hosts, host, port, connect, (httpcore2.ConnectError, httpcore2.ConnectTimeout)
        )
        return stream

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        raise EgressDenied("connections over unix sockets are not allowed", code="unix_socket_not_allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport2(httpx2.AsyncHTTPTransport):
    """`GuardedTransport` for httpx2. `hosts=None`: any host name, every address checked.

    At most `max_connections` at once (more requests wait for one); `keepalive` of them
    stay open between requests, for `keepalive_expiry_s` (default: 5 of 20, httpx's own
    limits). A kept-alive connection was checked when it was opened; a new guard means a
    new transport.
    """

    def __init__(
        self,
        guard: EgressGuard,
        hosts: Iterable[str] | None = None,
        *,
        max_connections: int = 20,
        keepalive: int = 5,
        keepalive_expiry_s: float = 5.0,
    ) -> None:
        super().__init__(verify=tls_context(), trust_env=False)
        allowed = None if hosts is None else frozenset(normalise_host(host) for host in hosts)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=tls_context(),
            max_connections=max_connections,
            max_keepalive_connections=keepalive,
            keepalive_expiry=keepalive_expiry_s,
            network_backend=_GuardedBackend2(guard, allowed),
        )
