"""The SSRF guard: deny by default, every resolved address checked at connect time, the
connection pinned to the checked address, redirects not followed.

The payloads are the ones that hit peers: numeric notations of 127.0.0.1, IPv4-mapped
IPv6, `localhost.`, the metadata service, names that resolve to private addresses, a
redirect to loopback, paths that try to leave the base URL's host.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from runtime.connections.egress import EgressGuard, EgressPolicy, refusal, system_resolver
from runtime.connections.errors import ActionNotAllowed, EgressDenied, RemoteFailure
from runtime.connections.http import HttpCall, HttpClient
from runtime.connections.kinds import HttpSettings, SettingsInvalid, parse_settings
from tests.runtime.connections.servers import HttpTarget

NOTHING_ALLOWED = EgressPolicy()
LOOPBACK_ALLOWED = EgressPolicy.parse("127.0.0.1")


@pytest.fixture
def target() -> Iterator[HttpTarget]:
    with HttpTarget() as server:
        yield server


class FakeDNS:
    """A test resolver: names from a table (each lookup may answer differently), others from the OS."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answers = self.table.get(host.rstrip("."))
        if answers is None:
            return await system_resolver(host, port)
        return answers.pop(0) if len(answers) > 1 else answers[0]


def client(base_url: str, guard: EgressGuard, **settings: object) -> HttpClient:
    # model_copy skips validation: these URLs must be refused at connect time even if saving did not.
    config = HttpSettings(base_url="http://example.com").model_copy(update={"base_url": base_url, **settings})
    return HttpClient("crm", config, {}, guard)


# -- the address table --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12::1", "private"),
        ("100.64.0.1", "not publicly routable"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback (embedded"),
        ("::ffff:169.254.169.254", "metadata service (embedded"),
        ("64:ff9b::7f00:1", "loopback (embedded"),
        ("2002:7f00:1::", "loopback (embedded"),
        ("fd00:ec2::254", "metadata"),
    ],
)
def test_internal_addresses_are_refused(address: str, reason: str) -> None:
    found = refusal(ipaddress.ip_address(address))
    assert found is not None and reason in found, found


@pytest.mark.parametrize("address", ["93.184.216.34", "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_takes_addresses_networks_and_names() -> None:
    policy = EgressPolicy.parse(" 127.0.0.1, 10.20.0.0/16 ,crm.intern., [fd00::5] ")
    assert policy.allows(ipaddress.ip_address("127.0.0.1"), "x")
    assert policy.allows(ipaddress.ip_address("::ffff:127.0.0.1"), "x")
    assert policy.allows(ipaddress.ip_address("10.20.3.4"), "x")
    assert not policy.allows(ipaddress.ip_address("10.21.0.1"), "x")
    assert policy.allows(ipaddress.ip_address("10.99.0.1"), "CRM.intern")
    assert policy.allows(ipaddress.ip_address("fd00::5"), "x")


# -- payloads as a connection's base URL: refused at connect time --------------------------
SSRF_BASE_URLS = [
    "http://127.0.0.1:{port}",
    "http://localhost:{port}",
    "http://localhost.:{port}",
    "http://2130706433:{port}",
    "http://0177.0.0.1:{port}",
    "http://0x7f.0.0.1:{port}",
    "http://0x7f000001:{port}",
    "http://127.1:{port}",
    "http://[::1]:{port}",
    "http://[::ffff:127.0.0.1]:{port}",
    "http://[::ffff:7f00:1]:{port}",
    "http://0.0.0.0:{port}",
    "http://169.254.169.254",
    "http://[fe80::1]:{port}",
    "http://10.0.0.1",
    "http://192.168.0.1",
    "http://metadata.test",
    "http://intranet.test:{port}",
    "http://[64:ff9b::7f00:1]:{port}",
]


@pytest.mark.parametrize("base_url", SSRF_BASE_URLS)
async def test_ssrf_payloads_are_refused_at_connect_time(base_url: str, target: HttpTarget) -> None:
    # `localhost.` resolves to loopback on most systems; the table makes sure it does here.
    dns = FakeDNS(
        {
            "metadata.test": [["169.254.169.254"]],
            "intranet.test": [["10.0.0.8", "8.8.8.8"]],
            "localhost": [["127.0.0.1", "::1"]],
        }
    )
    guard = EgressGuard(NOTHING_ALLOWED, dns)
    with pytest.raises((EgressDenied, ActionNotAllowed), match=r"not allowed|not a valid URL"):
        await client(base_url.format(port=target.port), guard).send(HttpCall("GET", "/"))
    assert target.requests == []


@pytest.mark.parametrize(
    "base_url",
    [
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.0.0.1/",
        "http://127.1/",
        "http://user:pw@crm.example.com/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "http:///path",
    ],
)
def test_odd_base_urls_are_refused_when_saved(base_url: str) -> None:
    with pytest.raises(SettingsInvalid):
        parse_settings("http", {"base_url": base_url})


async def test_the_allow_listed_test_server_is_reachable(target: HttpTarget) -> None:
    target.route("/api/ping", json_body={"pong": True})
    answer = await client(target.url + "/api", EgressGuard(LOOPBACK_ALLOWED)).send(HttpCall("GET", "/ping"))
    assert (answer.status, answer.body) == (200, {"pong": True})
    assert target.requests[0].path == "/api/ping"


async def test_allow_listing_127_0_0_1_does_not_allow_other_internal_addresses(target: HttpTarget) -> None:
    guard = EgressGuard(LOOPBACK_ALLOWED, FakeDNS({"crm.test": [["10.0.0.1"]]}))
    for base_url in ("http://10.0.0.1", "http://crm.test", "http://169.254.169.254", "http://[::1]"):
        with pytest.raises(EgressDenied):
            await client(base_url, guard).send(HttpCall("GET", "/"))


async def test_a_name_resolving_to_a_private_address_is_refused_even_with_a_public_one() -> None:
    guard = EgressGuard(NOTHING_ALLOWED, FakeDNS({"crm.example": [["93.184.216.34", "192.168.7.7"]]}))
    with pytest.raises(EgressDenied, match=r"crm\.example \(192\.168\.7\.7\).*private"):
        await client("http://crm.example", guard).send(HttpCall("GET", "/"))


async def test_dns_rebinding_has_no_window_the_checked_address_is_the_one_connected(
    target: HttpTarget,
) -> None:
    # First answer: the (allow-listed) test server; any later lookup would say 10.0.0.1.
    dns = FakeDNS({"crm.test": [["127.0.0.1"], ["10.0.0.1"]]})
    guard = EgressGuard(EgressPolicy.parse("127.0.0.1"), dns)
    answer = await client(f"http://crm.test:{target.port}", guard).send(HttpCall("GET", "/"))
    assert answer.status == 200
    assert dns.lookups == ["crm.test"]  # resolved once, by the guard, not again by the client
    assert target.requests[0].headers["host"] == f"crm.test:{target.port}"  # Host stays the name


async def test_redirects_are_not_followed(target: HttpTarget) -> None:
    target.route("/moved", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    target.route("/local", status=307, headers={"Location": f"http://127.0.0.1:{target.port}/secret"})
    c = client(target.url, EgressGuard(LOOPBACK_ALLOWED))
    assert (await c.send(HttpCall("GET", "/moved"))).status == 302
    assert (await c.send(HttpCall("GET", "/local"))).status == 307
    assert [request.path for request in target.requests] == ["/moved", "/local"]


@pytest.mark.parametrize(
    "path",
    [
        "//169.254.169.254/",
        "/../admin",
        "/a/%2e%2e/admin",
        "/a/%252e%252e/x",
        "/x?url=1",
        "/x#frag",
        "/a\\b",
        "/ok/../../etc",
        "@169.254.169.254/",
        "169.254.169.254",
        "/a/%2F%2Fevil",
    ],
)
async def test_paths_cannot_leave_the_base_url(path: str, target: HttpTarget) -> None:
    with pytest.raises(ActionNotAllowed):
        await client(target.url + "/api", EgressGuard(LOOPBACK_ALLOWED)).send(HttpCall("GET", path))
    assert target.requests == []


async def test_proxy_environment_variables_do_not_bypass_the_guard(
    target: HttpTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", target.url)
    monkeypatch.setenv("ALL_PROXY", target.url)
    with pytest.raises(EgressDenied):
        await client("http://10.0.0.1", EgressGuard(LOOPBACK_ALLOWED)).send(HttpCall("GET", "/"))
    assert target.requests == []


async def test_a_name_that_is_no_host_name_is_unresolvable_not_a_crash() -> None:
    """getaddrinfo raises UnicodeError for an empty label (".x", "a..b"): a model endpoint
    registered with such a base URL was a 500."""
    for host in (".FhGCbwj", "a..b"):
        with pytest.raises(RemoteFailure) as failure:
            await EgressGuard().addresses(host, 80)
        assert failure.value.code == "host_unresolvable"
