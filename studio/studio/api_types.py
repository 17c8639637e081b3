"""The runtime's answers as the studio reads them: one TypedDict per response model.

Generated from the runtime's OpenAPI description by `scripts/studio_api_types.py`; do not
edit by hand. After changing a response model of the runtime, regenerate it with

    PYTHONPATH=$PWD python scripts/studio_api_types.py

`tests/studio/test_api_types.py` fails while this file is stale.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class AnchorOut(TypedDict):
    seq: int
    entry_hash: str
    anchored_at: str
    key_id: str
    signature: str
    written_to: list[str]
    failed: dict[str, str]


class AnchorsOut(TypedDict):
    ok: bool
    anchors: int
    last_anchored_seq: int
    last_anchored_at: str | None
    unanchored_entries: int
    problems: list[str]


class ApprovalsUsageOut(TypedDict):
    raised: int
    approved: int
    rejected: int
    expired: int
    open: int
    cancelled: int
    # approved / (approved + rejected)
    approval_rate: float | None
    # From raising a task to its decision
    median_wait_s: float | None


class AssistantOut(TypedDict):
    slug: str
    name: str
    flow_id: str
    # The slug of the flow's workspace
    workspace: str
    description: str
    # The live version's number
    version: int
    content_hash: str
    # The flow's declared inputs (name: type, required, ...)
    inputs: dict[str, Any]
    # The assistant's card: purpose, risk, owner, ...
    card: dict[str, Any]


class AssistantUsageOut(TypedDict):
    flow_id: str
    slug: str
    name: str
    # The live version's number; null: nothing is live
    live_version: int | None
    summary: UsageSummaryOut
    daily: list[DailyUsageOut]


class AuditEntryOut(TypedDict):
    seq: int
    at: str
    actor: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    version_hash: str | None
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str


class AutomatedActionsOut(TypedDict):
    connector_calls: int
    failed: int


class CancelOut(TypedDict):
    id: str
    # cancelled; cancelling: another process drives the run and stops it at its next step
    status: Literal["cancelled", "cancelling"]


class CaseResultOut(TypedDict):
    name: str
    passed: bool
    # How the case's run ended
    status: Literal["succeeded", "waiting", "failed"]
    duration_ms: float
    # The flow's outputs in this case
    outputs: dict[str, Any]
    # Branch each router node took
    branches: dict[str, str]
    # Approval nodes the case reached
    approvals: list[str]
    # Connector nodes the case reached (never called)
    connector_calls: list[str]
    # Failed checks: {code, message, ...parameters} (runtime/codes: checks)
    failures: list[dict[str, Any]]
    # Why the run failed, if it did
    error: dict[str, Any] | None
    # Each node's outputs, as in a run's steps
    steps: list[dict[str, Any]]


class CheckRuleOut(TypedDict):
    check: str
    # value: a flow output (`output`) or a node's field (`node` + `field`); node: a node (`node`);
    # run: the whole run
    on: Literal["value", "node", "run"]
    # Whether the check names a node (optional: without one it is about the whole run)
    node: Literal["required", "optional", "none"]
    # Whether the check takes a `value`
    needs_value: bool
    # The values `value` may take, when they are a closed set
    values: list[str] | None
    # Whether the check takes `arguments` (a subset of a tool call's arguments)
    arguments: NotRequired[bool]


class ChunkingOut(TypedDict):
    # Longest passage in characters
    max_chars: int
    # Characters of whole sentences repeated in the next passage
    overlap_chars: int


class ConnectionOut(TypedDict):
    id: str
    # The workspace's slug
    workspace: str | None
    name: str
    kind: Literal["http", "webhook", "email", "sql"]
    # Settings of the connection's kind
    settings: dict[str, Any]
    # Per secret name: that it is set, and since when
    secrets: dict[str, SecretOut]
    # null: test runs refuse side effects
    test_target: TestTargetOut | None
    created_at: str | None
    updated_at: str | None


class ConnectionTestOut(TypedDict):
    ok: bool
    # HTTP connections: the status of the test GET
    status: NotRequired[int | None]
    # What happened, in English; never a secret
    message: str
    duration_ms: float


class ConnectionUse(TypedDict):
    name: str
    exists: bool
    kind: NotRequired[str | None]
    host: NotRequired[str | None]
    actions: list[str]
    nodes: list[str]
    # Some action changes something there (not only reads)
    side_effects: bool
    # Test runs call a test target instead of production
    has_test_target: bool
    # Published runs call it (every connection that exists)
    touches_production: bool


class ConnectionUseOut(TypedDict):
    node: str
    connection: str
    action: str
    sql: NotRequired[str | None]
    to: NotRequired[str | None]
    method: NotRequired[str | None]
    path: NotRequired[str | None]
    exists: bool
    effect: Literal["read", "idempotent", "unsafe"]
    connection_id: NotRequired[str | None]
    kind: NotRequired[Literal["http", "webhook", "email", "sql"] | None]
    host: NotRequired[str | None]
    has_test_target: NotRequired[bool | None]


class DailyUsageOut(TypedDict):
    # YYYY-MM-DD (UTC)
    day: str
    succeeded: int
    failed: int
    waiting: int
    cancelled: int
    expired: int
    running: int
    tokens: int
    feedback_up: int
    feedback_down: int
    corrections: int
    tasks_raised: int
    tasks_approved: int
    tasks_rejected: int
    tasks_expired: int
    tasks_open: int
    tasks_cancelled: int
    connector_calls: int
    connector_failed: int
    runs: int
    p50_ms: float | None
    p95_ms: float | None
    median_wait_s: float | None


class DecidedTaskOut(TypedDict):
    id: str
    run_id: str
    node_id: str
    title: str
    status: Literal["open", "approved", "rejected", "expired", "cancelled"]
    # Usernames or role:<role> entries who may decide
    assignees: list[str]
    quorum: int
    approvals: int
    instructions: str
    # What the decision is about (a letter, a ticket); editable if `editable`
    payload: Any
    editable: bool
    # "side_effect_uncertain": a connector asks whether an interrupted call arrived (approve = yes, it
    # was sent; reject = no, send it once); null for approval nodes
    question: str | None
    resolution: dict[str, Any] | None
    due_at: str | None
    created_at: str | None
    resolved_at: str | None
    # The run's status after the decision (null: gone)
    run_status: Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled", "expired"] | None
    # Whether this process resumed the run (it was no longer open)
    resumed: bool


class DeliveryOut(TypedDict):
    run_id: str
    status: Literal["started"]
    replayed: NotRequired[bool]


DiffEdge = TypedDict(
    "DiffEdge",
    {
        "from": "str",
        "to": "str",
        "when": "NotRequired[str | None]",
    },
)


class DiffSummary(TypedDict):
    nodes_added: int
    nodes_removed: int
    nodes_changed: int
    edges_added: int
    edges_removed: int
    edges_changed: int
    changed: bool


class DocumentOut(TypedDict):
    id: str
    index_id: str
    filename: str
    content_hash: str
    size_bytes: int
    media_type: str
    labels: list[str]
    chunks: int
    created_at: str | None
    updated_at: str | None


class DraftOut(TypedDict):
    flow_id: str
    revision: int
    # What the next write sends as If-Match
    etag: str
    # The version it was last cut as or started from
    base_version: int | None
    updated_by: str | None
    updated_at: str | None
    # Any JSON: a working copy may be unfinished
    document: Any
    validation: ValidationOut


EdgeChange = TypedDict(
    "EdgeChange",
    {
        "from": "str",
        "to": "str",
        "old_when": "NotRequired[str | None]",
        "new_when": "NotRequired[str | None]",
    },
)


class EdgesDiff(TypedDict):
    added: list[DiffEdge]
    removed: list[DiffEdge]
    changed: list[EdgeChange]


class EndpointRemoved(TypedDict):
    name: str
    removed: NotRequired[bool]


class EndpointTestResult(TypedDict):
    name: str
    ok: bool
    latency_ms: float
    # Why it failed, for programs
    error: NotRequired[
        Literal[
            "not_allowed",
            "unreachable",
            "timeout",
            "unauthorized",
            "not_found",
            "server_error",
            "bad_response",
        ]
        | None
    ]
    # What happened, in English; never the API key
    message: NotRequired[str]


class EndpointTestSummary(TypedDict):
    ok: bool
    at: str | None
    latency_ms: float | None
    error: (
        Literal[
            "not_allowed",
            "unreachable",
            "timeout",
            "unauthorized",
            "not_found",
            "server_error",
            "bad_response",
        ]
        | None
    )


class ErrorCodeOut(TypedDict):
    code: str
    family: Literal["answer", "problem", "check", "step"]
    # English text; parameters as {name}
    message: str
    params: list[str]
    # The words the parameter `reason` can take
    reasons: list[str]


class FeedbackOut(TypedDict):
    run_id: str
    rating: Literal["up", "down"]
    # What the answer should have said (only with "down")
    correction: str | None
    # Username of whoever gave it
    by: str | None
    created_at: str | None
    updated_at: str | None


class FeedbackUsageOut(TypedDict):
    count: int
    up: int
    down: int
    corrections: int
    # Feedback per ended run
    rate: float | None
    # The share of thumbs up
    up_share: float | None


class FieldChange(TypedDict):
    field: str
    old: NotRequired[Any]
    new: NotRequired[Any]
    # Unified diff lines (without headers) when either side is a long text
    text_diff: NotRequired[list[str] | None]


class FlowCreatedOut(TypedDict):
    id: str
    name: str
    slug: str
    # The workspace's slug
    workspace: str
    created_at: str | None
    latest_version: VersionBriefOut | None
    live_version: LiveVersionOut | None
    version: VersionOut


class FlowDetailOut(TypedDict):
    id: str
    name: str
    slug: str
    # The workspace's slug
    workspace: str
    created_at: str | None
    latest_version: VersionWithDocumentOut | None
    live_version: LiveVersionOut | None
    # What the caller may do with the flow
    allowed_actions: list[str]


class FlowOut(TypedDict):
    id: str
    name: str
    slug: str
    # The workspace's slug
    workspace: str
    created_at: str | None
    latest_version: VersionBriefOut | None
    live_version: LiveVersionOut | None


class Health(TypedDict):
    status: str
    database: NotRequired[str | None]
    worker: NotRequired[str | None]


class HitOut(TypedDict):
    chunk_id: str
    document_id: str
    text: str
    source: str
    page: int | None
    section: str | None
    labels: list[str]
    score: float
    # Cosine similarity of the dense search, if it ran
    similarity: float | None
    # Rank in each search that found the passage (dense, lexical)
    ranks: dict[str, int]


class IndexDetailOut(TypedDict):
    id: str
    name: str
    workspace_id: str
    # The workspace's slug
    workspace: str | None
    description: str
    backend: Literal["embedded", "marqo"]
    embedding_model: str
    chunking: ChunkingOut
    # Labels every document of the index carries
    labels: list[str]
    created_at: str | None
    documents: int
    allowed_actions: list[str]
    # The backend's figures (embedded: chunks, documents, vectors, tombstones; marqo: index, chunks,
    # vectors), or {error} when the backend cannot be reached
    stats: dict[str, Any]


class IndexOut(TypedDict):
    id: str
    name: str
    workspace_id: str
    # The workspace's slug
    workspace: str | None
    description: str
    backend: Literal["embedded", "marqo"]
    embedding_model: str
    chunking: ChunkingOut
    # Labels every document of the index carries
    labels: list[str]
    created_at: str | None


class IndexUse(TypedDict):
    name: str
    exists: bool
    backend: NotRequired[str | None]
    documents: NotRequired[int | None]
    nodes: list[str]


class JobFileOut(TypedDict):
    name: str
    size: int
    status: Literal["queued", "running", "indexed", "unchanged", "failed"]
    chunks: int
    # Why the file failed, in English
    error: str | None
    # Why the file failed, as a code (runtime/codes)
    code: str | None
    document_id: str | None
    # The parameters of `code`
    params: NotRequired[dict[str, Any] | None]


class JobOut(TypedDict):
    id: str
    index_id: str
    status: Literal["queued", "running", "succeeded", "completed_with_errors", "failed"]
    labels: list[str]
    files_total: int
    files_done: int
    files_failed: int
    chunks_done: int
    error: str | None
    files: list[JobFileOut]
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class LatencyOut(TypedDict):
    p50: float | None
    p95: float | None
    count: int


class LatestFixedOut(TypedDict):
    id: str
    passed: bool
    total: int
    failed: int
    created_at: str | None


class LiveVersionOut(TypedDict):
    number: int
    content_hash: str


class MailSettingsOut(TypedDict):
    connection_id: str | None
    connection_name: str | None
    workspace: str | None
    # What links in mails point at
    studio_url: str
    # The admin's address; null: DIRIGENT_STUDIO_URL
    studio_url_set: str | None
    updated_by: str | None
    updated_at: str | None
    # Outbox rows per status: pending, sending, sent, failed
    mails: dict[str, int]


class MarkedRead(TypedDict):
    marked: int
    unread: int


class McpServerNames(TypedDict):
    name: str
    read_only_tools: list[str]


class McpServerRemoved(TypedDict):
    name: str
    removed: NotRequired[bool]


class McpServerTestResult(TypedDict):
    name: str
    ok: bool
    latency_ms: float
    tools: NotRequired[list[McpToolView]]
    # Why it failed, for programs
    error: NotRequired[
        Literal["not_allowed", "unreachable", "timeout", "bad_response", "not_installed"] | None
    ]
    # What happened, in English; never a token
    message: NotRequired[str]


class McpServerView(TypedDict):
    name: str
    url: str
    # The token itself is never shown
    has_bearer_token: bool
    # Names of the further headers; their values are never shown
    header_names: list[str]
    read_only_tools: list[str]
    created_by: NotRequired[str | None]
    created_at: NotRequired[str | None]
    updated_at: NotRequired[str | None]


class McpToolList(TypedDict):
    server: str
    tools: list[McpToolView]


class McpToolView(TypedDict):
    name: str
    description: NotRequired[str]
    # Copy it into the agent's tool as `input_schema`
    input_schema: dict[str, Any]
    # The admin marked it read-only: no approval needed
    read_only: bool


class MeOut(TypedDict):
    id: str
    username: str
    # board, admin
    global_roles: list[str]
    # Where the caller has a role, by slug
    workspaces: list[MyWorkspaceOut]


class ModelEndpointView(TypedDict):
    name: str
    # Without any user:password@
    base_url: str
    model: str
    # admin: registered here; environment: DIRIGENT_LLM_URL (change it there)
    source: Literal["admin", "environment"]
    # The key itself is never shown
    has_api_key: bool
    created_by: NotRequired[str | None]
    created_at: NotRequired[str | None]
    updated_at: NotRequired[str | None]
    last_test: NotRequired[EndpointTestSummary | None]


class ModelUse(TypedDict):
    # The model endpoint's name, as the nodes' `model` says
    name: str
    exists: bool
    host: NotRequired[str | None]
    served_model: NotRequired[str | None]
    nodes: list[str]


class MonitoringOut(TypedDict):
    # The workspace's slug
    workspace: str
    # The flow the report is limited to, if any
    flow: str | None
    since: str
    until: str
    days: list[str]
    summary: UsageSummaryOut
    daily: list[DailyUsageOut]
    assistants: list[AssistantUsageOut]
    # Most runs first; a run counts for each role of its starter
    roles: list[RoleUsageOut]


class MyWorkspaceOut(TypedDict):
    id: str
    slug: str
    name: str
    # The caller's roles there: admin, champion, user
    roles: list[str]


class NamedChange(TypedDict):
    name: str
    old: NotRequired[Any]
    new: NotRequired[Any]


class NamedDiff(TypedDict):
    added: list[str]
    removed: list[str]
    changed: list[NamedChange]


class NodeChange(TypedDict):
    id: str
    type: NotRequired[str | None]
    title: NotRequired[str]
    fields: list[FieldChange]


class NodeSnapshot(TypedDict):
    id: str
    type: NotRequired[str | None]
    title: NotRequired[str]
    config: NotRequired[dict[str, Any]]


class NodeTypeOut(TypedDict):
    type: str
    title: str
    description: str
    category: str
    outputs: list[str]
    # Config fields that are Jinja2 templates
    template_fields: list[str]
    # The JSON schema of the node's config
    config_schema: dict[str, Any]


class NodesDiff(TypedDict):
    added: list[NodeSnapshot]
    removed: list[NodeSnapshot]
    changed: list[NodeChange]
    # Ids of the new version's nodes that did not change
    unchanged: list[str]


class NotFixableOut(TypedDict):
    # A node type
    type: str
    # The problem a document gets that fixes such a node; null: the type returns nothing a case could
    # fix
    code: str | None


class NotificationOut(TypedDict):
    id: str
    # version_submitted | version_approved | version_rejected | task_assigned | task_overdue
    kind: str
    # What the studio words the notification with (flow, number, by, title, ...)
    params: dict[str, Any]
    # version | task
    target_type: str
    target_id: str
    created_at: str
    read_at: str | None


class NotificationPage(TypedDict):
    items: list[NotificationOut]
    unread: int
    # Pass as `cursor` for the next (older) page; null: no more
    next_cursor: str | None


class PassageOut(TypedDict):
    index_id: str
    # The index's name
    index: str
    document_id: str
    chunk_id: str
    source: str
    page: int | None
    section: str | None
    text: str


class ProblemOut(TypedDict):
    # The node's id; null: the document as a whole
    node: str | None
    # The field, e.g. `config.prompt` or `edges[2].to`
    field: str | None
    # A stable code (`GET /api/error-codes` lists them)
    code: str
    # The values the code's text names
    params: dict[str, Any]
    # What is wrong, in English
    message: str


class ProductionConnectionOut(TypedDict):
    connection: str
    exists: bool
    kind: str | None
    host: str | None
    has_test_target: bool
    # Some action changes something there (not only reads)
    side_effects: bool
    nodes: list[str]
    actions: list[str]


class ReviewOut(TypedDict):
    reviewer: str
    decision: Literal["approve", "reject"]
    comment: str
    round: int
    at: str | None


class RoleRemovedOut(TypedDict):
    username: str
    role: str
    workspace: str | None
    sessions_ended: int


class RoleUsageOut(TypedDict):
    # A workspace role, admin, board, external, or system (no person)
    role: str
    summary: UsageSummaryOut
    daily: list[DailyUsageOut]


class RunCountsOut(TypedDict):
    total: int
    succeeded: int
    failed: int
    # Waiting for a person
    waiting: int
    cancelled: int
    expired: int
    # Running or queued
    running: int


class RunFeedbackOut(TypedDict):
    rating: Literal["up", "down"]
    correction: str | None
    by: str | None
    updated_at: str | None


class RunListItemOut(TypedDict):
    id: str
    flow_id: str
    version: int
    status: Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled", "expired"]
    is_test: bool
    created_at: str | None
    finished_at: str | None
    total_tokens: int


class RunOut(TypedDict):
    id: str
    flow_id: str
    version: int
    content_hash: str
    status: Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled", "expired"]
    is_test: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    total_tokens: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    # A sub-run (of an assistant or map node): the run whose node started it
    parent_run_id: NotRequired[str | None]
    steps: list[StepOut]
    tasks: list[TaskOut]


class RunPage(TypedDict):
    runs: list[RunRow]
    # Pass as `before` for the next page; None on the last
    next_before: str | None


class RunRow(TypedDict):
    id: str
    flow_id: str
    version: int
    status: str
    is_test: bool
    # Display name of who asked (None: a webhook, a schedule)
    started_by: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    # From the request to the end; None while it has not ended
    duration_ms: float | None
    total_tokens: int
    # The rating of whoever asked, if they gave one
    feedback: Literal["up", "down"] | None
    has_correction: bool


class RunStartedOut(TypedDict):
    id: str
    flow_id: str
    version: int
    content_hash: str
    status: Literal["queued", "running"]
    is_test: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    total_tokens: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    # A sub-run (of an assistant or map node): the run whose node started it
    parent_run_id: NotRequired[str | None]
    steps: list[StepOut]
    tasks: list[TaskOut]


class RunTrace(TypedDict):
    id: str
    flow_id: str
    flow_name: str
    version: int
    content_hash: str
    status: str
    is_test: bool
    started_by: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_ms: float | None
    total_tokens: int
    inputs: Any
    outputs: Any
    error: dict[str, Any] | None
    # Whether the run's own inputs or outputs were cut
    truncated: bool
    steps: list[StepTrace]
    feedback: RunFeedbackOut | None
    # Whether the caller may edit the flow (and so add the run as a test case)
    can_make_test_case: bool


class RunWithFeedbackOut(TypedDict):
    id: str
    flow_id: str
    version: int
    content_hash: str
    status: Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled", "expired"]
    is_test: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    total_tokens: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    # A sub-run (of an assistant or map node): the run whose node started it
    parent_run_id: NotRequired[str | None]
    steps: list[StepOut]
    tasks: list[TaskOut]
    # The starter's feedback, if given
    feedback: FeedbackOut | None


class SearchOut(TypedDict):
    query: str
    k: int
    results: list[HitOut]


class SecretOut(TypedDict):
    set: bool
    # Always the mask ••••
    display: str
    changed_at: str | None


class SessionsEndedOut(TypedDict):
    username: str
    sessions_ended: int


class SignInOut(TypedDict):
    # Send it as `Authorization: Bearer <token>`
    token: str
    # Bearer
    token_type: str
    expires_at: str
    user: SignedInUserOut


class SignedInUserOut(TypedDict):
    id: str
    username: str


class SignedOutOut(TypedDict):
    signed_out: bool


class StarterOut(TypedDict):
    slug: str
    name: str
    description: str
    # Language of the prompts and texts: de | en
    language: str
    # The starter's README.md (Markdown), shown beside the gallery
    readme: str
    # What the flow uses: {"connections": [...], "indexes": [...]} (names)
    needs: dict[str, list[str]]
    # The flow document (dirigent.flow/v1), prompts resolved, test cases included
    document: dict[str, Any]


class StepFull(TypedDict):
    run_id: str
    node_id: str
    node_type: str
    status: str
    inputs: Any
    outputs: Any
    error: dict[str, Any] | None


class StepOut(TypedDict):
    node_id: str
    node_type: str
    # running | succeeded | failed | skipped | waiting | cancelled | expired
    status: str
    inputs: dict[str, Any] | None
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    # Tokens the node used (LLM nodes)
    usage: dict[str, Any] | None
    started_at: str | None
    finished_at: str | None
    duration_ms: float | None


class StepTrace(TypedDict):
    node_id: str
    node_type: str
    # The node's title in the version that ran, else its id
    title: str
    status: str
    started_at: str | None
    finished_at: str | None
    duration_ms: float | None
    tokens: int
    inputs: Any
    outputs: Any
    error: dict[str, Any] | None
    truncated: bool


class TaskDetailOut(TypedDict):
    id: str
    run_id: str
    node_id: str
    title: str
    status: Literal["open", "approved", "rejected", "expired", "cancelled"]
    # Usernames or role:<role> entries who may decide
    assignees: list[str]
    quorum: int
    approvals: int
    instructions: str
    # What the decision is about (a letter, a ticket); editable if `editable`
    payload: Any
    editable: bool
    # "side_effect_uncertain": a connector asks whether an interrupted call arrived (approve = yes, it
    # was sent; reject = no, send it once); null for approval nodes
    question: str | None
    resolution: dict[str, Any] | None
    due_at: str | None
    created_at: str | None
    resolved_at: str | None
    # Whether the policy lets the caller decide it now
    can_decide: bool


class TaskFlowOut(TypedDict):
    name: str
    slug: str


class TaskListItemOut(TypedDict):
    id: str
    run_id: str
    node_id: str
    title: str
    status: Literal["open", "approved", "rejected", "expired", "cancelled"]
    # Usernames or role:<role> entries who may decide
    assignees: list[str]
    quorum: int
    approvals: int
    instructions: str
    # What the decision is about (a letter, a ticket); editable if `editable`
    payload: Any
    editable: bool
    # "side_effect_uncertain": a connector asks whether an interrupted call arrived (approve = yes, it
    # was sent; reject = no, send it once); null for approval nodes
    question: str | None
    resolution: dict[str, Any] | None
    due_at: str | None
    created_at: str | None
    resolved_at: str | None
    flow: TaskFlowOut
    # Whether the policy lets the caller decide it now
    can_decide: bool


class TaskOut(TypedDict):
    id: str
    run_id: str
    node_id: str
    title: str
    status: Literal["open", "approved", "rejected", "expired", "cancelled"]
    # Usernames or role:<role> entries who may decide
    assignees: list[str]
    quorum: int
    approvals: int
    instructions: str
    # What the decision is about (a letter, a ticket); editable if `editable`
    payload: Any
    editable: bool
    # "side_effect_uncertain": a connector asks whether an interrupted call arrived (approve = yes, it
    # was sent; reject = no, send it once); null for approval nodes
    question: str | None
    resolution: dict[str, Any] | None
    due_at: str | None
    created_at: str | None
    resolved_at: str | None


class TestCaseCreated(TypedDict):
    flow_id: str
    # The case's position in the working copy's `tests`
    index: int
    name: str
    case: dict[str, Any]
    llm_nodes: list[str]
    revision: int
    etag: str


class TestCaseProposal(TypedDict):
    flow_id: str
    name: str
    inputs: dict[str, Any]
    # Connector nodes fixed with what they answered in the run
    fixed: list[str]
    # Approval nodes decided as they were in the run
    decisions: list[str]
    # The declared outputs of the working copy
    outputs: list[str]
    # The output the check looks at by default
    output: str | None
    check: Literal["equals", "contains"]
    expected: str
    # Whether `expected` is the asker's correction
    from_correction: bool
    # Nodes that ask the LLM and are not fixed: in fixed mode (the mode that gates submission) the
    # case fails until they are fixed; run the cases live to check them
    llm_nodes: list[str]
    revision: int
    etag: str


class TestCaseRulesOut(TypedDict):
    # Every check, in the order clients offer them
    checks: list[CheckRuleOut]
    not_fixable: list[NotFixableOut]
    # What a case may decide for an approval node
    decisions: list[str]
    # The checks a case taken from a run may use
    from_run_checks: list[str]


class TestReportOut(TypedDict):
    id: str
    flow_id: str
    version: int
    content_hash: str
    mode: Literal["fixed", "live"]
    passed: bool
    total: int
    failed: int
    created_at: str | None
    # User name of whoever ran the cases
    created_by: str | None
    duration_ms: float
    cases: list[CaseResultOut]


class TestTargetOut(TypedDict):
    # Settings of the connection's kind
    settings: dict[str, Any]
    secrets: dict[str, SecretOut]


class TestsOut(TypedDict):
    # How many test cases the version's document has
    cases: int
    latest_fixed: LatestFixedOut | None
    gate: Literal["missing", "failed", "passed"]


class ToolChange(TypedDict):
    node: str
    name: str
    old: ToolSnapshot
    new: ToolSnapshot
    # The tool's changed fields (`method`, `parameters.required`, ...)
    fields: list[str]


class ToolSnapshot(TypedDict):
    # The agent node's id
    node: str
    name: str
    kind: str
    description: NotRequired[str]
    # changes: it changes something outside Dirigent; reads: only reads
    effect: Literal["changes", "reads", "unknown"]
    # Whether its calls wait for a person (None: unknown)
    held: bool | None
    connection: NotRequired[str | None]
    method: NotRequired[str | None]
    path: NotRequired[str | None]
    index: NotRequired[str | None]


class ToolsDiff(TypedDict):
    """Tools of agent nodes gained, lost or changed, with their side-effect class"""

    added: NotRequired[list[ToolSnapshot]]
    removed: NotRequired[list[ToolSnapshot]]
    changed: NotRequired[list[ToolChange]]


class TriggerOut(TypedDict):
    id: str
    # The assistant's slug
    assistant: str
    kind: Literal["webhook", "schedule"]
    name: str
    enabled: bool
    created_at: str | None
    last_fired_at: str | None
    last_run_id: str | None
    # Webhook: where deliveries go (POST, signed)
    url: NotRequired[str | None]
    # Webhook: the signing key, in the answer that made it only; else the mask
    signing: NotRequired[str | None]
    # Webhook: the headers a delivery carries (timestamp, signature)
    headers: NotRequired[list[str] | None]
    # Schedule: cron expression
    cron: NotRequired[str | None]
    # Schedule: the zone `cron` is read in
    timezone: NotRequired[str | None]
    # Schedule: the inputs of each run
    inputs: NotRequired[dict[str, Any] | None]
    # Schedule: when it fires next
    next_fire_at: NotRequired[str | None]


class UnreadCount(TypedDict):
    unread: int


class UsageSummaryOut(TypedDict):
    runs: RunCountsOut
    success_rate: float | None
    latency_ms: LatencyOut
    tokens: int
    feedback: FeedbackUsageOut
    approvals: ApprovalsUsageOut
    automated_actions: AutomatedActionsOut


class ValidationOut(TypedDict):
    valid: bool
    # The document's hash; null when it is not valid
    content_hash: str | None
    errors: list[ProblemOut]


class ValueChange(TypedDict):
    field: str
    old: NotRequired[Any]
    new: NotRequired[Any]


class VerifyOut(TypedDict):
    ok: bool
    entries: int
    first_bad_seq: int | None
    problem: str | None
    last_hash: str | None
    warnings: list[str]
    anchors: AnchorsOut


class VersionBriefOut(TypedDict):
    number: int
    state: Literal["draft", "submitted", "approved", "rejected", "published", "retired"]


class VersionConnectionsOut(TypedDict):
    flow_id: str
    version: int
    content_hash: str
    uses: list[ConnectionUseOut]
    # Connections the version names that do not exist
    missing: list[str]


class VersionDetailOut(TypedDict):
    id: str
    flow_id: str
    number: int
    content_hash: str
    state: Literal["draft", "submitted", "approved", "rejected", "published", "retired"]
    # The author's username (in a flow's `latest_version`: their id)
    author: str
    submitted_by: str | None
    submitted_at: str | None
    published_at: str | None
    created_at: str | None
    # The risk class of the version's documentation card
    risk: str
    tests: TestsOut
    # The flow document (`dirigent.flow/v1`)
    document: dict[str, Any]
    is_live: bool
    # Every review of every round, oldest first
    reviews: list[ReviewOut]
    # What the caller may do with the version
    allowed_actions: list[str]
    # How many approvals the version's risk needs
    quorum: int
    production_connections: list[ProductionConnectionOut]


VersionDiff = TypedDict(
    "VersionDiff",
    {
        "from": "NotRequired[int | None]",
        "to": "int",
        "summary": "DiffSummary",
        "nodes": "NodesDiff",
        "edges": "EdgesDiff",
        "inputs": "NamedDiff",
        "outputs": "NamedDiff",
        "tests": "NamedDiff",
        "tools": "NotRequired[ToolsDiff]",
        "card": "list[ValueChange]",
        "meta": "list[ValueChange]",
    },
)


class VersionOut(TypedDict):
    id: str
    flow_id: str
    number: int
    content_hash: str
    state: Literal["draft", "submitted", "approved", "rejected", "published", "retired"]
    # The author's username (in a flow's `latest_version`: their id)
    author: str
    submitted_by: str | None
    submitted_at: str | None
    published_at: str | None
    created_at: str | None
    # The risk class of the version's documentation card
    risk: str
    tests: TestsOut


class VersionSavedOut(TypedDict):
    id: str
    flow_id: str
    number: int
    content_hash: str
    state: Literal["draft", "submitted", "approved", "rejected", "published", "retired"]
    # The author's username (in a flow's `latest_version`: their id)
    author: str
    submitted_by: str | None
    submitted_at: str | None
    published_at: str | None
    created_at: str | None
    # The risk class of the version's documentation card
    risk: str
    tests: TestsOut
    # A new version (201); false: the newest had this content (200)
    created: bool


class VersionUses(TypedDict):
    connections: list[ConnectionUse]
    indexes: list[IndexUse]
    models: list[ModelUse]


class VersionWithDocumentOut(TypedDict):
    id: str
    flow_id: str
    number: int
    content_hash: str
    state: Literal["draft", "submitted", "approved", "rejected", "published", "retired"]
    # The author's username (in a flow's `latest_version`: their id)
    author: str
    submitted_by: str | None
    submitted_at: str | None
    published_at: str | None
    created_at: str | None
    # The risk class of the version's documentation card
    risk: str
    tests: TestsOut
    # The flow document (`dirigent.flow/v1`)
    document: dict[str, Any]


class WorkspaceCreatedOut(TypedDict):
    id: str
    slug: str
    name: str


class WorkspaceOut(TypedDict):
    id: str
    slug: str
    name: str
    created_at: str | None
    # The caller's roles there (none: visible by a global role)
    roles: list[str]
