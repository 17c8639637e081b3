"""Where SQL connections may read: SQLite files only inside DIRIGENT_SQL_SQLITE_DIR (never
Dirigent's own data, `..` and links followed, checked when saved and at every call), and
network databases only at addresses the egress guard allows, at the host the URL names."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from runtime.connections.errors import SqliteOutsideDir
from runtime.connections.sql import sqlite_file
from tests.runtime.connections.conftest import create_connection
from tests.runtime.connections.test_flows import sql_flow, sql_run
from tests.support.scenario import (  # noqa: F401 (fixtures sc, shared_app, llm)
    Scenario,
    expect,
    llm_fixture,
    sc_fixture,
    shared_app_fixture,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
_names = itertools.count(1)


def make_db(path: Path, customer: str = "Müller") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS offers (customer TEXT)")
        connection.execute("INSERT INTO offers VALUES (?)", (customer,))
    return path


def sqlite_dir(sc: Scenario) -> Path:
    directory = sc.api.settings.resolved_sqlite_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def refused(sc: Scenario, url: str, code: str = "sqlite_outside_dir") -> dict[str, Any]:
    body: dict[str, Any] = await create_connection(sc, f"db{next(_names)}", "sql", {"url": url}, status=400)
    assert body["error"] == code, body
    return body


async def test_files_outside_the_directory_are_refused_when_saved(sc: Scenario, tmp_path: Path) -> None:
    inside = sqlite_dir(sc)
    elsewhere = make_db(tmp_path / "elsewhere.db")
    other_instance = make_db(tmp_path / "other" / ".dirigent" / "dirigent.db")
    body = await refused(sc, "sqlite:////etc/passwd")
    assert "DIRIGENT_SQL_SQLITE_DIR" in body["message"] and str(inside) in body["message"]
    await refused(sc, f"sqlite:///{elsewhere}")
    await refused(sc, f"sqlite:///{other_instance}")  # another instance's database
    await refused(sc, f"sqlite:///{inside}/../{inside.name}-not/x.db")
    await refused(sc, f"sqlite:///{inside}/sub/../../{elsewhere.name}")
    await refused(sc, "sqlite:///../../etc/passwd")  # relative to the directory
    await refused(sc, f"sqlite:///{inside}/x.db?mode=rwc", code="invalid_connection")
    # ... and when a saved connection is changed.
    saved = await create_connection(
        sc, f"db{next(_names)}", "sql", {"url": f"sqlite:///{make_db(inside / 'ok.db')}"}
    )
    changed = await sc.as_("admin").request(
        "PATCH", f"/api/connections/{saved['id']}", json={"settings": {"url": "sqlite:////etc/passwd"}}
    )
    assert expect(changed, 400)["error"] == "sqlite_outside_dir"


async def test_a_link_out_of_the_directory_is_refused_when_saved(sc: Scenario, tmp_path: Path) -> None:
    outside = make_db(tmp_path / "secret.db", "Geheim")
    link = sqlite_dir(sc) / f"link{next(_names)}.db"
    link.symlink_to(outside)
    await refused(sc, f"sqlite:///{link}")


async def test_a_file_swapped_for_a_link_after_saving_is_refused_at_the_call(
    sc: Scenario, tmp_path: Path
) -> None:
    outside = make_db(tmp_path / "secret.db", "Geheim")
    place = make_db(sqlite_dir(sc) / f"swap{next(_names)}.db")
    name = f"db{next(_names)}"
    await create_connection(sc, name, "sql", {"url": f"sqlite:///{place}"})
    flow = sql_flow(name, "SELECT customer FROM offers")
    assert (await sql_run(sc, flow))["status"] == "succeeded"

    place.unlink()
    place.symlink_to(outside)
    run = await sql_run(sc, flow)
    assert run["status"] == "failed" and run["error"]["kind"] == "SqliteOutsideDir", run["error"]
    assert "Geheim" not in str(run)


async def test_a_relative_name_is_a_file_inside_the_directory(sc: Scenario) -> None:
    name = f"db{next(_names)}"
    make_db(sqlite_dir(sc) / f"{name}.db", "Relativ")
    await create_connection(sc, name, "sql", {"url": f"sqlite:///{name}.db"})
    run = await sql_run(sc, sql_flow(name, "SELECT customer FROM offers"))
    assert run["status"] == "succeeded", run["error"]
    step = next(step for step in run["steps"] if step["node_id"] == "call")
    assert step["outputs"]["response"]["rows"] == [{"customer": "Relativ"}]


async def test_a_network_database_url_may_not_redirect_the_connection(sc: Scenario) -> None:
    for query in (
        "host=127.0.0.1",
        "port=5433",
        "hostaddr=10.0.0.1",
        "service=intern",
        "passfile=/etc/shadow",
    ):
        body = await refused(sc, f"postgresql://reader@db.example.com/erp?{query}", code="invalid_connection")
        assert "ssl" in body["message"]
    await create_connection(
        sc, f"db{next(_names)}", "sql", {"url": "postgresql://reader@db.example.com/erp?sslmode=require"}
    )


async def test_a_network_database_goes_through_the_egress_guard(sc: Scenario) -> None:
    name = f"db{next(_names)}"
    connection = await create_connection(sc, name, "sql", {"url": "postgresql://reader@127.0.0.1:1/erp"})
    tested = expect(await sc.as_("admin").post(f"/api/connections/{connection['id']}/test"), 200)
    assert tested["ok"] is False and "not allowed" in tested["message"] and "loopback" in tested["message"]


async def test_the_directory_may_not_be_inside_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with pytest.raises(SqliteOutsideDir, match="Dirigent's own data"):
        sqlite_file("crm.db", data / "sqlite", (data,))
    with pytest.raises(SqliteOutsideDir, match="no directory"):
        sqlite_file("crm.db", None, (data,))
    assert sqlite_file("crm.db", tmp_path / "sqlite", (data,)) == (tmp_path / "sqlite" / "crm.db").resolve()
