"""The connections page's state (admins): list, create and edit per kind, test, delete."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api import ApiError
from studio.connection_forms import (
    KINDS,
    connection_row,
    field_problems,
    form_values,
    secrets_from_form,
    settings_from_form,
    test_result_text,
    test_target_from_form,
)
from studio.state.base import AppState


class ConnectionsState(AppState):
    connections: list[dict[str, str]] = []
    loading: bool = False
    settings_of: dict[str, dict[str, Any]] = {}

    dialog_open: bool = False
    editing_id: str = ""
    # Bumped at every opening of the form: its uncontrolled fields start afresh from
    # `defaults`, never with what was typed for another connection.
    form_key: int = 0
    editing_name: str = ""
    form_kind: str = "http"
    auth_type: str = "none"
    defaults: dict[str, str] = {}
    set_secrets: list[str] = []
    field_errors: dict[str, str] = {}
    saving: bool = False
    # The test target of the connection in the form: stored, switched on, its values.
    has_test_target: bool = False
    test_on: bool = False
    test_defaults: dict[str, str] = {}
    test_set_secrets: list[str] = []

    testing: str = ""
    # A connection test's answer, by connection id; `test_text` says it in the person's language.
    _tests: dict[str, dict[str, Any]] = {}

    @rx.var
    def test_text(self) -> dict[str, str]:
        return {key: test_result_text(result, self.lang) for key, result in self._tests.items()}

    test_ok: dict[str, bool] = {}

    confirm_id: str = ""
    confirm_name: str = ""
    deleting: bool = False

    @rx.event
    async def load(self) -> Any:
        if not self.token or not self.workspace:
            return
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            found = await self.api().connections(self.workspace)
            self.connections = [connection_row(item) for item in found]
            self.settings_of = {
                str(item["id"]): {
                    "settings": item.get("settings") or {},
                    "secrets": sorted(item.get("secrets") or {}),
                    "test_target": item.get("test_target"),
                }
                for item in found
            }
        yield call.events

    # -- the form ----------------------------------------------------------------------------
    @rx.event
    def open_new(self) -> None:
        self.editing_id, self.editing_name, self.form_kind = "", "", "http"
        self._fill("http", None, [])
        self._fill_test_target("http", None)

    @rx.event
    def open_edit(self, connection_id: str) -> None:
        row = next((item for item in self.connections if item["id"] == connection_id), None)
        if row is None:
            return
        stored = self.settings_of.get(connection_id, {})
        self.editing_id, self.editing_name, self.form_kind = connection_id, row["name"], row["kind"]
        self._fill(row["kind"], stored.get("settings") or {}, list(stored.get("secrets") or []))
        self._fill_test_target(row["kind"], stored.get("test_target"))

    def _fill_test_target(self, kind: str, target: dict[str, Any] | None) -> None:
        self.has_test_target = self.test_on = target is not None
        self.test_defaults = form_values(kind, (target or {}).get("settings"))
        self.test_set_secrets = sorted((target or {}).get("secrets") or {})

    @rx.event
    def set_test_on(self, value: bool) -> None:
        self.test_on = value

    def _fill(self, kind: str, settings: dict[str, Any] | None, secrets: list[str]) -> None:
        self.defaults = form_values(kind, settings)
        self.auth_type = self.defaults.get("auth.type", "none")
        self.set_secrets = secrets
        self.field_errors = {}
        self.form_key += 1
        self.dialog_open = True

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    def set_form_kind(self, kind: str) -> None:
        if kind in KINDS and not self.editing_id:
            self.form_kind = kind
            self.defaults = form_values(kind, None)
            self.auth_type = self.defaults.get("auth.type", "none")
            self.field_errors = {}
            self._fill_test_target(kind, None)

    @rx.event
    def set_auth_type(self, value: str) -> None:
        self.auth_type = value

    @rx.event
    async def save(self, form: dict[str, Any]) -> Any:
        name = str(form.get("name") or "").strip()
        settings, problems = settings_from_form(self.form_kind, form)
        test_target, test_problems = test_target_from_form(
            self.form_kind, form, enabled=self.test_on, stored=self.has_test_target
        )
        errors = {path: self.tr(key) for path, key in {**problems, **test_problems}.items()}
        if not name:
            errors["name"] = self.tr("conn_name_missing")
        self.field_errors = errors
        if errors:
            return
        secrets = secrets_from_form(self.form_kind, form)
        self.saving = True
        yield
        api = self.api()
        try:
            if self.editing_id:
                saved = await api.update_connection(self.editing_id, name, settings, secrets, test_target)
            else:
                saved = await api.create_connection(
                    self.workspace, name, self.form_kind, settings, secrets, test_target
                )
        except ApiError as exc:
            self.saving = False
            self.field_errors = field_problems(exc.errors, self.lang) if exc.body.get("errors") else {}
            if exc.code == "name_taken":
                self.field_errors = {"name": self.error_text(exc)}
            yield self.on_error(exc)
            return
        self.saving, self.dialog_open = False, False
        key = "conn_updated" if self.editing_id else "conn_created"
        yield rx.toast.success(self.tr(key, name=saved.get("name") or name))
        yield ConnectionsState.load

    # -- test and delete ---------------------------------------------------------------------
    @rx.event
    async def test(self, connection_id: str) -> Any:
        async for event in self._test(connection_id, "production"):
            yield event

    @rx.event
    async def test_sandbox(self, connection_id: str) -> Any:
        """Test the connection's test target (what the editor's test runs call)."""
        async for event in self._test(connection_id, "test"):
            yield event

    async def _test(self, connection_id: str, target: str) -> Any:
        self.testing = connection_id
        yield
        async with self._runtime_call("testing") as call:
            result = await self.api().test_connection(connection_id, target)
            self._tests = {**self._tests, connection_id: result}
            self.test_ok = {**self.test_ok, connection_id: bool(result.get("ok"))}
        yield call.events

    @rx.event
    def ask_delete(self, connection_id: str, name: str) -> None:
        self.confirm_id, self.confirm_name = connection_id, name

    @rx.event
    def set_confirm_open(self, value: bool) -> None:
        if not value:
            self.confirm_id = ""

    @rx.event
    async def confirm_delete(self) -> Any:
        self.deleting = True
        yield
        async with self._runtime_call("deleting") as call:
            await self.api().delete_connection(self.confirm_id)
        if call.failed:
            yield call.events
            return
        self.confirm_id = ""
        yield rx.toast.success(self.tr("conn_deleted", name=self.confirm_name))
        yield ConnectionsState.load
