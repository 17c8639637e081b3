"""The OpenAPI description (`/schema`) tells what the API really answers.

Litestar describes each operation's success and, for validation errors, a body of its own
(`{status_code, detail, extra}`) that `runtime.api.errors` never sends. `answer_openapi`
rewrites the generated description once, before it is first served:

- every error response refers to one schema, `ErrorBody` (`{error, message, errors?, ...}`,
  the shape `runtime.api.errors` sends), under the statuses the operation can answer;
- operations that need no token say so (`security: []`);
- success statuses a handler sends besides its default (202 "still running", 200
  "unchanged") and the Server-Sent Events of streaming runs are listed;
- bodies and headers that a handler reads itself (uploads, webhook deliveries) are
  described, and a body a handler refuses to go without is marked required.

Which errors an operation can answer follows from its shape (`_by_shape`): 400 when it
takes parameters or a body, 413 for a body, 404 for a path that names a resource, 401
unless it is public, 403 for protected operations that act (not GET: a denied read
answers 404, `runtime.policy.authorizer`). What the shape does not show is declared per
handler in `ANSWERS`, with the reason; `tests/runtime/api/test_openapi.py` checks that
every name there is a handler and schemathesis (`test_schemathesis.py`) that no
operation answers a status it does not document.

`StrictBodySchemaPlugin` adds what Litestar leaves out of request bodies:
`additionalProperties: false` where the Pydantic model refuses unknown fields, and the
`pattern` of `Field(pattern=...)`.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar, Request, Router
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.routes import HTTPRoute
from litestar.security.base import AbstractSecurityConfig

from runtime.connections.http import SIGNATURE_HEADER, TIMESTAMP_HEADER

ERROR_SCHEMA = "ErrorBody"
_ERROR_REF = Reference(ref=f"#/components/schemas/{ERROR_SCHEMA}")

ERROR_ITEM = Schema(
    type=OpenAPIType.OBJECT,
    required=["message"],
    properties={
        "field": Schema(
            one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)],
            description="Where: a parameter, a body field (`inputs.name`) or a field of a node's config",
        ),
        "node": Schema(
            one_of=[Schema(type=OpenAPIType.STRING), Schema(type=OpenAPIType.NULL)],
            description="The flow node the problem concerns (flow documents only)",
        ),
        "code": Schema(
            type=OpenAPIType.STRING,
            description="A stable code of the problem (`GET /api/error-codes` lists them with their texts)",
        ),
        "params": Schema(
            type=OpenAPIType.OBJECT,
            description='The values the code\'s text names, e.g. `{"field": "name"}`',
        ),
        "message": Schema(type=OpenAPIType.STRING, description="What is wrong, in English"),
    },
    description="One problem of a request",
)

ERROR_BODY = Schema(
    type=OpenAPIType.OBJECT,
    required=["error", "message"],
    properties={
        "error": Schema(
            type=OpenAPIType.STRING,
            description="A stable code for programs: not_found, invalid_flow, too_deeply_nested, ... "
            "(`GET /api/error-codes` lists every code with its English text and parameters)",
        ),
        "message": Schema(
            type=OpenAPIType.STRING,
            description="What went wrong and what is expected, in English; the studio shows it",
        ),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Reference(ref="#/components/schemas/ErrorItem"),
            description="Each problem, where there are several (bad parameters, flow documents)",
        ),
    },
    description="Every error has this shape; further properties are the error's parameters "
    "(e.g. `field`, `limit`, `state`), named in its message too.",
)

# What an error status means wherever the shape of an operation implies it.
GENERIC: dict[int, str] = {
    400: "A parameter or the body does not fit; `errors` lists each problem",
    401: "Sign in first: the token is missing, invalid or expired, or its user no longer exists",
    403: "The policy does not allow this to the caller; `message` says what it needs",
    404: "Not found, or not visible to the caller",
    413: "The request body is larger than allowed",
}

# What the shape of an operation does not show, per handler ("Controller.method", or a
# controller for all of its handlers): further statuses and when they are answered.
UNAVAILABLE = "The service this needs is not configured in this runtime, or not reachable"
STORED_FLOW_INVALID = "The stored version no longer validates (e.g. a node type was removed)"
ANSWERS: dict[str, dict[int, str]] = {
    "health": {503: "The database does not answer"},
    # The table of codes is a constant: nothing but a fault of the runtime can go wrong.
    "ErrorCodeController.list_codes": {500: "Something went wrong inside Dirigent"},
    # The rules of test cases are read from the engine's models: constants, like the codes.
    "TestReportController.case_rules": {500: "Something went wrong inside Dirigent"},
    "AuthController.change_password": {429: "Too many wrong current passwords: wait `retry_after` seconds"},
    "DraftController.write": {
        412: "The working copy changed since it was read (If-Match does not match its ETag)",
        428: "The write has no If-Match header (the ETag of GET .../draft)",
    },
    "RunsViewerController.add_test_case": {
        412: "The working copy changed since it was read (If-Match does not match its ETag)",
        428: "The write has no If-Match header (the ETag of GET /api/flows/{flow_id}/draft)",
    },
    "AuthController.login": {
        401: "Wrong username or password",
        429: "Too many failed sign-ins for this name or address: wait `retry_after` seconds",
    },
    "UserController.create_workspace": {409: "A workspace with this slug exists"},
    "AuthController.take_role": {409: "The user does not hold this role in the workspace"},
    "McpServerController.list_servers": {
        403: "Listing MCP servers with their settings needs the global role admin"
    },
    "McpServerController.list_names": {403: "Seeing MCP servers needs the role champion in a workspace"},
    "McpServerController.list_tools": {403: "Seeing MCP servers needs the role champion in a workspace"},
    "FlowController.create_flow": {
        409: "The slug is used by another flow",
        413: "The document is over 1 MiB or has more than 2000 nodes",
        422: "The document has errors; `errors` names node, field and problem of each",
    },
    "FlowController.save_version": {
        412: "If-Match names another state of the working copy than the current one",
        413: "The document is over 1 MiB or has more than 2000 nodes",
        422: "The document has errors; `errors` names node, field and problem of each",
    },
    "FlowController.submit": {
        409: "The version is not a draft, its test cases did not pass, or it changed meanwhile"
    },
    "FlowController.approve": {409: "The version is not submitted, or it changed meanwhile"},
    "FlowController.reject": {409: "The version is not submitted, or it changed meanwhile"},
    "FlowController.publish": {409: "The version is not approved, is live already, or changed meanwhile"},
    "FlowController.retire": {409: "The version is not published, or it changed meanwhile"},
    "RunController.invoke": {
        409: "The pinned version is not published",
        422: STORED_FLOW_INVALID,
    },
    "RunController.test_run": {422: STORED_FLOW_INVALID},
    "RunController.cancel": {409: "The run has ended already"},
    "TaskController.decide": {409: "The task was decided already, or its run no longer waits"},
    "AuditController.list_entries": {403: "Only the board and admins read the audit trail"},
    "AuditController.export": {403: "Only the board and admins read the audit trail"},
    "AuditController.verify": {403: "Only the board and admins read the audit trail"},
    "AuditController.anchor": {409: "The audit log is empty, or its head does not verify"},
    "ModelEndpointController.register": {409: "An endpoint with this name exists"},
    "KnowledgeController": {503: UNAVAILABLE},
    "KnowledgeController.list_indexes": {403: "Reading knowledge needs a role in the workspace"},
    "KnowledgeController.create_index": {409: "The workspace has an index with this name"},
    "KnowledgeController.upload": {
        400: "Not a multipart upload, or it holds no files",
        413: "The upload is larger than allowed",
    },
    "ConnectionController": {503: UNAVAILABLE},
    "ConnectionController.create_connection": {409: "The workspace has a connection with this name"},
    "ConnectionController.update_connection": {409: "The workspace has a connection with this name"},
    "ConnectionController.list_triggers": {403: "Triggers are managed by champions and admins"},
    "ConnectionController.deliver": {
        400: "The body is not a JSON object of the assistant's inputs",
        401: "The signature or timestamp headers are missing, wrong or stale",
        403: "The trigger's creator may no longer use the assistant",
        409: "A replayed delivery, or the assistant has no live version",
        413: "The body is larger than 1 MiB",
        422: STORED_FLOW_INVALID,
    },
    "TestReportController.run_tests": {422: STORED_FLOW_INVALID},
    "StarterController.list_starters": {403: "Starters are for champions and admins"},
    "StarterController.list_templates": {403: "Starters are for champions and admins"},
    "FeedbackController.give": {409: "The run has not ended yet"},
    "NotificationSettingsController": {403: "Mail settings are for the installation's admins"},
    "NotificationSettingsController.choose": {404: "No connection with this id (the mail connection)"},
    "MonitoringController.report": {
        403: "Monitoring is for the workspace's champions and admins and the board",
        404: "No such workspace, or no such flow in it",
    },
}
# Protected operations that act on nothing the policy guards: never 403.
NO_POLICY_DECISION = {"FlowController.validate"}

# Success answers besides the handler's default status.
# (An invocation's 202 has a body of its own: `runtime.runs.controller` declares it.)
ALSO_SUCCEEDS: dict[str, dict[int, str]] = {
    "FlowController.save_version": {200: "Unchanged: the latest version has this content already"},
    "FeedbackController.give": {200: "The caller's earlier feedback was replaced"},
}
# With `"stream": true` the run's events arrive as Server-Sent Events instead.
STREAMS = {"RunController.invoke", "RunController.test_run"}
RUN_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    required=["data"],
    properties={
        "event": Schema(type=OpenAPIType.STRING, description="run, step, token, ..., then the run's end"),
        "data": Schema(type=OpenAPIType.STRING, description="The event as JSON, with its `type`"),
    },
    description="One Server-Sent Event of a run",
)


# Bodies a handler reads itself (streamed), so that Litestar does not know them.
UPLOAD = Schema(
    type=OpenAPIType.OBJECT,
    required=["files"],
    properties={
        "files": Schema(
            type=OpenAPIType.ARRAY,
            min_items=1,
            items=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
            description="One part per file: PDF, Word, HTML, Markdown or text",
        ),
        "labels": Schema(type=OpenAPIType.STRING, description="Comma-separated labels for all of them"),
    },
)
READS_ITSELF: dict[str, RequestBody] = {
    "KnowledgeController.upload": RequestBody(
        required=True, content={"multipart/form-data": OpenAPIMediaType(schema=UPLOAD)}
    ),
    "ConnectionController.deliver": RequestBody(
        required=False,
        content={
            "application/json": OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.OBJECT, description="The assistant's inputs")
            )
        },
        description=f"Signed with the trigger's key (headers {TIMESTAMP_HEADER}, {SIGNATURE_HEADER})",
    ),
}


# Bodies a handler takes as optional in Python, to refuse their absence in its own words.
BODY_REQUIRED = {"FlowController.reject"}  # `comment_required`, which the studio translates

# Headers a handler reads itself.
SIGNED = [
    Parameter(
        name=TIMESTAMP_HEADER,
        param_in=ParamType.HEADER,
        required=True,
        schema=Schema(type=OpenAPIType.STRING, pattern="^[0-9]+$"),
        description="Unix seconds; at most 5 minutes from the runtime's clock",
    ),
    Parameter(
        name=SIGNATURE_HEADER,
        param_in=ParamType.HEADER,
        required=True,
        schema=Schema(type=OpenAPIType.STRING, pattern="^sha256=[0-9a-f]{64}$"),
        description="sha256=<hex HMAC-SHA256 of '<timestamp>.<body>' with the trigger's key>",
    ),
]
READS_HEADERS: dict[str, list[Parameter]] = {"ConnectionController.deliver": SIGNED}


def handler_name(handler: Any) -> str:
    """`Controller.method` (or the function's name) of a route handler."""
    return str(getattr(handler.fn, "__qualname__", handler.handler_name))


class _Route:
    """What `answer_openapi` needs to know of one operation."""

    def __init__(self, name: str, method: str, public: bool, operation: Operation) -> None:
        self.name, self.method, self.public, self.operation = name, method, public, operation
        self.controller = name.split(".", 1)[0]

    def declared(self, table: dict[str, dict[int, str]]) -> dict[int, str]:
        return {**table.get(self.controller, {}), **table.get(self.name, {})}


def _by_shape(route: _Route) -> dict[int, str]:
    operation = route.operation
    parameters = [p for p in operation.parameters or [] if not isinstance(p, Reference)]
    in_path = [p for p in parameters if p.param_in == "path"]
    typed_path = any(
        not (isinstance(p.schema, Schema) and p.schema.type == OpenAPIType.STRING) for p in in_path
    )
    has_body = operation.request_body is not None
    statuses = set()
    if has_body or typed_path or any(p.param_in == "query" for p in parameters):
        statuses.add(400)
    if has_body:
        statuses.add(413)
    if in_path:
        statuses.add(404)
    if not route.public:
        statuses.add(401)
        if route.method != "GET" and route.name not in NO_POLICY_DECISION:
            statuses.add(403)
    return {status: GENERIC[status] for status in statuses}


def _is_not_null(schema: Schema | Reference) -> bool:
    return not (isinstance(schema, Schema) and schema.type == OpenAPIType.NULL)


def _error(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description, content={"application/json": OpenAPIMediaType(schema=_ERROR_REF)}
    )


def _answer(route: _Route) -> None:
    operation = route.operation
    if route.name in READS_ITSELF:
        operation.request_body = READS_ITSELF[route.name]
    if route.name in BODY_REQUIRED and isinstance(operation.request_body, RequestBody):
        operation.request_body.required = True
        for media in (operation.request_body.content or {}).values():  # and `null` is no body either
            if isinstance(media.schema, Schema) and media.schema.one_of:
                (media.schema,) = [item for item in media.schema.one_of if _is_not_null(item)]
    if route.name in READS_HEADERS:
        operation.parameters = [*(operation.parameters or []), *READS_HEADERS[route.name]]
    responses = {
        status: response
        for status, response in (operation.responses or {}).items()
        if not status.startswith(("4", "5"))  # Litestar's validation error: not the shape sent
    }
    default_success = next(iter(responses.values()), None)
    for status, description in route.declared(ALSO_SUCCEEDS).items():
        content = default_success.content if isinstance(default_success, OpenAPIResponse) else None
        responses[str(status)] = OpenAPIResponse(description=description, content=content)
    if route.name in STREAMS:
        success = responses.get("200")
        if isinstance(success, OpenAPIResponse):
            success.content = {
                **(success.content or {}),
                "text/event-stream": OpenAPIMediaType(schema=RUN_EVENT),
            }
    for status, description in sorted({**_by_shape(route), **route.declared(ANSWERS)}.items()):
        responses[str(status)] = _error(description)
    operation.responses = responses
    if route.public:
        operation.security = []


def _routes(app: Litestar, auth: AbstractSecurityConfig[Any, Any], openapi: OpenAPI) -> list[_Route]:
    exclude = auth.exclude if isinstance(auth.exclude, list) else [auth.exclude] if auth.exclude else []
    public_path = re.compile("|".join(exclude)) if exclude else None
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (openapi.paths or {}).get(route.path_format or "/")
        for method, (handler, _) in route.route_handler_map.items():
            operation = getattr(path_item, method.lower(), None) if path_item else None
            if not isinstance(operation, Operation):  # HEAD/OPTIONS, or left out of the schema
                continue
            public = bool(handler.opt.get(auth.exclude_opt_key)) or bool(
                public_path and public_path.search(route.path_format)
            )
            found.append(_Route(handler_name(handler), method, public, operation))
    return found


def answer_openapi(app: Litestar, auth: AbstractSecurityConfig[Any, Any]) -> OpenAPI:
    """The app's OpenAPI description with its answers written in (see the module
    docstring); done once per app, the description is kept by Litestar."""
    openapi = app.openapi_schema
    components = openapi.components
    schemas = components.schemas if components.schemas is not None else {}
    if ERROR_SCHEMA in schemas:
        return openapi
    for route in _routes(app, auth, openapi):
        _answer(route)
    components.schemas = {**schemas, ERROR_SCHEMA: ERROR_BODY, "ErrorItem": ERROR_ITEM}
    return openapi


def openapi_router(path: str, auth: AbstractSecurityConfig[Any, Any]) -> Router:
    """The router Litestar serves `/schema` from; it answers the description first."""

    async def answered(request: Request[Any, Any, Any]) -> None:
        answer_openapi(request.app, auth)

    return Router(path, route_handlers=[], include_in_schema=False, before_request=answered)


class StrictBodySchemaPlugin(PydanticSchemaPlugin):
    """Litestar's schema plugin for Pydantic models, plus what it leaves out: the
    `additionalProperties: false` of models that refuse unknown fields
    (`runtime.wire.Body`) and the `pattern` of `Field(pattern=...)`."""

    @classmethod
    def for_pydantic_model(cls, field_definition: Any, schema_creator: Any) -> Schema:
        schema = super().for_pydantic_model(field_definition, schema_creator)
        model = field_definition.annotation
        if model.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        for name, field in model.model_fields.items():
            pattern = next((meta.pattern for meta in field.metadata if getattr(meta, "pattern", None)), None)
            target = (schema.properties or {}).get(field.alias or name)
            if pattern and isinstance(target, Schema):
                for branch in [target, *(target.one_of or [])]:
                    if isinstance(branch, Schema) and branch.type == OpenAPIType.STRING:
                        branch.pattern = pattern
        return schema
