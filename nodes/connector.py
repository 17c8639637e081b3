"""`connector`: calls a connection of the flow's workspace (HTTP/REST, webhook, e-mail, SQL).

The connection is named in the config; what it may reach, its credentials and its limits
are set by an admin on the connection, never in the flow. The call goes through the
`connections` service (`ConnectorService` below), which looks the connection up in the
run's workspace, checks the call against the connection's settings and the egress guard,
journals side effects by `ctx.idempotency_key` (a resumed run does not POST or mail twice)
and audits it. Which fields matter depends on the connection's kind:

    http, webhook   method, path, query, headers, body (a JSON template), select
    email           to, cc, subject, text
    sql             sql (fixed text, never a template), params (templates, bound), max_rows

`select` maps output fields to JSONPath-like selectors on the JSON answer
(`{"task_id": "$.data.id", "names": "$.items[*].name"}`); then `response` is that mapping,
otherwise the whole answer. `status` is the HTTP status (`sent` for an e-mail, the row
count for SQL).

When the call journal shows that an earlier attempt of this very call (same run, same
node) was interrupted mid-call and the connection says `on_uncertain: ask`, the service
answers `UncertainCall` instead: the node suspends the run with an approval task "Was
this already sent?" that shows the call. `resume` then completes the step without
calling ("approved": yes, it arrived) or calls once ("rejected": no, it did not).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Resolution, Scope, Suspend, template_field
from nodes.errors import NodeError

Method = Literal["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
ParamType = Literal["string", "integer", "number", "boolean"]


@dataclass(frozen=True)
class ConnectorRequest:
    """One call, rendered: what the node asks the `connections` service to do."""

    run_id: str
    node_id: str
    idempotency_key: str
    connection: str
    action: str
    method: str = "GET"
    path: str = "/"
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    sql: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    max_rows: int | None = None
    # Who the run acts for and the flow's workspace (from `ctx`); when missing, the
    # service looks them up from the stored run.
    caller_id: str | None = None
    workspace_id: str | None = None
    # A test run (`ctx.is_test`): the connection's test target is called instead.
    is_test: bool = False
    allow_live_reads: bool = False
    # A person's answer to "was this already sent?" after an interrupted call:
    # "sent" completes the call without calling, "not_sent" calls once.
    uncertain_answer: Literal["sent", "not_sent"] | None = None

    # The fields that say what is called (what an uncertainty task carries to `resume`).
    CALL_FIELDS = (
        "connection", "action", "method", "path", "query", "headers", "body",
        "to", "cc", "subject", "text", "sql", "params", "max_rows",
    )  # fmt: skip

    def call_fields(self) -> dict[str, Any]:
        values = asdict(self)
        return {name: values[name] for name in self.CALL_FIELDS}


@dataclass(frozen=True)
class ConnectorResult:
    status: Any
    response: Any


@dataclass(frozen=True)
class UncertainCall:
    """An earlier attempt of this call was interrupted mid-call: `question` is the approval
    request (title, instructions, payload with the call, assignees) the node suspends with."""

    question: dict[str, Any]


class ConnectorService(Protocol):
    """The `connections` service as the node sees it."""

    async def call(self, request: ConnectorRequest) -> ConnectorResult | UncertainCall:
        """Do the call. Raises `NodeError`s: the connection is missing, the call is not
        allowed, the target is refused by the egress guard, or the remote side failed.
        Answers `UncertainCall` when a person must say whether an interrupted earlier
        attempt arrived (the connection's `on_uncertain: ask`)."""
        ...


# -- JSONPath-like selection -------------------------------------------------------------
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\*|-?\d+|'[^']*'|\"[^\"]*\")\]|\.\*")
_WILDCARD = object()


def parse_selector(selector: str) -> list[Any]:
    """`$.a.b[0]['c d'][*]` → ["a", "b", 0, "c d", WILDCARD]; ValueError if malformed."""
    text = selector.strip()
    if text.startswith("$"):
        text = text[1:]
    elif text and not text.startswith((".", "[")):
        text = "." + text
    steps: list[Any] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise PydanticCustomError(
                "invalid_selector",
                "'{selector}' is not a selector like $.data.items[0].id (at '{rest}')",
                {"selector": selector, "rest": text[position:]},
            )
        name, index = match.group(1), match.group(2)
        if name is not None:
            steps.append(name)
        elif index is None or index == "*":
            steps.append(_WILDCARD)
        elif index[0] in "'\"":
            steps.append(index[1:-1])
        else:
            steps.append(int(index))
        position = match.end()
    return steps


def select(value: Any, steps: list[Any]) -> Any:
    """Apply parsed steps; a missing key or index gives None, a wildcard a list."""
    for position, step in enumerate(steps):
        if step is _WILDCARD:
            items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
            return [select(item, steps[position + 1 :]) for item in items]
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and -len(value) <= step < len(value) else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def _templates(description: str) -> Any:
    """A config field holding a dict of templates (the studio shows variable hints)."""
    return Field(default_factory=dict, description=description, json_schema_extra={"format": "template"})


def _coerce(name: str, value: str, kind: ParamType) -> Any:
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "1", "0", "ja", "nein"):
                raise ValueError(value)
            return lowered in ("true", "1", "ja")
    except ValueError:
        raise NodeError(
            f"parameter '{name}' should be {kind}, but rendered to '{value[:80]}'",
            field=f"params.{name}",
            code="connector_param_type",
            name=name,
            kind=kind,
            value=value[:80],
        ) from None
    return value


class ConnectorConfig(NodeConfig):
    connection: str = Field(
        ...,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Name of a connection of the flow's workspace, e.g. crm",
    )
    action: str = Field(
        "call",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="What this call does, e.g. create_task (shown to the board and audited)",
    )
    method: Method = Field("GET", description="HTTP method (http connections)")
    path: str = template_field("Path under the connection's base URL, e.g. /tasks/{{ inputs.id }}", "/")
    query: dict[str, str] = _templates("Query parameters (templates)")
    headers: dict[str, str] = _templates("Extra request headers (templates)")
    body: str | None = template_field('JSON body template, e.g. {"title": {{ draft.text | json }}}', None)
    select: dict[str, str] = Field(
        default_factory=dict, description="Output fields from the JSON answer: {name: $.path.to[0].value}"
    )
    fail_on_error: bool = Field(True, description="Fail the node when the HTTP status is 400 or above")
    to: str | None = template_field("Recipients, comma-separated (email connections)", None)
    cc: str | None = template_field("Copy recipients, comma-separated (email connections)", None)
    subject: str | None = template_field("Subject (email connections)", None)
    text: str | None = template_field("Message text (email connections)", None)
    sql: str | None = Field(
        None,
        description="SELECT statement with :named parameters (sql connections); fixed text, never a template",
    )
    params: dict[str, str] = _templates("Values of the :named parameters (templates)")
    param_types: dict[str, ParamType] = Field(
        default_factory=dict, description="Types of parameters other than string"
    )
    max_rows: int | None = Field(None, ge=1, le=10_000, description="At most this many rows (sql)")
    timeout_s: float = Field(60.0, gt=0, le=600, description="Seconds before giving up")

    @field_validator("select")
    @classmethod
    def _selectors(cls, value: dict[str, str]) -> dict[str, str]:
        for selector in value.values():
            parse_selector(selector)
        return value

    @field_validator("sql")
    @classmethod
    def _sql_is_not_a_template(cls, value: str | None) -> str | None:
        if value is not None and ("{{" in value or "{%" in value):
            raise PydanticCustomError(
                "sql_is_a_template", "sql is fixed text; pass values as :named parameters in `params`"
            )
        return value


class ConnectorNode(Node[ConnectorConfig]):
    type = "connector"
    title = "Connector"
    description = "Calls a configured connection: HTTP/REST, webhook, e-mail or a read-only SQL query."
    category = "integration"
    outputs = ("response", "status")
    template_fields = ("path", "query", "headers", "body", "to", "cc", "subject", "text", "params")
    default_timeout_s = 60.0
    side_effects = True

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs | Suspend:
        config = self.config

        async def render(value: str | None) -> str:
            return await ctx.render(value, scope) if value else ""

        async def render_each(values: dict[str, str]) -> dict[str, str]:
            return {key: await render(value) for key, value in values.items()}

        body: Any = None
        if config.body and config.body.strip():
            rendered = await render(config.body)
            try:
                body = json.loads(rendered)
            except json.JSONDecodeError as error:
                raise NodeError(
                    f"the body did not render to JSON ({error.msg} at {error.pos}); "
                    "use the json filter for texts: {{ x | json }}",
                    field="body",
                    code="connector_body_not_json",
                    detail=f"{error.msg} at {error.pos}",
                ) from None
        request = ConnectorRequest(
            run_id=ctx.run_id,
            node_id=ctx.node_id,
            idempotency_key=ctx.idempotency_key,
            connection=config.connection,
            action=config.action,
            method=config.method,
            path=await render(config.path) or "/",
            query=await render_each(config.query),
            headers=await render_each(config.headers),
            body=body,
            to=[item for item in (await render(config.to)).split(",") if item.strip()],
            cc=[item for item in (await render(config.cc)).split(",") if item.strip()],
            subject=await render(config.subject),
            text=await render(config.text),
            sql=config.sql or "",
            params={
                key: _coerce(key, value, config.param_types.get(key, "string"))
                for key, value in (await render_each(config.params)).items()
            },
            max_rows=config.max_rows,
            caller_id=getattr(ctx, "caller_id", None),
            workspace_id=getattr(ctx, "workspace_id", None),
            is_test=bool(getattr(ctx, "is_test", False)),
            allow_live_reads=bool(getattr(ctx, "allow_live_reads", False)),
        )
        service: ConnectorService = ctx.service("connections")
        result = await service.call(request)
        if isinstance(result, UncertainCall):
            return Suspend(kind="approval", request=result.question)
        return self._outputs(result)

    async def resume(self, ctx: NodeContext, resolution: Resolution) -> Outputs:
        """The answer to "was this already sent?": approved = yes (no call), rejected = no
        (call once). The call itself comes back in the task's payload, as it was shown."""
        if resolution.outcome not in ("approved", "rejected"):
            raise NodeError(
                "nobody said whether the interrupted call arrived; it was neither repeated nor confirmed",
                code="side_effect_uncertain",
                reason="unanswered",
                connection=self.config.connection,
            )
        payload = resolution.payload if isinstance(resolution.payload, dict) else {}
        call = payload.get("call")
        if not isinstance(call, dict):
            raise NodeError(
                "the task no longer carries the call it asked about",
                code="side_effect_uncertain",
                reason="task_lost",
                connection=self.config.connection,
            )
        request = ConnectorRequest(
            run_id=ctx.run_id,
            node_id=ctx.node_id,
            idempotency_key=ctx.idempotency_key,
            **{name: call[name] for name in ConnectorRequest.CALL_FIELDS if name in call},
            caller_id=getattr(ctx, "caller_id", None),
            workspace_id=getattr(ctx, "workspace_id", None),
            is_test=bool(getattr(ctx, "is_test", False)),
            allow_live_reads=bool(getattr(ctx, "allow_live_reads", False)),
            uncertain_answer="sent" if resolution.outcome == "approved" else "not_sent",
        )
        service: ConnectorService = ctx.service("connections")
        result = await service.call(request)
        if isinstance(result, UncertainCall):  # the service asks only once per call
            raise NodeError(
                "the call is still uncertain after a person's answer",
                code="side_effect_uncertain",
                reason="still_uncertain",
                connection=self.config.connection,
            )
        return self._outputs(result)

    def _outputs(self, result: ConnectorResult) -> Outputs:
        config = self.config
        if (
            config.fail_on_error
            and isinstance(result.status, int)
            and not isinstance(result.status, bool)
            and result.status >= 400
        ):
            raise NodeError(
                f"connection '{config.connection}' answered HTTP {result.status} to {config.action}",
                code="connector_http_error",
                connection=config.connection,
                status=result.status,
                action=config.action,
            )
        response = result.response
        if config.select:
            response = {
                name: select(result.response, parse_selector(selector))
                for name, selector in config.select.items()
            }
        return {"response": response, "status": result.status}
