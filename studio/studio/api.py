"""The runtime's HTTP API as the studio uses it: one client, one error type.

The studio never touches the runtime's database or Python objects; everything goes
through `RuntimeClient`, over HTTP, with the signed-in person's bearer token.

    ApiError                 the runtime answered with an error body {"error", "message", ...}
    ├── SignedOut     401    no, invalid or expired token: the studio sends people to sign-in
    └── Unreachable          the runtime did not answer at all (down, wrong URL, timeout)

`ApiError.code` is the runtime's machine-readable code (`invalid_state`, `forbidden`, ...);
`i18n.describe_error` turns it into a sentence people understand, in their language.
Tests swap the network for a handler by passing `transport=httpx.MockTransport(...)`.

Each call answers a type of `studio.api_types`, which `scripts/studio_api_types.py` writes
from the runtime's OpenAPI description (its response models), so the studio names the
fields it reads instead of guessing them.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx

from studio.api_types import (
    AnchorOut,
    AssistantOut,
    AuditEntryOut,
    ConnectionOut,
    ConnectionTestOut,
    DecidedTaskOut,
    DocumentOut,
    DraftOut,
    EndpointTestResult,
    FeedbackOut,
    FlowCreatedOut,
    FlowDetailOut,
    FlowOut,
    IndexDetailOut,
    IndexOut,
    JobOut,
    MailSettingsOut,
    MarkedRead,
    MeOut,
    ModelEndpointView,
    MonitoringOut,
    NodeTypeOut,
    NotificationOut,
    NotificationPage,
    PassageOut,
    RunListItemOut,
    RunPage,
    RunTrace,
    RunWithFeedbackOut,
    SearchOut,
    SignInOut,
    StarterOut,
    StepFull,
    TaskListItemOut,
    TestCaseCreated,
    TestCaseProposal,
    TestCaseRulesOut,
    TestReportOut,
    UnreadCount,
    ValidationOut,
    VerifyOut,
    VersionDetailOut,
    VersionDiff,
    VersionOut,
    VersionSavedOut,
    VersionUses,
    WorkspaceOut,
)

Answer = TypeVar("Answer")

DEFAULT_RUNTIME_URL = "http://127.0.0.1:8710"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# A streamed run may pause for minutes (a slow LLM); only the connection attempt is bounded.
STREAM_TIMEOUT = httpx.Timeout(None, connect=5.0)
# Running a version's test cases live calls the LLM once per case.
TESTS_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
# Uploads, index creation (loads the embedding model), connection tests, audit export.
UPLOAD_TIMEOUT = httpx.Timeout(300.0, connect=5.0)


def runtime_url() -> str:
    return os.environ.get("DIRIGENT_RUNTIME_URL", DEFAULT_RUNTIME_URL).rstrip("/")


class ApiError(Exception):
    """The runtime refused or failed a request; `message` is the runtime's own words."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body or {}

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Validation errors of an invalid flow (`{"node", "field", "message"}` each)."""
        found = self.body.get("errors")
        return found if isinstance(found, list) else []


class SignedOut(ApiError):
    """401: the token is missing, invalid or expired."""


class Unreachable(ApiError):
    """No answer from the runtime."""

    def __init__(self, detail: str) -> None:
        super().__init__(0, "unreachable", detail)


# `GET /api/test-cases/rules` is public and the same for everyone: asked briefly, once.
RULES_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


def fetch_case_rules(base_url: str | None = None) -> TestCaseRulesOut:
    """The runtime's rules of test cases (which checks exist and what each names, which node
    types a case cannot fix, ...): a synchronous call, made once per studio process by
    `studio.testcases.rules` for the pure functions that build and describe cases."""
    try:
        response = httpx.get(
            f"{(base_url or runtime_url()).rstrip('/')}/api/test-cases/rules", timeout=RULES_TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 400:
        raise _error_from(response)
    served = response.json()
    return as_answer(TestCaseRulesOut, served if isinstance(served, dict) else {})


def as_answer(shape: type[Answer], parsed: Any) -> Answer:
    """The runtime's parsed JSON, read as `shape` (a type of `studio.api_types`). Trusted,
    not checked: the runtime builds every answer from the response model the type is
    generated from."""
    return cast(Answer, parsed)


def _error_from(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error") or f"http_{response.status_code}")
    message = str(body.get("message") or response.reason_phrase or "")
    cls = SignedOut if response.status_code == 401 else ApiError
    return cls(response.status_code, code, message, body)


def _segment(value: str | int) -> str:
    return quote(str(value), safe="")


class RuntimeClient:
    """Calls of the runtime's HTTP API, with the caller's token."""

    def __init__(
        self,
        token: str = "",
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or runtime_url()).rstrip("/")
        self.token = token
        self.transport = transport

    def _client(self, timeout: httpx.Timeout = TIMEOUT) -> httpx.AsyncClient:
        headers = {"accept": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=self.transport
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: httpx.Timeout = TIMEOUT,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        raw: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The answer's JSON (None for an empty one); with `raw`, its text. `files` sends a
        multipart body (httpx's `files=` shape)."""
        try:
            async with self._client(timeout) as client:
                response = await client.request(
                    method, path, json=json_body, params=params, files=files, headers=headers
                )
        except httpx.HTTPError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        if raw:
            return response.text
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def answer(
        self,
        shape: type[Answer],
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: httpx.Timeout = TIMEOUT,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """`request`'s JSON, read as `shape` (see `as_answer`)."""
        parsed = await self.request(
            method, path, json_body=json_body, params=params, timeout=timeout, files=files, headers=headers
        )
        return as_answer(shape, parsed)

    async def stream_events(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """POST `body` with `stream: true` and yield each Server-Sent Event's JSON data."""
        try:
            async with (
                self._client(STREAM_TIMEOUT) as client,
                client.stream(
                    "POST", path, json={**body, "stream": True}, headers={"accept": "text/event-stream"}
                ) as response,
            ):
                if response.status_code >= 400:
                    await response.aread()
                    raise _error_from(response)
                data_lines: list[str] = []
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        data_lines.append(line[5:].lstrip())
                    elif not line.strip() and data_lines:
                        yield _event_data("\n".join(data_lines))
                        data_lines = []
                if data_lines:
                    yield _event_data("\n".join(data_lines))
        except httpx.HTTPError as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc

    # -- people -------------------------------------------------------------------------
    async def login(self, username: str, password: str) -> SignInOut:
        return await self.answer(
            SignInOut, "POST", "/api/auth/login", json_body={"username": username, "password": password}
        )

    async def logout(self) -> None:
        """End this token's session in the runtime (every runtime process refuses it after)."""
        await self.request("POST", "/api/auth/logout")

    async def change_password(self, current_password: str, new_password: str) -> SignInOut:
        """One's own new password: every session ends; the answer signs in again (`token`)."""
        return await self.answer(
            SignInOut,
            "POST",
            "/api/auth/password",
            json_body={"current_password": current_password, "new_password": new_password},
        )

    async def me(self) -> MeOut:
        return await self.answer(MeOut, "GET", "/api/me")

    async def workspaces(self) -> list[WorkspaceOut]:
        return await self.answer(list[WorkspaceOut], "GET", "/api/workspaces")

    # -- flows --------------------------------------------------------------------------
    async def node_types(self) -> list[NodeTypeOut]:
        return await self.answer(list[NodeTypeOut], "GET", "/api/node-types")

    async def flows(self, workspace: str | None = None) -> list[FlowOut]:
        return await self.answer(
            list[FlowOut], "GET", "/api/flows", params={"workspace": workspace} if workspace else None
        )

    async def flow(self, flow_id: str) -> FlowDetailOut:
        return await self.answer(FlowDetailOut, "GET", f"/api/flows/{_segment(flow_id)}")

    async def create_flow(
        self, workspace: str, name: str, slug: str, document: dict[str, Any]
    ) -> FlowCreatedOut:
        return await self.answer(
            FlowCreatedOut,
            "POST",
            f"/api/workspaces/{_segment(workspace)}/flows",
            json_body={"name": name, "slug": slug, "document": document},
        )

    async def validate(self, document: dict[str, Any]) -> ValidationOut:
        return await self.answer(
            ValidationOut, "POST", "/api/flows/validate", json_body={"document": document}
        )

    async def save_version(self, flow_id: str, document: dict[str, Any]) -> VersionSavedOut:
        return await self.answer(
            VersionSavedOut,
            "POST",
            f"/api/flows/{_segment(flow_id)}/versions",
            json_body={"document": document},
        )

    # -- the working copy (autosaved, may be invalid; versions are cut from it) ------------
    async def draft(self, flow_id: str) -> DraftOut:
        """Document, `validation` (as `validate` answers), `revision` and `etag`."""
        return await self.answer(DraftOut, "GET", f"/api/flows/{_segment(flow_id)}/draft")

    async def write_draft(self, flow_id: str, document: dict[str, Any], etag: str) -> DraftOut:
        """Replace the working copy if it is still at `etag` (412 `draft_changed` otherwise;
        `*` overwrites whatever is there)."""
        return await self.answer(
            DraftOut,
            "PUT",
            f"/api/flows/{_segment(flow_id)}/draft",
            json_body={"document": document},
            headers={"If-Match": etag},
        )

    async def cut_version(self, flow_id: str, etag: str | None = None) -> VersionSavedOut:
        """A version from the working copy (422 with its problems when it is invalid); with
        `etag`, only if the working copy is still what this tab saved last."""
        return await self.answer(
            VersionSavedOut,
            "POST",
            f"/api/flows/{_segment(flow_id)}/versions",
            headers={"If-Match": etag} if etag else None,
        )

    async def versions(self, flow_id: str) -> list[VersionOut]:
        return await self.answer(list[VersionOut], "GET", f"/api/flows/{_segment(flow_id)}/versions")

    async def version(self, flow_id: str, number: int) -> VersionDetailOut:
        return await self.answer(
            VersionDetailOut, "GET", f"/api/flows/{_segment(flow_id)}/versions/{int(number)}"
        )

    async def diff(self, flow_id: str, number: int, against: str | int = "live") -> VersionDiff:
        return await self.answer(
            VersionDiff,
            "GET",
            f"/api/flows/{_segment(flow_id)}/versions/{int(number)}/diff",
            params={"against": str(against)},
        )

    async def version_uses(self, flow_id: str, number: int) -> VersionUses:
        """Connections (and what they touch in production), indexes and models a version uses."""
        return await self.answer(
            VersionUses, "GET", f"/api/flows/{_segment(flow_id)}/versions/{int(number)}/uses"
        )

    async def lifecycle(
        self,
        flow_id: str,
        number: int,
        action: str,
        comment: str | None = None,
        override_reason: str | None = None,
    ) -> VersionOut:
        """`action`: submit, approve, reject, publish or retire.

        A submit without passing tests is refused (409 `tests_not_passed`); an admin may
        send `override_reason`, which the runtime records in the audit trail."""
        if action not in ("submit", "approve", "reject", "publish", "retire"):
            raise ValueError(f"unknown lifecycle action {action!r}")
        body: dict[str, Any] | None = None
        if comment is not None and action in ("approve", "reject"):
            body = {"comment": comment}
        elif override_reason and action == "submit":
            body = {"override_reason": override_reason}
        return await self.answer(
            VersionOut,
            "POST",
            f"/api/flows/{_segment(flow_id)}/versions/{int(number)}/{action}",
            json_body=body,
        )

    def test_run(
        self, flow_id: str, number: int, inputs: dict[str, Any], allow_live_reads: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """`allow_live_reads`: connections without a test target may read production data."""
        body: dict[str, Any] = {"inputs": inputs}
        if allow_live_reads:
            body["allow_live_reads"] = True
        return self.stream_events(f"/api/flows/{_segment(flow_id)}/versions/{int(number)}/runs", body)

    # -- test cases and starter flows -----------------------------------------------------
    async def run_tests(self, flow_id: str, number: int, live: bool = False) -> TestReportOut:
        """Run every test case of a version; the runtime stores and returns the report."""
        return await self.answer(
            TestReportOut,
            "POST",
            f"/api/flows/{_segment(flow_id)}/versions/{int(number)}/test",
            json_body={"live": live},
            timeout=TESTS_TIMEOUT,
        )

    async def test_reports(self, flow_id: str, number: int) -> list[TestReportOut]:
        """Reports of a version, newest first."""
        return await self.answer(
            list[TestReportOut], "GET", f"/api/flows/{_segment(flow_id)}/versions/{int(number)}/test-reports"
        )

    async def test_report(self, report_id: str) -> TestReportOut:
        return await self.answer(TestReportOut, "GET", f"/api/test-reports/{_segment(report_id)}")

    async def starters(self) -> list[StarterOut]:
        """Starter flows: slug, name, description, language, readme, needs, document."""
        return await self.answer(list[StarterOut], "GET", "/api/starters")

    # -- assistants, runs, tasks --------------------------------------------------------
    async def assistants(self) -> list[AssistantOut]:
        return await self.answer(list[AssistantOut], "GET", "/api/assistants")

    def invoke(self, slug: str, inputs: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        return self.stream_events(f"/api/assistants/{_segment(slug)}/runs", {"inputs": inputs})

    async def run(self, run_id: str) -> RunWithFeedbackOut:
        return await self.answer(RunWithFeedbackOut, "GET", f"/api/runs/{_segment(run_id)}")

    async def runs(self, flow_id: str | None = None, limit: int = 20) -> list[RunListItemOut]:
        params: dict[str, Any] = {"limit": limit}
        if flow_id:
            params["flow_id"] = flow_id
        return await self.answer(list[RunListItemOut], "GET", "/api/runs", params=params)

    # -- the runs viewer (champions and the board) ----------------------------------------
    async def flow_runs(
        self, flow_id: str, filters: dict[str, Any] | None = None, limit: int = 25, before: str = ""
    ) -> RunPage:
        """A page of the flow's runs: `{"runs": [...], "next_before": id | None}`. Filters:
        status, since, until, has_feedback, has_correction, include_tests (empty ones left out)."""
        params = {key: value for key, value in (filters or {}).items() if value not in ("", None)}
        params["limit"] = limit
        if before:
            params["before"] = before
        return await self.answer(RunPage, "GET", f"/api/flows/{_segment(flow_id)}/runs", params=params)

    async def run_trace(self, run_id: str) -> RunTrace:
        return await self.answer(RunTrace, "GET", f"/api/runs/{_segment(run_id)}/trace")

    async def run_step(self, run_id: str, node_id: str) -> StepFull:
        """One step's inputs and outputs in full (the trace cuts long ones)."""
        return await self.answer(StepFull, "GET", f"/api/runs/{_segment(run_id)}/steps/{_segment(node_id)}")

    async def test_case_proposal(self, run_id: str) -> TestCaseProposal:
        """The test case the run would become, with the working copy's `etag`."""
        return await self.answer(TestCaseProposal, "GET", f"/api/runs/{_segment(run_id)}/test-case")

    async def add_test_case(self, run_id: str, body: dict[str, Any], etag: str) -> TestCaseCreated:
        """Add the run as a case to its flow's working copy, if it is still at `etag`
        (412 `draft_changed` otherwise)."""
        return await self.answer(
            TestCaseCreated,
            "POST",
            f"/api/runs/{_segment(run_id)}/test-case",
            json_body=body,
            headers={"If-Match": etag},
        )

    async def tasks(self, status: str = "open") -> list[TaskListItemOut]:
        return await self.answer(list[TaskListItemOut], "GET", "/api/tasks", params={"status": status})

    async def decide(self, task_id: str, decision: str, comment: str, payload: Any = None) -> DecidedTaskOut:
        body: dict[str, Any] = {"decision": decision, "comment": comment}
        if payload is not None:
            body["payload"] = payload
        return await self.answer(
            DecidedTaskOut, "POST", f"/api/tasks/{_segment(task_id)}/decision", json_body=body
        )

    # -- what a node's form offers to choose from ----------------------------------------
    async def model_endpoints(self) -> list[ModelEndpointView]:
        return await self.answer(list[ModelEndpointView], "GET", "/api/model-endpoints")

    # -- model endpoints (admins) ---------------------------------------------------------
    async def create_model_endpoint(self, body: dict[str, Any]) -> ModelEndpointView:
        """`body`: name, base_url, model and, optionally, api_key."""
        return await self.answer(ModelEndpointView, "POST", "/api/model-endpoints", json_body=body)

    async def update_model_endpoint(self, name: str, changes: dict[str, Any]) -> ModelEndpointView:
        """`changes`: base_url, model; api_key sets the key, None removes it, left out keeps it."""
        return await self.answer(
            ModelEndpointView, "PATCH", f"/api/model-endpoints/{_segment(name)}", json_body=changes
        )

    async def delete_model_endpoint(self, name: str) -> None:
        await self.request("DELETE", f"/api/model-endpoints/{_segment(name)}")

    async def test_model_endpoint(self, name: str) -> EndpointTestResult:
        return await self.answer(
            EndpointTestResult, "POST", f"/api/model-endpoints/{_segment(name)}/test", timeout=UPLOAD_TIMEOUT
        )

    async def knowledge_indexes(self, workspace: str) -> list[IndexOut]:
        return await self.answer(list[IndexOut], "GET", f"/api/workspaces/{_segment(workspace)}/knowledge")

    # -- knowledge --------------------------------------------------------------------------
    async def create_index(
        self, workspace: str, name: str, description: str = "", labels: list[str] | None = None
    ) -> IndexOut:
        return await self.answer(
            IndexOut,
            "POST",
            f"/api/workspaces/{_segment(workspace)}/knowledge",
            json_body={"name": name, "description": description, "labels": labels or []},
            timeout=UPLOAD_TIMEOUT,  # the first index loads the embedding model
        )

    async def knowledge_index(self, index_id: str) -> IndexDetailOut:
        return await self.answer(IndexDetailOut, "GET", f"/api/knowledge/{_segment(index_id)}")

    async def delete_index(self, index_id: str) -> None:
        await self.request("DELETE", f"/api/knowledge/{_segment(index_id)}")

    async def documents(self, index_id: str) -> list[DocumentOut]:
        return await self.answer(list[DocumentOut], "GET", f"/api/knowledge/{_segment(index_id)}/documents")

    async def delete_document(self, index_id: str, document_id: str) -> None:
        await self.request("DELETE", f"/api/knowledge/{_segment(index_id)}/documents/{_segment(document_id)}")

    async def upload_documents(
        self, index_id: str, files: list[tuple[str, bytes]], labels: list[str] | None = None
    ) -> JobOut:
        """Files as (name, content); answers with the ingestion job."""
        return await self.answer(
            JobOut,
            "POST",
            f"/api/knowledge/{_segment(index_id)}/documents",
            params={"labels": ",".join(labels)} if labels else None,
            files=[("files", (name, data, "application/octet-stream")) for name, data in files],
            timeout=UPLOAD_TIMEOUT,
        )

    async def ingestion_job(self, job_id: str) -> JobOut:
        return await self.answer(JobOut, "GET", f"/api/knowledge/jobs/{_segment(job_id)}")

    async def passage(self, document_id: str, chunk_id: str) -> PassageOut:
        """One source passage, if the caller may read it (404 otherwise)."""
        return await self.answer(
            PassageOut,
            "GET",
            f"/api/knowledge/documents/{_segment(document_id)}/passages/{_segment(chunk_id)}",
        )

    async def search_index(self, index_id: str, query: str, k: int = 5) -> SearchOut:
        return await self.answer(
            SearchOut,
            "POST",
            f"/api/knowledge/{_segment(index_id)}/search",
            json_body={"query": query, "k": k},
        )

    # -- connections (admins) -----------------------------------------------------------------
    async def connections(self, workspace: str) -> list[ConnectionOut]:
        return await self.answer(
            list[ConnectionOut], "GET", f"/api/workspaces/{_segment(workspace)}/connections"
        )

    async def create_connection(
        self,
        workspace: str,
        name: str,
        kind: str,
        settings: dict[str, Any],
        secrets: dict[str, str],
        test_target: dict[str, Any] | bool | None = False,
    ) -> ConnectionOut:
        """`test_target`: a dict sets one; False or None: none."""
        body: dict[str, Any] = {"name": name, "kind": kind, "settings": settings, "secrets": secrets}
        if isinstance(test_target, dict):
            body["test_target"] = test_target
        return await self.answer(
            ConnectionOut, "POST", f"/api/workspaces/{_segment(workspace)}/connections", json_body=body
        )

    async def update_connection(
        self,
        connection_id: str,
        name: str,
        settings: dict[str, Any],
        secrets: dict[str, str],
        test_target: dict[str, Any] | bool | None = False,
    ) -> ConnectionOut:
        """Secrets left out stay as they are; `test_target`: a dict sets or changes it, None
        removes it, False leaves it as it is."""
        body: dict[str, Any] = {"name": name, "settings": settings, "secrets": secrets}
        if test_target is not False:
            body["test_target"] = test_target
        return await self.answer(
            ConnectionOut, "PATCH", f"/api/connections/{_segment(connection_id)}", json_body=body
        )

    async def delete_connection(self, connection_id: str) -> None:
        await self.request("DELETE", f"/api/connections/{_segment(connection_id)}")

    async def test_connection(self, connection_id: str, target: str = "production") -> ConnectionTestOut:
        return await self.answer(
            ConnectionTestOut,
            "POST",
            f"/api/connections/{_segment(connection_id)}/test",
            params={"target": target},
            timeout=UPLOAD_TIMEOUT,
        )

    # -- monitoring, audit, feedback -------------------------------------------------------
    async def monitoring(
        self, workspace: str, since: str = "", until: str = "", flow: str = ""
    ) -> MonitoringOut:
        params = {"workspace": workspace, "since": since, "until": until, "flow": flow}
        return await self.answer(
            MonitoringOut, "GET", "/api/monitoring", params={k: v for k, v in params.items() if v}
        )

    async def audit(self, filters: dict[str, Any]) -> list[AuditEntryOut]:
        """Entries newest first; filters: action, who, resource_type, resource_id, since,
        until, limit, before_seq (empty ones are left out)."""
        return await self.answer(
            list[AuditEntryOut],
            "GET",
            "/api/audit",
            params={k: v for k, v in filters.items() if v not in ("", None)},
        )

    async def audit_export(self, filters: dict[str, Any]) -> str:
        """The matching entries as JSON Lines (action, since, until)."""
        return await self.request(
            "GET",
            "/api/audit/export",
            params={k: v for k, v in filters.items() if v not in ("", None)},
            timeout=UPLOAD_TIMEOUT,
            raw=True,
        )

    async def audit_verify(self) -> VerifyOut:
        return await self.answer(VerifyOut, "GET", "/api/audit/verify", timeout=UPLOAD_TIMEOUT)

    async def audit_anchor(self) -> AnchorOut:
        """Sign the chain's head now and write it outside the database."""
        return await self.answer(AnchorOut, "POST", "/api/audit/anchor")

    async def give_feedback(self, run_id: str, rating: str, correction: str = "") -> FeedbackOut:
        body: dict[str, Any] = {"rating": rating}
        if rating == "down" and correction.strip():
            body["correction"] = correction.strip()
        return await self.answer(
            FeedbackOut, "POST", f"/api/runs/{_segment(run_id)}/feedback", json_body=body
        )

    # -- notifications (the inbox; the admin's choice of the mail connection) ------------
    async def notifications(self, limit: int = 50, cursor: str | None = None) -> NotificationPage:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return await self.answer(NotificationPage, "GET", "/api/notifications", params=params)

    async def unread_count(self) -> int:
        return (await self.answer(UnreadCount, "GET", "/api/notifications/unread-count"))["unread"]

    async def mark_read(self, notification_id: str) -> NotificationOut:
        return await self.answer(
            NotificationOut, "POST", f"/api/notifications/{_segment(notification_id)}/read"
        )

    async def mark_all_read(self) -> MarkedRead:
        return await self.answer(MarkedRead, "POST", "/api/notifications/read-all")

    async def notification_settings(self) -> MailSettingsOut:
        return await self.answer(MailSettingsOut, "GET", "/api/admin/notification-settings")

    async def set_notification_settings(
        self, connection_id: str | None, studio_url: str | None
    ) -> MailSettingsOut:
        return await self.answer(
            MailSettingsOut,
            "PUT",
            "/api/admin/notification-settings",
            json_body={"connection_id": connection_id, "studio_url": studio_url},
        )


def _event_data(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {"type": "message", "text": text}
    return data if isinstance(data, dict) else {"type": "message", "data": data}
