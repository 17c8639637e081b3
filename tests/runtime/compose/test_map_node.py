"""The `map` node through the API: a published assistant per item, a few at a time."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runtime.connections.service import ConnectionService
from tests.runtime.compose.flows import assistant_node, editor_run, map_node, parent_flow, slug
from tests.runtime.connections.conftest import create_connection
from tests.support.scenario import Scenario, expect, template_flow

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIST_INPUT = {"rows": {"type": "array", "required": True}}


class CountingServer:
    """An HTTP server on 127.0.0.1 that answers GET /api/items/<n> with {"n": <n>} after a
    short pause, counting how many requests it serves at the same time."""

    def __init__(self, pause_s: float = 0.05) -> None:
        self.pause_s = pause_s
        self.current = self.most = self.served = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.current += 1
                    server.most = max(server.most, server.current)
                time.sleep(server.pause_s)
                with server._lock:
                    server.current -= 1
                    server.served += 1
                body = json.dumps({"n": int(self.path.rsplit("/", 1)[-1])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def counting() -> Iterator[CountingServer]:
    server = CountingServer()
    thread = threading.Thread(target=server.http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.http.shutdown()
        server.http.server_close()


def fetching_flow(connection: str) -> dict[str, Any]:
    """input n → GET /items/{n} on the connection → output n (as the server said it)."""
    return {
        "schema": "dirigent.flow/v1",
        "name": "Holen",
        "inputs": {"n": {"type": "integer", "required": True}},
        "nodes": [
            {"id": "start", "type": "input"},
            {
                "id": "fetch",
                "type": "connector",
                "config": {"connection": connection, "method": "GET", "path": "/items/{{ inputs.n }}"},
            },
            {"id": "end", "type": "output"},
        ],
        "edges": [{"from": "start", "to": "fetch"}, {"from": "fetch", "to": "end"}],
        "outputs": {"n": "{{ fetch.response.n }}"},
        "card": {"purpose": "Einträge holen", "risk": "limited", "owner": "Vertrieb"},
        "tests": [
            {
                "name": "holt",
                "inputs": {"n": 1},
                "fixed": {"fetch": {"response": {"n": 1}, "status": 200}},
                "expect": [{"check": "status", "value": "succeeded"}],
            }
        ],
    }


async def test_map_runs_100_items_at_most_8_at_once_and_keeps_their_order(
    sc: Scenario, counting: CountingServer, allow_loopback: ConnectionService
) -> None:
    connection = slug("zaehler")
    settings = {"base_url": counting.url + "/api", "allowed_methods": ["GET"], "allowed_paths": ["/items"]}
    await create_connection(sc, connection, "http", settings, test_target=True)
    fetcher = slug("holen")
    await sc.live(fetching_flow(connection), fetcher)
    node = map_node(fetcher, "inputs.rows", {"n": "{{ item }}"}, max_parallel=8, max_items=100)
    document = parent_flow(
        node, {"results": "{{ each.results | json }}", "count": "{{ each.count }}"}, LIST_INPUT
    )

    began = time.monotonic()
    run = await editor_run(sc, document, {"rows": list(range(100))}, wait_s=120)
    took = time.monotonic() - began

    assert run["status"] == "succeeded", run["error"]
    [step] = [step for step in run["steps"] if step["node_id"] == "each"]
    assert step["outputs"]["count"] == 100 and step["outputs"]["failed"] == []
    assert [result["n"] for result in step["outputs"]["results"]] == list(range(100))
    assert counting.served == 100
    assert 2 <= counting.most <= 8, counting.most  # parallel, and never more than max_parallel
    print(f"map: 100 sub-runs, at most {counting.most} at once, {took:.1f} s")


async def test_map_collects_failed_items_and_goes_on(sc: Scenario) -> None:
    divider = slug("teilen")
    await sc.live(template_flow("{{ 12 // (1 if inputs.times is none else inputs.times) }}"), divider)
    node = map_node(divider, "inputs.rows", {"name": "x", "times": "{{ item }}"}, max_parallel=2)
    document = parent_flow(node, {"count": "{{ each.count }}"}, LIST_INPUT)

    run = await editor_run(sc, document, {"rows": [3, 0, 4, "vier", 6]})

    assert run["status"] == "succeeded", run["error"]
    [step] = [step for step in run["steps"] if step["node_id"] == "each"]
    outputs = step["outputs"]
    assert outputs["results"] == [{"text": "4"}, None, {"text": "3"}, None, {"text": "2"}]
    assert [(item["index"], item["code"]) for item in outputs["failed"]] == [
        (1, "template_failed"),  # the sub-run failed: 12 // 0
        (3, "assistant_inputs_invalid"),  # "vier" is no integer: the sub-run never started
    ]
    assert outputs["failed"][0]["run_id"] and outputs["failed"][1]["run_id"] is None
    assert outputs["count"] == 5
    assert [bool(run_id) for run_id in outputs["run_ids"]] == [True, True, True, False, True]
    sub = expect(await sc.as_("champion").get(f"/api/runs/{outputs['run_ids'][0]}"), 200)
    assert sub["parent_run_id"] == run["id"] and sub["outputs"] == {"text": "4"}


async def test_more_items_than_max_items_are_refused_before_anything_runs(sc: Scenario) -> None:
    greeter = slug("gruss")
    await sc.live(template_flow(), greeter)
    node = map_node(greeter, "inputs.rows", {"name": "{{ item }}"}, max_items=3)

    run = await editor_run(
        sc, parent_flow(node, {"count": "{{ each.count }}"}, LIST_INPUT), {"rows": list("abcd")}
    )

    assert run["status"] == "failed"
    assert run["error"]["code"] == "map_too_many_items", run["error"]
    assert (run["error"]["count"], run["error"]["limit"]) == (4, 3)


async def test_items_that_are_not_a_list_are_a_clear_error(sc: Scenario) -> None:
    greeter = slug("gruss")
    await sc.live(template_flow(), greeter)
    node = map_node(greeter, "inputs.name", {"name": "{{ item }}"})

    run = await editor_run(sc, parent_flow(node, {"count": "{{ each.count }}"}), {"name": "Ada"})

    assert run["status"] == "failed"
    assert run["error"]["code"] == "map_items_not_a_list" and run["error"]["got"] == "str"


async def test_a_sub_run_that_outlasts_the_nodes_wait_is_waited_for_stored(
    sc: Scenario, counting: CountingServer, allow_loopback: ConnectionService
) -> None:
    counting.pause_s = 1.0
    connection = slug("langsam")
    settings = {"base_url": counting.url + "/api", "allowed_methods": ["GET"], "allowed_paths": ["/items"]}
    await create_connection(sc, connection, "http", settings, test_target=True)
    fetcher = slug("holen")
    await sc.live(fetching_flow(connection), fetcher)
    node = assistant_node(fetcher, {"n": "{{ 7 }}"}, outputs_expected=["n"], timeout_s=0.1)

    parent = await editor_run(sc, parent_flow(node, {"n": "{{ sub.n }}"}), {"name": "x"})

    assert parent["status"] == "waiting", parent["error"]  # the node stopped waiting; the run waits
    for _ in range(100):
        parent = expect(await sc.as_("champion").get(f"/api/runs/{parent['id']}"), 200)
        if parent["status"] not in ("waiting", "running"):
            break
        await asyncio.sleep(0.1)
    assert parent["status"] == "succeeded", parent["error"]
    assert parent["outputs"] == {"n": 7}
