"""Error answers of the API: `{"error": code, "message": ..., **parameters}`.

Raised as `runtime.errors` classes with `code=` and the parameters as keyword extras; the
class gives the HTTP status. The classes' own codes (`bad_request`, `not_found`, ...) are
what the framework answers with (an unknown route, a body that is not JSON). A code whose
answer comes in variants names the variant in the parameter `reason` (listed third).
"""

from __future__ import annotations

from typing import Any

ANSWERS: dict[str, Any] = {
    # -- the classes' own codes, and what the framework answers ----------------------------------
    "bad_request": "the request is not valid",
    "unauthorized": "sign in first: the token is missing, invalid or expired, or the user no longer exists",
    "not_found": "{resource} not found",
    "conflict": "the request conflicts with the current state",
    "precondition_failed": "the resource changed since it was read",
    "precondition_required": "this write needs an If-Match header",
    "payload_too_large": (
        "the request body is too large: {size_bytes} bytes; the limit is {limit_bytes}",
        ("what",),
    ),
    "too_many_requests": "too many requests; try again in {retry_after_s} s",
    "unavailable": "a service the request needs is not available",
    "internal_error": "something went wrong inside Dirigent; the administrators can find details in the runtime's log",
    "http_error": "the request could not be handled: {detail}",
    "invalid_flow": ("the flow document has {count} error(s)", ("errors",)),
    "invalid_request": ("the request is not valid", ("errors",)),
    "not_configured": "{service} are not configured in this runtime",
    "database_unavailable": "the database does not answer",
    # what every request body, path and query must fit (runtime/json_limits.py, runtime/api/params.py)
    "nul_character": "text may not contain the NUL character (U+0000)",
    "too_deeply_nested": "the JSON body nests arrays and objects more than {limit} levels deep",
    "time_out_of_range": "'{field}' must be between 1970-01-01 and 2999-12-31",
    # -- who may do what (runtime/policy/authorizer.py) ---------------------------------------
    # Every denial of the policy is `forbidden`; `reason` names the rule: `policy` (the roles;
    # `action`, `resource`), four eyes on versions (`number`, `action`) and on tasks
    # (`assignees`), what the board does not do.
    "forbidden": (
        "you may not {action} this {resource}",
        ("number", "assignees"),
        (
            "policy",
            "four_eyes_author",
            "four_eyes_submitter",
            "already_reviewed",
            "board_does_not",
            "task_already_decided",
            "four_eyes_requester",
            "admin_not_assignee",
            "not_assignee",
        ),
    ),
    "trigger_not_allowed": "you may not manage the triggers of this assistant; it needs the role champion or admin in its workspace",
    "trigger_creator_not_allowed": "the trigger's creator may no longer use this assistant",
    # -- sign-in, users, workspaces ------------------------------------------------------------
    "login_failed": "wrong username or password",
    "login_throttled": "too many failed sign-ins for this account or from this address; try again in {retry_after_s} s",
    "wrong_password": "the current password is wrong",
    "weak_password": "a password needs at least {min_length} characters",
    "user_not_found": "no user '{username}'",
    "user_already_removed": "'{username}' is already removed",
    "role_not_held": "'{username}' does not hold the role '{role}'",
    "invalid_email": "'{email}' is not an e-mail address like name@firma.de",
    "invalid_username": "'{username}' is not a username: letters, digits and _ . @ - (max 64)",
    "unknown_role": "unknown role '{role}'; roles: {roles}",
    "role_scope": ("the role '{role}' does not fit the workspace given", (), ("global", "workspace")),
    "invalid_workspace_slug": "'{slug}' is not a workspace slug: lowercase letters, digits and -",
    "workspace_exists": "a workspace '{slug}' exists already",
    "workspace_required": "workspace is required: ?workspace=<slug>",
    # -- flows, versions, the working copy --------------------------------------------------------
    "invalid_slug": "'{slug}' is not a valid slug: 2 to 63 lowercase letters, digits and -",
    "slug_unavailable": "the slug cannot be used; choose another one",
    "name_required": "a flow needs a name",
    "invalid_state": "version {number} is {state}; it can be {action} only when {allowed}",
    "not_submitted": "version {number} is {state}; only submitted versions are reviewed",
    "already_live": "version {number} is already live",
    "comment_required": "a rejection needs a comment that says what to change",
    "override_reason_required": "an override of the test gate needs a reason that says why",
    "tests_not_passed": ("the board approves tested versions only: {refusal}", ("gate", "failed_cases")),
    "invalid_version": "'{field}' is a version number or 'live'",
    "draft_changed": (
        "the working copy was changed (revision {revision}) since you read it; read it again",
        ("etag", "updated_by", "updated_at"),
    ),
    "if_match_required": "send If-Match with the ETag of the working copy you changed, or If-Match: *",
    "no_test_cases": "version {number} has no test cases; add them to the flow document ('tests') and save it",
    # -- runs ----------------------------------------------------------------------------------
    "invalid_inputs": ("the inputs do not fit the flow: {problems}", ("errors",)),
    "no_live_version": "the assistant has no live version; nothing to run",
    "not_published": "version {number} is {state}; only published versions can be invoked",
    "run_not_stored": "the run could not be stored; try again",
    "run_finished": "the run already ended ({status})",
    "run_not_waiting": "the run is {status}; it no longer waits for a decision",
    "run_not_finished": "the run is {status}; feedback is possible once it has ended",
    "invalid_idempotency_key": "the {header} header must be 1 to {max_length} visible ASCII characters, e.g. a UUID",
    "idempotency_key_reused": "the {header} was used before for another request; use a new key for a new request",
    "invalid_cursor": "the cursor is not one this API gave out; pass next_cursor of the previous page",
    "invalid_status": "unknown status {unknown}; choose from {statuses}",
    "bad_date": "{field}: expected an ISO date (2026-11-01) or date-time (2026-11-01T08:00:00Z), got {value}",
    "bad_range": "since ({since}) must be before until ({until})",
    "range_too_long": "the range spans {days} days; at most {max_days} are allowed (narrow since or until)",
    "invalid_time": "'{field}' must be an ISO-8601 date or time, e.g. 2026-11-01",
    # corrections that become test cases (runtime/runs/corrections.py)
    "working_copy_unusable": "the working copy of this flow is not a flow document; repair it in the editor first",
    "no_outputs": "the working copy declares no outputs, so there is nothing a case could check",
    "unknown_output": "'{output}' is not an output of the working copy; choose one of: {choices}",
    "expected_required": "say what the output should be: this run has no correction and its output '{output}' is no text",
    "too_many_cases": "the working copy has {count} test cases, the most a flow may have; delete one first",
    # feedback
    "correction_needs_down": 'a correction goes with the rating "down" only',
    "correction_too_long": "the correction has {length} characters; at most {max_length} are allowed",
    # -- approval tasks -------------------------------------------------------------------------
    "invalid_decision": "decision must be one of {decisions}, not '{decision}'",
    "task_closed": "this task was already {status}",
    "not_editable": "this approval does not allow editing the payload",
    "payload_mismatch": "the edited payload does not fit this task at {path}: expected {expected}, got {got}",
    # -- knowledge --------------------------------------------------------------------------------
    "invalid_label": "'{label}' is not a label: 1-64 lowercase letters, digits and . _ : - (e.g. hr-confidential)",
    "invalid_name": "'{name}' is not a name: 1-64 lowercase letters, digits, - and _",
    "invalid_backend": "unknown backend '{backend}'; choose one of {backends}",
    "marqo_not_configured": "the backend 'marqo' needs a Marqo server: set DIRIGENT_KNOWLEDGE_MARQO_URL, or use the backend 'embedded'",
    "invalid_chunking": "invalid chunking settings: {detail}",
    # `what`: connection, knowledge_index or model_endpoint
    "name_taken": "a {what} named '{name}' exists already",
    "empty_query": "the search query is empty",
    "invalid_k": "k must be between 1 and {max_k}, not {k}",
    "invalid_search_mode": "unknown search mode '{mode}'; choose hybrid, dense or lexical",
    "too_many_files": "at most {max_files} files per upload; split the batch",
    "no_files": "the upload holds no files; send each file as a 'files' part",
    "multipart_required": "upload the files as multipart/form-data (one 'files' part per file)",
    "bad_multipart": "the multipart body could not be read: {detail}",
    # What an upload refused, per file (runtime/knowledge/errors.py; an ingestion job's items)
    "file_rejected": "the file was not indexed",
    "unsupported_file_type": "this file type is not supported",
    "empty_file": "the file is empty or holds no readable text",
    "file_too_large": "the file is larger than allowed",
    "corrupt_file": "the file is damaged or not what its extension says",
    "protected_file": "the file is password-protected",
    "duplicate_name": "another file of this upload has the same name; only the first is indexed",
    # one of ingestion's limits (runtime/knowledge/limits.py): `limit` names it
    "file_too_complex": ("the file is too complex to index ({limit})", ("maximum", "value")),
    "extraction_failed": "reading the file stopped unexpectedly; it may be damaged",
    "extra_missing": "this needs the '{extra}' extra: pip install 'dirigent[{extra}]' "
    "(the Python module '{module}' is not installed)",
    # -- /metrics (runtime/monitoring/metrics_controller.py) and traces: for operators --------
    "metrics_forbidden": "/metrics may not be read by this client",
    "metrics_token_required": "/metrics needs `Authorization: Bearer <DIRIGENT_METRICS_TOKEN>`",
    "metrics_token_invalid": "the metrics token is not the configured one",
    "metrics_loopback_only": "/metrics answers loopback clients only while DIRIGENT_METRICS_TOKEN is not set",
    "observability_extra_missing": "traces are configured, but the OpenTelemetry packages are not installed: {hint}",
    "unknown_embedding_model": "the embedding model is not available: name the shipped model or a local directory",
    "knowledge_backend_unavailable": "the knowledge search service is not available right now",
    # -- connections and triggers ---------------------------------------------------------------
    # `errors`: the settings' problems (problems.py), when the reason is `settings`.
    "invalid_connection": (
        "the connection is not valid ({reason})",
        ("errors", "kind", "kinds", "secret"),
        ("settings", "name", "kind", "secret", "test_target", "test_target_secret"),
    ),
    "sqlite_outside_dir": "SQLite files may only be in {directory}",
    "no_test_target": "connection '{connection}' has no test target",
    "invalid_trigger": (
        "the trigger is not valid: {value}",
        ("kinds",),
        ("cron", "timezone", "kind", "schedule", "signing_key"),
    ),
    "invalid_delivery": ("the delivery is not valid", (), ("json", "not_an_object")),
    "signature_missing": "a delivery needs the headers {timestamp_header} (unix seconds) and {signature_header}",
    "signature_expired": "the delivery's timestamp is more than 5 minutes away from now (replay?)",
    "signature_invalid": "the signature does not match the body and timestamp",
    "replayed": "this delivery was received before (same signature); not started again",
    "trigger_orphaned": "the trigger's creator no longer exists; create the trigger again",
    # -- model endpoints ------------------------------------------------------------------------
    "invalid_endpoint": (
        "base_url is not a server address: {base_url}",
        ("field",),
        ("not_a_url", "scheme", "no_host", "credentials", "query", "pattern"),
    ),
    "endpoint_not_allowed": "the address {host} is blocked; internal addresses are allowed in DIRIGENT_EGRESS_ALLOW",
    "endpoint_in_use": ("model endpoint '{endpoint}' is used by approved versions", ("versions",)),
    "default_endpoint_not_registered": "model endpoint 'default' comes from DIRIGENT_LLM_URL; change it there",
    "endpoint_not_testable": "this runtime's llm service is not a Messages API client; nothing to test",
    # -- MCP servers (runtime/mcp/registry.py) -----------------------------------------------------
    "invalid_mcp_url": ("the url is not a server address: {url}", ("field",)),
    "mcp_server_not_allowed": "the address {host} is blocked; internal addresses are allowed in DIRIGENT_EGRESS_ALLOW",
    "mcp_server_unavailable": ("MCP server '{server}' cannot be asked for its tools", ("cause",)),
    # -- notifications ----------------------------------------------------------------------------
    "invalid_studio_url": (
        "studio_url must be an http:// or https:// address",
        ("max_length",),
        ("scheme", "query"),
    ),
    "not_an_email_connection": "connection '{connection}' is a {kind} connection; notifications are sent through an e-mail connection",
    # -- starter flows (runtime/starters/loader.py): a fault of the installation --------------
    "template_invalid": "starter flow '{template}', {file} cannot be loaded",
    # -- the audit trail ----------------------------------------------------------------------------
    "audit_log_empty": "the audit log is empty: there is no head to anchor yet",
    "audit_head_broken": "the audit trail's head cannot be anchored: {detail}",
}
