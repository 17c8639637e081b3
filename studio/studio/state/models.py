"""The models page's state (global admins): list, connect and edit, test, remove."""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api import ApiError
from studio.model_forms import KEY_CHOICES, endpoint_row, probe_result_text, request_from_form
from studio.state.base import AppState


class ModelsState(AppState):
    # The runtime's endpoints and test answers; the rows and sentences follow the language.
    _found: list[dict[str, Any]] = []
    _probes: dict[str, dict[str, Any]] = {}
    loading: bool = False

    dialog_open: bool = False
    editing: str = ""  # the name of the endpoint in the form; "" for a new one
    # Bumped at every opening of the form: its uncontrolled fields start afresh from `defaults`.
    form_key: int = 0
    defaults: dict[str, str] = {}
    has_key: bool = False  # the endpoint in the form has a stored key
    key_choice: str = "keep"
    field_errors: dict[str, str] = {}
    saving: bool = False

    testing: str = ""
    test_ok: dict[str, bool] = {}

    confirm_name: str = ""
    deleting: bool = False

    @rx.var
    def endpoints(self) -> list[dict[str, str]]:
        return [endpoint_row(item, self.lang) for item in self._found]

    @rx.var
    def test_text(self) -> dict[str, str]:
        return {name: probe_result_text(result, self.lang) for name, result in self._probes.items()}

    @rx.event
    async def load(self) -> Any:
        if not self.token or not self.is_global_admin:
            return
        self.loading = True
        yield
        async with self._runtime_call("loading") as call:
            self._found = list(await self.api().model_endpoints())
        yield call.events

    # -- the form ----------------------------------------------------------------------------
    @rx.event
    def open_new(self) -> None:
        self._open("", {"name": "", "base_url": "", "model": "tgi"}, has_key=False)

    @rx.event
    def open_edit(self, name: str) -> None:
        row = next((item for item in self.endpoints if item["name"] == name), None)
        if row is not None and row["source"] == "admin":
            self._open(name, row, has_key=row["has_key"] == "true")

    def _open(self, name: str, values: dict[str, str], *, has_key: bool) -> None:
        self.editing = name
        self.defaults = {key: values.get(key, "") for key in ("name", "base_url", "model")}
        self.has_key, self.key_choice = has_key, "keep"
        self.field_errors = {}
        self.form_key += 1
        self.dialog_open = True

    @rx.event
    def set_dialog_open(self, value: bool) -> None:
        self.dialog_open = value

    @rx.event
    def set_key_choice(self, value: str) -> None:
        if value in KEY_CHOICES:
            self.key_choice = value

    @rx.event
    async def save(self, form: dict[str, Any]) -> Any:
        body, problems = request_from_form(
            form, editing=bool(self.editing), has_key=self.has_key, key_choice=self.key_choice
        )
        self.field_errors = {field: self.tr(key) for field, key in problems.items()}
        if problems:
            return
        self.saving = True
        yield
        api = self.api()
        try:
            if self.editing:
                saved = await api.update_model_endpoint(self.editing, body)
            else:
                saved = await api.create_model_endpoint(body)
        except ApiError as exc:
            self.saving = False
            if exc.code == "name_taken":
                self.field_errors = {"name": self.tr("model_name_taken")}
            elif exc.code in ("invalid_endpoint", "endpoint_not_allowed"):
                self.field_errors = {"base_url": self.error_text(exc)}
            else:
                yield self.on_error(exc)
            return
        self.saving, self.dialog_open = False, False
        key = "model_updated" if self.editing else "model_created"
        yield rx.toast.success(self.tr(key, name=saved.get("name") or body.get("name", "")))
        yield ModelsState.load

    # -- test and remove ---------------------------------------------------------------------
    @rx.event
    async def test(self, name: str) -> Any:
        self.testing = name
        yield
        async with self._runtime_call("testing") as call:
            result = await self.api().test_model_endpoint(name)
            self._probes = {**self._probes, name: result}
            self.test_ok = {**self.test_ok, name: bool(result.get("ok"))}
        yield call.events or ModelsState.load  # the row's "last test" too

    @rx.event
    def ask_delete(self, name: str) -> None:
        self.confirm_name = name

    @rx.event
    def set_confirm_open(self, value: bool) -> None:
        if not value:
            self.confirm_name = ""

    @rx.event
    async def confirm_delete(self) -> Any:
        self.deleting = True
        yield
        name = self.confirm_name
        try:
            await self.api().delete_model_endpoint(name)
        except ApiError as exc:
            self.deleting, self.confirm_name = False, ""
            if exc.code == "endpoint_in_use":  # say which versions hold it
                held = ", ".join(
                    f"„{item.get('flow')}“ v{item.get('version')}" for item in exc.body.get("versions") or []
                )
                yield rx.toast.error(f"{self.error_text(exc)} ({held})", duration=12000)
            else:
                yield self.on_error(exc)
            return
        self.deleting, self.confirm_name = False, ""
        self._probes = {key: probe for key, probe in self._probes.items() if key != name}
        yield rx.toast.success(self.tr("model_deleted", name=name))
        yield ModelsState.load
