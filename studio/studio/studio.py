"""The Dirigent studio: `rx.App` and its pages (routes in `routes.py`)."""

from __future__ import annotations

import reflex as rx

from studio import routes
from studio.pages.account import account_page
from studio.pages.assistants import assistants_page
from studio.pages.audit import audit_page
from studio.pages.connections import connections_page
from studio.pages.editor import editor_page
from studio.pages.flows import flows_page
from studio.pages.inbox import inbox_page
from studio.pages.knowledge import knowledge_page
from studio.pages.login import login_page
from studio.pages.models import models_page
from studio.pages.monitoring import monitoring_page
from studio.pages.review import review_page
from studio.pages.runs import runs_page
from studio.pages.tasks import tasks_page
from studio.pages.versions import versions_page
from studio.state.account import AccountState
from studio.state.assistants import AssistantsState
from studio.state.audit import AuditState
from studio.state.base import AppState
from studio.state.connections import ConnectionsState
from studio.state.editor import EditorState
from studio.state.flows import FlowsState
from studio.state.inbox import InboxState, NotifySettingsState
from studio.state.knowledge import KnowledgeState
from studio.state.login import LoginState
from studio.state.models import ModelsState
from studio.state.monitoring import MonitoringState
from studio.state.review import ReviewState
from studio.state.runs import RunsState
from studio.state.tasks import TasksState
from studio.state.testcases import CasesState
from studio.state.versions import VersionsState

TITLE = "Dirigent Studio"

app = rx.App(
    theme=None,
    stylesheets=["/studio.css"],
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
)

app.add_page(
    rx.center(rx.spinner(size="3"), height="100vh"),
    route=routes.INDEX,
    title=TITLE,
    on_load=AppState.open_home,
)
app.add_page(login_page, route=routes.LOGIN, title=f"{TITLE} - Anmelden", on_load=LoginState.clear_form)
app.add_page(
    flows_page,
    route=routes.FLOWS,
    title=f"{TITLE} - Flows",
    on_load=[AppState.require_sign_in, FlowsState.load],
)
app.add_page(
    editor_page,
    route=routes.EDITOR,
    title=f"{TITLE} - Editor",
    on_load=[AppState.require_sign_in, EditorState.load, CasesState.load_cases],
)
app.add_page(
    versions_page,
    route=routes.VERSIONS,
    title=f"{TITLE} - Versionen",
    on_load=[AppState.require_sign_in, VersionsState.load],
)
app.add_page(
    runs_page,
    route=routes.RUNS,
    title=f"{TITLE} - Läufe",
    on_load=[AppState.require_sign_in, RunsState.load],
)
app.add_page(
    review_page,
    route=routes.REVIEW,
    title=f"{TITLE} - Freigaben",
    on_load=[AppState.require_sign_in, ReviewState.load],
)
app.add_page(
    assistants_page,
    route=routes.ASSISTANTS,
    title=f"{TITLE} - Assistenten",
    on_load=[AppState.require_sign_in, AssistantsState.load],
)
app.add_page(
    tasks_page,
    route=routes.TASKS,
    title=f"{TITLE} - Aufgaben",
    on_load=[AppState.require_sign_in, TasksState.load],
)

app.add_page(
    knowledge_page,
    route=routes.KNOWLEDGE,
    title=f"{TITLE} - Wissen",
    on_load=[AppState.require_sign_in, KnowledgeState.load],
)
app.add_page(
    connections_page,
    route=routes.CONNECTIONS,
    title=f"{TITLE} - Verbindungen",
    on_load=[AppState.require_sign_in, ConnectionsState.load, NotifySettingsState.load],
)
app.add_page(
    models_page,
    route=routes.MODELS,
    title=f"{TITLE} - Modelle",
    on_load=[AppState.require_sign_in, ModelsState.load],
)
app.add_page(
    monitoring_page,
    route=routes.MONITORING,
    title=f"{TITLE} - Monitoring",
    on_load=[AppState.require_sign_in, MonitoringState.load],
)
app.add_page(
    audit_page,
    route=routes.AUDIT,
    title=f"{TITLE} - Audit",
    on_load=[AppState.require_sign_in, AuditState.load],
)
app.add_page(
    inbox_page,
    route=routes.INBOX,
    title=f"{TITLE} - Posteingang",
    on_load=[AppState.require_sign_in, InboxState.load],
)
app.add_page(
    account_page,
    route=routes.ACCOUNT,
    title=f"{TITLE} - Konto",
    on_load=[AppState.require_sign_in, AccountState.clear_form],
)
