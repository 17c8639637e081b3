"""Every route of the studio, in one place."""

from __future__ import annotations

INDEX = "/"
LOGIN = "/login"
FLOWS = "/flows"
EDITOR = "/flows/[flow_id]"
VERSIONS = "/flows/[flow_id]/versions"
RUNS = "/flows/[flow_id]/runs"
REVIEW = "/review"
ASSISTANTS = "/assistants"
TASKS = "/tasks"
KNOWLEDGE = "/knowledge"
CONNECTIONS = "/connections"
MODELS = "/models"
MONITORING = "/monitoring"
AUDIT = "/audit"
INBOX = "/inbox"
ACCOUNT = "/account"


def editor(flow_id: str) -> str:
    return f"/flows/{flow_id}"


def versions(flow_id: str) -> str:
    return f"/flows/{flow_id}/versions"


def runs(flow_id: str) -> str:
    return f"/flows/{flow_id}/runs"
