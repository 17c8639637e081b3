# Dirigent access policy: who may do what.
#
# This one file decides every access question the runtime asks. The runtime
# calls it through `runtime/policy/authorizer.py` (the only module that imports
# oso), which also turns a "no" into words: a caller who may not `read` a thing
# gets 404 (they do not learn it exists), a caller who sees it but may not act
# on it gets 403 with a reason.
#
# Reading guide
#   - `Caller` is the signed-in person (`runtime.policy.resources.Actor`; Polar
#     reserves the name "Actor", so the class is registered as "Caller").
#   - Every other class here is a frozen view from `runtime.policy.resources`.
#   - Each resource block reads as a table: `"permission" if "role";`.
#   - Which role someone holds is decided in ONE place, `workspace_role` below;
#     rules that need more than a role (four eyes, assignees, who started a run)
#     are written out after the block they belong to.
#   - `has_role` rules name each role literally ("champion", not `role: String`)
#     on purpose: in oso 0.27 every `x: String` check on a candidate rule is a
#     round trip to Python, and with one generic rule per resource that made a
#     single check cost 16 engine events instead of 3. Same reason the helper
#     rules below leave their string parameters unspecialized.
#
# Roles
#   per workspace (Actor.workspace_roles): "admin", "champion", "user", plus any
#                                          department role ("hr", "sales-lead", ...)
#   global (Actor.global_roles):           "admin" (admin of every workspace),
#                                          "board" (the governance board)


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

allow(caller: Caller, action, resource) if
    has_permission(caller, action, resource);

actor Caller {}


# ---------------------------------------------------------------------------
# Who holds which role in a workspace -- the one place for role implications
# ---------------------------------------------------------------------------
#   "admin"     admin of the workspace, or global admin (admin of every workspace)
#   "champion"  champion of the workspace, or admin of it (admins can do what
#               champions can)
#   "member"    any role at all in the workspace ("user", "champion", "admin", a
#               department role), or global admin
#   "board"     the global board role: the governance board sees every workspace

workspace_role(caller: Caller, "admin", workspace_id) if
    caller.has_workspace_role(workspace_id, "admin") or
    caller.has_global_role("admin");

workspace_role(caller: Caller, "champion", workspace_id) if
    caller.has_workspace_role(workspace_id, "champion") or
    workspace_role(caller, "admin", workspace_id);

workspace_role(caller: Caller, "member", workspace_id) if
    caller.is_member(workspace_id) or
    caller.has_global_role("admin");

workspace_role(caller: Caller, "board", _workspace_id) if
    caller.has_global_role("board");


# ---------------------------------------------------------------------------
# Platform: users, model endpoints, workspaces, the audit trail, starter flows
# ---------------------------------------------------------------------------

resource Platform {
    permissions = [
        "read", "manage_users", "manage_endpoints", "create_workspace", "read_audit",
        "anchor_audit", "read_starters", "read_health", "manage_notifications",
        "manage_mcp_servers", "read_mcp_servers"
    ];
    roles = ["admin", "board"];

    "manage_users" if "admin";
    "manage_endpoints" if "admin";
    "create_workspace" if "admin";
    "read_audit" if "admin";
    "read_audit" if "board";
    # Anchoring the head on demand (it is also done at an interval): those who read the trail.
    "anchor_audit" if "read_audit";
    # /health's details (database, process names); without them it only says "ok".
    "read_health" if "admin";
    # Which e-mail connection mails notifications, and the studio address in the mails.
    "manage_notifications" if "admin";
    # MCP servers agents call: admins register them (runtime/mcp/).
    "manage_mcp_servers" if "admin";
    "read_mcp_servers" if "admin";
}

has_role(caller: Caller, "admin", _platform: Platform) if
    caller.has_global_role("admin");
has_role(caller: Caller, "board", _platform: Platform) if
    caller.has_global_role("board");

# Everybody signed in knows the platform exists: a refusal here is a 403, never a 404.
has_permission(_caller: Caller, "read", _platform: Platform);

# Starter flows are for whoever builds flows: a champion (or admin) of some
# workspace, or a global admin (champion of every workspace).
has_permission(caller: Caller, "read_starters", _platform: Platform) if
    workspace_id in caller.workspace_ids() and
    workspace_role(caller, "champion", workspace_id);
has_permission(caller: Caller, "read_starters", _platform: Platform) if
    caller.has_global_role("admin");

# Names and tools of MCP servers: for whoever builds flows (a champion of some workspace).
has_permission(caller: Caller, "read_mcp_servers", _platform: Platform) if
    workspace_id in caller.workspace_ids() and
    workspace_role(caller, "champion", workspace_id);


# ---------------------------------------------------------------------------
# Workspace
# ---------------------------------------------------------------------------

resource Workspace {
    permissions = [
        "read", "read_knowledge", "create_flow", "manage_knowledge",
        "read_monitoring", "manage", "manage_connections"
    ];
    roles = ["member", "champion", "admin", "board"];

    "read" if "member";
    "read" if "board";
    "read_knowledge" if "member";
    "create_flow" if "champion";
    "manage_knowledge" if "champion";
    "read_monitoring" if "champion";
    "read_monitoring" if "board";
    "manage" if "admin";
    "manage_connections" if "admin";
}

# A role on a workspace is that role in it (see workspace_role).
has_role(caller: Caller, "member", workspace: Workspace) if
    workspace_role(caller, "member", workspace.id);
has_role(caller: Caller, "champion", workspace: Workspace) if
    workspace_role(caller, "champion", workspace.id);
has_role(caller: Caller, "admin", workspace: Workspace) if
    workspace_role(caller, "admin", workspace.id);
has_role(caller: Caller, "board", workspace: Workspace) if
    workspace_role(caller, "board", workspace.id);


# ---------------------------------------------------------------------------
# Flow (edit = read and write its working copy, cut a new version, test-run,
# write test cases)
# ---------------------------------------------------------------------------

resource Flow {
    permissions = ["read", "edit", "delete"];
    roles = ["champion", "admin", "board"];

    "read" if "champion";
    "read" if "board";
    "edit" if "champion";       # NOT board, NOT user
    "delete" if "admin";
}

# A role on a flow is that role in its workspace (see workspace_role).
has_role(caller: Caller, "champion", flow: Flow) if
    workspace_role(caller, "champion", flow.workspace_id);
has_role(caller: Caller, "admin", flow: Flow) if
    workspace_role(caller, "admin", flow.workspace_id);
has_role(caller: Caller, "board", flow: Flow) if
    workspace_role(caller, "board", flow.workspace_id);


# ---------------------------------------------------------------------------
# FlowVersion (whether the version is in the right state is the service's job)
# ---------------------------------------------------------------------------

resource FlowVersion {
    permissions = [
        "read", "test_run", "run_tests", "submit", "override_test_gate",
        "approve", "reject", "publish", "retire"
    ];
    roles = ["champion", "admin", "board"];

    "read" if "champion";
    "read" if "board";
    "test_run" if "champion";
    # Running its test cases is reading the version (no run, no effects); the board may check.
    "run_tests" if "champion";
    "run_tests" if "board";
    "submit" if "champion";
    # Submitting although the test cases did not pass: admins only, with a reason (audited).
    "override_test_gate" if "admin";
    "publish" if "champion";    # champion or admin of the workspace, or global admin
    "retire" if "champion";
    "retire" if "board";
    # "approve" and "reject": see four_eyes_reviewer below
}

# A role on a flow version is that role in its workspace (see workspace_role).
has_role(caller: Caller, "champion", version: FlowVersion) if
    workspace_role(caller, "champion", version.workspace_id);
has_role(caller: Caller, "admin", version: FlowVersion) if
    workspace_role(caller, "admin", version.workspace_id);
has_role(caller: Caller, "board", version: FlowVersion) if
    workspace_role(caller, "board", version.workspace_id);

has_permission(caller: Caller, "approve", version: FlowVersion) if
    four_eyes_reviewer(caller, version);

has_permission(caller: Caller, "reject", version: FlowVersion) if
    four_eyes_reviewer(caller, version);

# Four eyes: a board member decides a version only if they neither authored nor
# submitted it, and did not already give a decision in this review round.
four_eyes_reviewer(caller: Caller, version: FlowVersion) if
    has_role(caller, "board", version) and
    caller.id != version.author_id and
    caller.id != version.submitted_by and
    not (caller.id in version.reviewed_by);


# ---------------------------------------------------------------------------
# Assistant (a flow with a live version)
# ---------------------------------------------------------------------------

resource Assistant {
    permissions = ["read", "invoke"];
    roles = ["audience"];

    "read" if "audience";
    "invoke" if "audience";
}

# The audience of a live assistant: members (any role) of its workspace or of
# one of its audience workspaces. Global admins always.
has_role(caller: Caller, "audience", assistant: Assistant) if
    assistant.is_live = true and
    (workspace_role(caller, "member", assistant.workspace_id) or
     caller.is_member_of_any(assistant.audience_workspace_ids));

has_role(caller: Caller, "audience", _assistant: Assistant) if
    caller.has_global_role("admin");


# ---------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------

resource Run {
    permissions = ["read", "cancel", "feedback"];
    roles = ["starter", "champion", "admin", "board", "assignee"];

    # Reading a run is reading what a person asked and got (personal data): whoever asked;
    # the champions (and admins) of its workspace, who improve the assistant from it; the
    # board, which approves what runs; and the assignees of its approval tasks, who must see
    # what they decide. An end user (role "user") sees only their own runs. Reads of other
    # people's runs' content are audited (`run.viewed`, runtime/runs/viewer.py).
    "read" if "starter";
    "read" if "champion";
    "read" if "admin";
    "read" if "board";
    "read" if "assignee";
    "cancel" if "starter";
    "cancel" if "admin";
    "feedback" if "starter";    # rating an answer is for whoever asked; others only read it
}

# A role on a run is that role in its workspace (see workspace_role).
has_role(caller: Caller, "champion", run: Run) if
    workspace_role(caller, "champion", run.workspace_id);
has_role(caller: Caller, "admin", run: Run) if
    workspace_role(caller, "admin", run.workspace_id);
has_role(caller: Caller, "board", run: Run) if
    workspace_role(caller, "board", run.workspace_id);

# Whoever started the run.
has_role(caller: Caller, "starter", run: Run) if
    run.started_by = caller.id;

# Whoever an approval task raised by this run is assigned to ("user:<name>" or
# "role:<role>", the role held globally or in the run's workspace).
has_role(caller: Caller, "assignee", run: Run) if
    caller.matches_assignee(run.task_assignees, run.workspace_id);


# ---------------------------------------------------------------------------
# ApprovalTask (human in the loop)
# ---------------------------------------------------------------------------

resource ApprovalTask {
    permissions = ["read", "decide"];
    roles = ["assignee", "admin"];

    "read" if "assignee";
    "read" if "admin";
    # "decide": see below -- admins see every task but decide only when assigned
}

# A role on an approval task is that role in its workspace (see workspace_role).
has_role(caller: Caller, "admin", task: ApprovalTask) if
    workspace_role(caller, "admin", task.workspace_id);

has_role(caller: Caller, "assignee", task: ApprovalTask) if
    caller.matches_assignee(task.assignees, task.workspace_id);

# An assignee decides once, and never a task of a run they started (four eyes on tasks).
has_permission(caller: Caller, "decide", task: ApprovalTask) if
    has_role(caller, "assignee", task) and
    not (caller.id in task.decided_by) and
    four_eyes_on_task(caller, task);

# Four eyes on tasks: whoever started the run (`requested_by`) does not decide the tasks
# it raised -- someone else must look at what their request produced. The one exception:
# the approval node says `requester_may_decide: true` AND the flow's card says its risk is
# `minimal`; such a decision is audited as the requester's own (task.decided, by_requester).
four_eyes_on_task(caller: Caller, task: ApprovalTask) if
    caller.id != task.requested_by;

four_eyes_on_task(_caller: Caller, task: ApprovalTask) if
    task.requester_may_decide = true and
    task.risk = "minimal";


# ---------------------------------------------------------------------------
# KnowledgeIndex
# ---------------------------------------------------------------------------

resource KnowledgeIndex {
    permissions = ["read", "manage"];
    roles = ["member", "champion", "admin", "board"];

    "read" if "member";
    "read" if "board";
    "manage" if "champion";     # champion or admin of the workspace, or global admin
}

# A role on a knowledge index is that role in its workspace (see workspace_role).
has_role(caller: Caller, "member", index: KnowledgeIndex) if
    workspace_role(caller, "member", index.workspace_id);
has_role(caller: Caller, "champion", index: KnowledgeIndex) if
    workspace_role(caller, "champion", index.workspace_id);
has_role(caller: Caller, "admin", index: KnowledgeIndex) if
    workspace_role(caller, "admin", index.workspace_id);
has_role(caller: Caller, "board", index: KnowledgeIndex) if
    workspace_role(caller, "board", index.workspace_id);

# Access labels on documents (asked through Authorizer.readable_labels).
#
# Simple rule, to be refined by the Knowledge issue:
#   - a label starting with "hr-" is restricted to the workspace role "hr";
#   - a label starting with "confidential" is restricted to the workspace role
#     "confidential";
#   - a restricted label is readable by an admin of the index's workspace (or a
#     global admin) and by whoever holds the restricting role in that workspace;
#   - any other label is readable by whoever may read the index.

label_restriction(label, "hr") if
    label.startswith("hr-");

label_restriction(label, "confidential") if
    label.startswith("confidential");

can_read_label(caller: Caller, label: String, index: KnowledgeIndex) if
    not label_restriction(label, _) and
    allow(caller, "read", index);

can_read_label(caller: Caller, label: String, index: KnowledgeIndex) if
    label_restriction(label, role) and
    (has_role(caller, "admin", index) or
     caller.has_workspace_role(index.workspace_id, role));


# ---------------------------------------------------------------------------
# Connection (HTTP/REST, e-mail, SQL, webhooks configured for a workspace)
# ---------------------------------------------------------------------------

resource Connection {
    permissions = ["read", "use", "manage"];
    roles = ["champion", "admin"];

    "read" if "champion";
    "use" if "champion";
    "manage" if "admin";
}

# A role on a connection is that role in its workspace (see workspace_role).
has_role(caller: Caller, "champion", connection: Connection) if
    workspace_role(caller, "champion", connection.workspace_id);
has_role(caller: Caller, "admin", connection: Connection) if
    workspace_role(caller, "admin", connection.workspace_id);


# ---------------------------------------------------------------------------
# Notification (the in-studio inbox: version submitted, approved, rejected;
# task assigned, overdue)
# ---------------------------------------------------------------------------

resource Notification {
    permissions = ["read", "mark_read"];
    roles = ["recipient"];

    "read" if "recipient";
    "mark_read" if "recipient";
}

# A person's inbox is theirs alone: nobody else reads it or marks it read, admins
# included (they would learn what others are asked to decide).
has_role(caller: Caller, "recipient", notification: Notification) if
    notification.recipient_id = caller.id;
