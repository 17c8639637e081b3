"""The account page's state: one's own password.

`POST /api/auth/password` ends every session of the person (a thief's too) and answers
with a new token, which takes the old one's place in the cookie: this tab stays signed
in, every other one signs in again. Errors are said by the runtime's code, at the field
they concern (`wrong_password`: the current one; `weak_password`: the new one).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api import ApiError, SignedOut
from studio.state.base import AppState

# Which field a refusal belongs to; any other code is said above the button.
FIELD_OF_CODE = {"wrong_password": "current", "weak_password": "new"}


class AccountState(AppState):
    field_errors: dict[str, str] = {}  # "current", "new", "repeat", "_form" -> the problem in words
    saving: bool = False
    # Bumped after a change: the form's uncontrolled fields start empty again.
    form_key: int = 0

    @rx.event
    def clear_form(self) -> None:
        self.field_errors, self.saving = {}, False

    @rx.event
    async def change_password(self, form: dict[str, Any]) -> Any:
        current = str(form.get("current_password") or "")
        new = str(form.get("new_password") or "")
        repeat = str(form.get("repeat_password") or "")
        errors: dict[str, str] = {}
        if not current:
            errors["current"] = self.tr("password_current_missing")
        if not new:
            errors["new"] = self.tr("password_new_missing")
        elif new != repeat:
            errors["repeat"] = self.tr("password_repeat_differs")
        elif new == current:
            errors["new"] = self.tr("password_unchanged")
        self.field_errors = errors
        if errors:
            return
        self.saving = True
        yield
        try:
            answer = await self.api().change_password(current, new)
        except SignedOut as exc:
            self.saving = False
            yield self.on_error(exc)
            return
        except ApiError as exc:
            self.saving = False
            self.field_errors = {FIELD_OF_CODE.get(exc.code, "_form"): self.error_text(exc)}
            return
        self.token = str(answer.get("token") or "")
        self.saving, self.form_key = False, self.form_key + 1
        yield rx.toast.success(self.tr("password_changed"))
