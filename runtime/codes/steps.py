"""Errors of a run and of its steps: `{"node", "kind", "code", "message", **parameters}`.

A node raises `nodes.errors.NodeError(message, code=..., **parameters)`; the engine
stores the code and the parameters with the step's error (`runtime.engine.executor.error_of`).
Every step error has the step's `node` and `type` besides the parameters, so a code's
text may name them. `detail` is a technical text from elsewhere (a server's answer, a
library's message), shown as it came.
"""

from __future__ import annotations

from typing import Any

STEPS: dict[str, Any] = {
    # -- the engine (runtime/engine/executor.py) --------------------------------------------------
    "node_timeout": "the node took longer than its timeout",
    "node_crashed": "unexpected {error}",
    "run_cancelled": "the run was cancelled",
    "run_expired": "nobody decided the approval task in time",
    "run_unknown": "run {run} is not known to this runtime",
    "node_not_resumable": "node type '{type}' cannot be resumed",
    "service_not_configured": "this node needs the '{service}' service, which is not configured in this runtime (available: {available})",
    # -- templates (nodes/rendering/templating.py, nodes/rendering/workers.py) -----------------
    "template_forbidden": "the template tried something the sandbox forbids: {detail}",
    "template_undefined": "the template refers to something that does not exist: {detail}",
    "template_failed": "the template failed to render: {detail}",
    "template_data_not_sendable": "the template's data cannot be sent to a rendering process: {detail}",
    "template_process_failed": "the process rendering the template stopped or answered nonsense",
    "template_budget_exceeded": ("the template exceeds its budget: {limit} (at most {limit_value})", ()),
    # -- language models (runtime/llm/client.py, nodes/llm.py) -----------------------------------
    "no_model_endpoint": "there is no model endpoint named '{model}'; set DIRIGENT_LLM_URL or register an endpoint",
    "model_endpoint_failed": (
        "the model endpoint '{endpoint}' failed",
        (),
        (
            "not_allowed",
            "unreachable",
            "timeout",
            "unauthorized",
            "not_found",
            "server_error",
            "bad_response",
        ),
    ),
    "model_endpoint_denied": "the model endpoint '{endpoint}' may not be called: {detail}",
    "llm_not_json": "the model was asked for JSON but answered something else: {answer}",
    # -- the other nodes ---------------------------------------------------------------------------
    "retrieval_query_empty": "the query rendered to an empty text; check the template and the inputs",
    "knowledge_index_unknown": "no knowledge index named '{index}' that this caller may read in the flow's workspace (available: {available})",
    "knowledge_index_failed": "knowledge index '{index}': {detail}",
    "no_caller": "knowledge is searched on behalf of a person, and this run has no caller",
    "caller_gone": "the person who started this run no longer exists or is inactive",
    "router_bad_branch": "the condition returned '{value}', which is not one of the branches {branches}",
    "connector_param_type": "parameter '{name}' should be {kind}, but rendered to '{value}'",
    "connector_body_not_json": "the body did not render to JSON ({detail}); use the json filter for texts",
    "connector_http_error": "connection '{connection}' answered HTTP {status} to {action}",
    "not_fixed": "{type} node '{node}' is not fixed in this case",
    # agent nodes (nodes/agent.py, nodes/agent_tools.py)
    "agent_budget_exceeded": "the agent used up its {budget} ({limit}) without answering",
    "agent_state_lost": "the stored state of the agent's loop is missing; it cannot go on",
    "agent_call_uncertain": (
        "the tool '{tool}' was interrupted mid-call earlier; nobody knows whether it arrived, "
        "so the agent stops instead of calling it again",
        ("connection",),
    ),
    "agent_answer_schema": "the agent's answer does not fit the json_schema: {detail}",
    # MCP tools of agents (runtime/mcp/service.py); told to the model, kept in the step
    "mcp_server_missing": "there is no MCP server '{server}'; an admin registers it",
    "mcp_tool_changed": (
        "the tool '{tool}' of MCP server '{server}' changed at the server; it is not called "
        "until a new version with its current schema is approved",
        ("change",),
    ),
    "mcp_not_allowed": ("MCP server '{server}' is at an address the egress guard refuses", ("cause",)),
    "mcp_unavailable": ("MCP server '{server}' cannot be reached or did not answer", ("cause",)),
    # -- connections (runtime/connections/*.py) --------------------------------------------------
    "connection_missing": "the connection '{connection}' does not exist in this workspace (connections: {connections})",
    "side_effect_uncertain": (
        "a call with side effects was interrupted; it may or may not have arrived",
        ("connection", "summary"),
        ("unanswered", "task_lost", "still_uncertain", "interrupted_again", "on_uncertain_fail"),
    ),
    "call_failed_before": "{detail} (this call failed before; it is not made again)",
    "call_in_progress": "another runtime process is making this call of connection '{connection}' right now",
    "live_read_not_allowed": "connection '{connection}' has no test target; a test run reads production data only when allowed",
    # the egress guard
    "host_not_allowed": "this connection may only reach {hosts}, not {host}",
    "unix_socket_not_allowed": "connections over unix sockets are not allowed",
    "host_unresolvable": "the host name '{host}' does not resolve ({detail})",
    "host_has_no_address": "the host name '{host}' has no address",
    "resolver_not_ip": "the resolver answered '{answer}' for '{host}', which is no IP address",
    "address_not_allowed": "outbound connections to {host} are not allowed: the address is {reason_text}; an admin can allow it in DIRIGENT_EGRESS_ALLOW",
    "cannot_connect": "cannot connect to {host}:{port} ({detail})",
    # http
    "invalid_base_url": "connection '{connection}': the base URL is not a valid URL ({detail})",
    "method_not_allowed": "connection '{connection}' allows the methods {methods}, not {method}",
    "path_not_absolute": "the path must start with '/', e.g. /tasks, not '{path}'",
    "path_not_allowed": "the path '{path}' is not allowed: no '..', '//', backslashes, spaces or control characters",
    "path_outside_prefixes": "connection '{connection}' allows paths under {prefixes}, not {path}",
    "auth_secret_missing": "connection '{connection}' uses {auth} auth, but its secret '{secret}' is not set; an admin can set it",
    "reserved_headers": "a flow may not set the headers {headers}",
    "http_timeout": "{host} did not answer in time ({detail})",
    "http_unreachable": "cannot reach {host} ({detail})",
    # e-mail
    "email_no_recipient": "the e-mail has no recipient; set `to`",
    "email_too_many_recipients": "at most {max} recipients per e-mail, not {count}",
    "email_recipient_not_allowed": "connection '{connection}' sends only to addresses in {domains}, not to {address}",
    "email_not_buildable": "the e-mail cannot be built: {detail}",
    "smtp_password_missing": "connection '{connection}' logs in as {username}, but its secret 'password' is not set; an admin can set it",
    "smtp_login_refused": "{host} refused the login of {username} ({smtp_code})",
    "smtp_recipients_refused": "{host} refused the recipients {recipients}",
    "smtp_not_supported": "{host} does not support this: {detail}",
    "smtp_error": "{host} answered {smtp_code}: {detail}",
    "smtp_failed": "SMTP with {host} failed ({detail})",
    # sql
    "sql_empty": "the SQL statement is empty",
    "sqlite_missing": "the SQLite file of connection '{connection}' does not exist",
    "sql_own_database": "connection '{connection}' points at Dirigent's own database; that is not allowed",
    "sql_read_only": "connection '{connection}' is read-only: {detail}",
    "sql_failed": "the query failed: {detail}",
    "sql_timeout": "the query took longer than {timeout_s} s",
    "sql_cannot_connect": "cannot connect to {host}: {detail}",
    "sql_cannot_query": "cannot query {host} ({detail})",
    "sql_no_rows": "the statement returned no rows; sql connections run queries (SELECT)",
    # assistant and map nodes: published assistants as sub-runs (nodes/assistant.py, nodes/map.py)
    "assistant_not_found": "there is no published version {version} of assistant '{assistant}'",
    "assistant_forbidden": "the person this run acts for may not invoke assistant '{assistant}'",
    "assistant_depth_exceeded": "assistants call assistants more than {limit} deep here (does '{assistant}' call itself?)",
    "assistant_inputs_invalid": "the inputs do not fit assistant '{assistant}': {detail}",
    "assistant_run_failed": "assistant '{assistant}' ended {status} (run {run_id}): {detail}",
    "assistant_output_missing": "assistant '{assistant}' has no output {missing} (it has: {available})",
    "sub_runs_lost": "the stored list of sub-runs is missing; the node cannot go on",
    "sub_run_lost": "the sub-run was not stored",
    "map_items_not_a_list": "items must yield a list, not {got}",
    "map_too_many_items": "{count} items are more than max_items ({limit})",
}
