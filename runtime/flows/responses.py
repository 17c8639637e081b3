"""What the flows API answers: flows, versions, validation reports, working copies, node types.

    FlowOut                      a flow in lists: its newest and its live version in brief
      FlowCreatedOut             ... with the version it was created with
    FlowDetailOut                one flow: its newest version in full, what the caller may do
    VersionOut                   a version with its test summary (`tests`)
      VersionSavedOut            ... and whether saving made a new one
      VersionWithDocumentOut     ... with its document
        VersionDetailOut         ... reviews, quorum, what it touches in production
    ValidationOut                `POST /api/flows/validate` (and a working copy's `validation`)
    DraftOut                     a working copy
    NodeTypeOut                  `GET /api/node-types`

Datetimes are ISO strings made by `runtime.db.models.iso` (what the API has always sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runtime.db.models import Flow, FlowVersion, VersionReview, iso
from runtime.engine.validation import Validation
from runtime.flows.drafts import DraftView
from runtime.flows.gate import Gate

VersionState = Literal["draft", "submitted", "approved", "rejected", "published", "retired"]


# -- versions -------------------------------------------------------------------------
class LatestFixedOut(BaseModel):
    """The newest fixed-mode test report of a version."""

    id: str
    passed: bool
    total: int
    failed: int
    created_at: str | None


class TestsOut(BaseModel):
    """A version's test summary: what the submit gate (`runtime.flows.gate`) decides on."""

    __test__ = False  # not a pytest class, although its name starts with "Test"

    cases: int = Field(description="How many test cases the version's document has")
    latest_fixed: LatestFixedOut | None
    gate: Literal["missing", "failed", "passed"]

    @classmethod
    def of(cls, gate: Gate) -> TestsOut:
        report = gate.latest_fixed
        return cls(
            cases=gate.cases,
            latest_fixed=None
            if report is None
            else LatestFixedOut(
                id=report.id,
                passed=report.passed,
                total=report.total,
                failed=report.failed,
                created_at=iso(report.created_at),
            ),
            gate=gate.status,  # type: ignore[arg-type]
        )


class VersionOut(BaseModel):
    id: str
    flow_id: str
    number: int
    content_hash: str
    state: VersionState
    author: str = Field(description="The author's username (in a flow's `latest_version`: their id)")
    submitted_by: str | None
    submitted_at: str | None
    published_at: str | None
    created_at: str | None
    risk: str = Field(description="The risk class of the version's documentation card")
    tests: TestsOut

    @classmethod
    def fields_of(
        cls, version: FlowVersion, gate: Gate, usernames: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        names = usernames or {}
        return {
            "id": version.id,
            "flow_id": version.flow_id,
            "number": version.number,
            "content_hash": version.content_hash,
            "state": version.state,
            "author": names.get(version.author_id, version.author_id),
            "submitted_by": names.get(version.submitted_by or "", version.submitted_by),
            "submitted_at": iso(version.submitted_at),
            "published_at": iso(version.published_at),
            "created_at": iso(version.created_at),
            "risk": (version.document.get("card") or {}).get("risk", "limited"),
            "tests": TestsOut.of(gate),
        }

    @classmethod
    def of(cls, version: FlowVersion, gate: Gate, usernames: Mapping[str, str] | None = None) -> VersionOut:
        return cls(**cls.fields_of(version, gate, usernames))


class VersionSavedOut(VersionOut):
    created: bool = Field(description="A new version (201); false: the newest had this content (200)")


class VersionWithDocumentOut(VersionOut):
    document: dict[str, Any] = Field(description="The flow document (`dirigent.flow/v1`)")

    @classmethod
    def of(
        cls, version: FlowVersion, gate: Gate, usernames: Mapping[str, str] | None = None
    ) -> VersionWithDocumentOut:
        return cls(**cls.fields_of(version, gate, usernames), document=version.document)


class ReviewOut(BaseModel):
    reviewer: str
    decision: Literal["approve", "reject"]
    comment: str
    round: int
    at: str | None

    @classmethod
    def of(cls, review: VersionReview, reviewer: str) -> ReviewOut:
        return cls(
            reviewer=reviewer,
            decision=review.decision,  # type: ignore[arg-type]
            comment=review.comment,
            round=review.round,
            at=iso(review.created_at),
        )


class ProductionConnectionOut(BaseModel):
    """A connection the version calls: what it touches in production once published."""

    connection: str
    exists: bool
    kind: str | None
    host: str | None
    has_test_target: bool
    side_effects: bool = Field(description="Some action changes something there (not only reads)")
    nodes: list[str]
    actions: list[str]


class VersionDetailOut(VersionWithDocumentOut):
    is_live: bool
    reviews: list[ReviewOut] = Field(description="Every review of every round, oldest first")
    allowed_actions: list[str] = Field(description="What the caller may do with the version")
    quorum: int = Field(description="How many approvals the version's risk needs")
    production_connections: list[ProductionConnectionOut]


# -- flows ----------------------------------------------------------------------------
class VersionBriefOut(BaseModel):
    number: int
    state: VersionState


class LiveVersionOut(BaseModel):
    number: int
    content_hash: str


def _flow_fields(flow: Flow, workspace_slug: str) -> dict[str, Any]:
    return {
        "id": flow.id,
        "name": flow.name,
        "slug": flow.slug,
        "workspace": workspace_slug,
        "created_at": iso(flow.created_at),
    }


def _live(live: FlowVersion | None) -> LiveVersionOut | None:
    return LiveVersionOut(number=live.number, content_hash=live.content_hash) if live else None


class FlowOut(BaseModel):
    id: str
    name: str
    slug: str
    workspace: str = Field(description="The workspace's slug")
    created_at: str | None
    latest_version: VersionBriefOut | None
    live_version: LiveVersionOut | None

    @classmethod
    def fields_of(
        cls, flow: Flow, workspace_slug: str, latest: FlowVersion | None, live: FlowVersion | None
    ) -> dict[str, Any]:
        return {
            **_flow_fields(flow, workspace_slug),
            "latest_version": VersionBriefOut(number=latest.number, state=latest.state)  # type: ignore[arg-type]
            if latest
            else None,
            "live_version": _live(live),
        }

    @classmethod
    def of(
        cls, flow: Flow, workspace_slug: str, latest: FlowVersion | None, live: FlowVersion | None
    ) -> FlowOut:
        return cls(**cls.fields_of(flow, workspace_slug, latest, live))


class FlowCreatedOut(FlowOut):
    version: VersionOut


class FlowDetailOut(BaseModel):
    id: str
    name: str
    slug: str
    workspace: str = Field(description="The workspace's slug")
    created_at: str | None
    latest_version: VersionWithDocumentOut | None
    live_version: LiveVersionOut | None
    allowed_actions: list[str] = Field(description="What the caller may do with the flow")


# -- validation, working copies, node types -------------------------------------------
class ProblemOut(BaseModel):
    """One problem of a flow document, where the studio can mark it."""

    node: str | None = Field(description="The node's id; null: the document as a whole")
    field: str | None = Field(description="The field, e.g. `config.prompt` or `edges[2].to`")
    code: str = Field(description="A stable code (`GET /api/error-codes` lists them)")
    params: dict[str, Any] = Field(description="The values the code's text names")
    message: str = Field(description="What is wrong, in English")


class ValidationOut(BaseModel):
    valid: bool
    content_hash: str | None = Field(description="The document's hash; null when it is not valid")
    errors: list[ProblemOut]

    @classmethod
    def of(cls, report: Validation) -> ValidationOut:
        return cls.model_validate(report.as_json())


class DraftOut(BaseModel):
    """A flow's working copy (`runtime.flows.drafts`)."""

    flow_id: str
    revision: int
    etag: str = Field(description="What the next write sends as If-Match")
    base_version: int | None = Field(description="The version it was last cut as or started from")
    updated_by: str | None
    updated_at: str | None
    document: Any = Field(description="Any JSON: a working copy may be unfinished")
    validation: ValidationOut

    @classmethod
    def of(cls, view: DraftView) -> DraftOut:
        check = view.validation
        return cls(
            flow_id=view.flow_id,
            revision=view.revision,
            etag=view.etag,
            base_version=view.base_version,
            updated_by=view.updated_by,
            updated_at=view.updated_at,
            document=view.document,
            validation=ValidationOut.model_validate(
                {"valid": check.valid, "content_hash": check.content_hash, "errors": check.errors}
            ),
        )


class NodeTypeOut(BaseModel):
    """A node type the studio offers (`nodes.base.Node.describe`)."""

    # A key `describe` gains must be added here, not dropped from the answer unseen.
    model_config = ConfigDict(extra="forbid")

    type: str
    title: str
    description: str
    category: str
    outputs: list[str]
    template_fields: list[str] = Field(description="Config fields that are Jinja2 templates")
    config_schema: dict[str, Any] = Field(description="The JSON schema of the node's config")
