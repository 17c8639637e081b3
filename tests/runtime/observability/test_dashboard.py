"""deploy/grafana/dirigent.json: valid JSON, and every metric an expression names is one
that /metrics of a real app exposes (and every Dirigent metric is on the dashboard)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from litestar.testing import AsyncTestClient

from runtime.app import create_app
from tests.runtime.observability.scrape import exposed_names, family_names
from tests.support.api import api_settings

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deploy" / "grafana" / "dirigent.json"
TOKEN = "dashboard-token-" + "d" * 24
METRIC = re.compile(r"\bdirigent_[a-zA-Z0-9_]+")


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression: panel targets and template variable queries."""
    found = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            found.append(query["query"])
    return found


async def test_every_expression_names_metrics_that_metrics_exposes(tmp_path: Path, database_url: str) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["panels"]
    app = create_app(api_settings(tmp_path, database_url, metrics_token=TOKEN))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    exposed = exposed_names(response.text)
    families = {name for name in family_names(response.text) if name.startswith("dirigent_")}
    assert "dirigent_runs" in families and "dirigent_approvals_waiting" in families

    used: set[str] = set()
    for expr in expressions(dashboard):
        names = set(METRIC.findall(expr))
        assert names, f"an expression that names no Dirigent metric: {expr}"
        unknown = names - exposed
        assert not unknown, f"{expr} names {sorted(unknown)}, which /metrics does not expose"
        used |= names

    # Each Dirigent family is on the dashboard (by itself or one of its samples' names).
    missing = {
        family
        for family in families
        if not any(name == family or name.startswith(family + "_") for name in used)
    }
    assert not missing, f"metrics not on the dashboard: {sorted(missing)}"


def test_panels_use_the_datasource_variable_and_have_unique_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_the_monitoring_override_fits_compose_and_its_files_exist() -> None:
    """deploy/compose.monitoring.yaml (there is no `docker compose config` here): pinned
    images, every mounted file in the repository, the token as a secret that prometheus.yml
    reads, Grafana on loopback only, and its provisioning pointing at the mounted dashboard."""
    base = yaml.safe_load((ROOT / "compose.yaml").read_text())
    override = yaml.safe_load((ROOT / "deploy" / "compose.monitoring.yaml").read_text())
    services = override["services"]
    assert set(services) == {"prometheus", "grafana"} and not set(services) & set(base["services"])
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin a version, not {image}"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("./"):  # relative to compose.yaml's directory
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in override["volumes"], f"{name}: unknown volume {source}"
        for dependency in service.get("depends_on", {}):
            assert dependency in services or dependency in base["services"]
    assert services["prometheus"]["depends_on"]["runtime"]["condition"] == "service_healthy"
    assert all(port.startswith("127.0.0.1:") for port in services["grafana"]["ports"])
    assert "ports" not in services["prometheus"]
    assert override["secrets"]["metrics_token"] == {"environment": "DIRIGENT_METRICS_TOKEN"}

    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    [job] = prometheus["scrape_configs"]
    [secret] = services["prometheus"]["secrets"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials_file": f"/run/secrets/{secret['target']}"}
    [discovery] = job["dns_sd_configs"]
    assert discovery["names"] == ["runtime"] and discovery["port"] == 8000  # the Dockerfile's port

    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    [provider] = yaml.safe_load((provisioning / "dashboards" / "dirigent.yaml").read_text())["providers"]
    dashboard_mount = next(
        m for m in services["grafana"]["volumes"] if m.startswith("./deploy/grafana/dirigent")
    )
    assert dashboard_mount.split(":")[1].startswith(provider["options"]["path"] + "/")
    [source] = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
