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
from studio.i18n import describe_answer
from studio.state.base import AppState

# Which field a refusal belongs to; any other code is said above the button.
FIELD_OF_CODE = {"wrong_password": "current", "weak_password": "new"}


class AccountState(AppState):
    # The problems by field ("current", "new", "repeat", "_form"): a text key of the studio's,
    # or the runtime's answer; `field_errors` says them in the person's language (and follows
    # the language switch).
    _problems: dict[str, dict[str, Any]] = {}
    saving: bool = False
    # Bumped after a change: the form's uncontrolled fields start empty again.
    form_key: int = 0

    @rx.var
    def field_errors(self) -> dict[str, str]:
        return {field: self._said(problem) for field, problem in self._problems.items()}

    def _said(self, problem: dict[str, Any]) -> str:
        if "key" in problem:
            return self.tr(str(problem["key"]))
        code, message, status, body = problem["code"], problem["message"], problem["status"], problem["body"]
        return describe_answer(code, message, status, body, self.lang)

    @rx.event
    def clear_form(self) -> None:
        self._problems, self.saving = {}, False

    @rx.event
    async def change_password(self, form: dict[str, Any]) -> Any:
        current = str(form.get("current_password") or "")
        new = str(form.get("new_password") or "")
        repeat = str(form.get("repeat_password") or "")
        problems: dict[str, dict[str, Any]] = {}
        if not current:
            problems["current"] = {"key": "password_current_missing"}
        if not new:
            problems["new"] = {"key": "password_new_missing"}
        elif new != repeat:
            problems["repeat"] = {"key": "password_repeat_differs"}
        elif new == current:
            problems["new"] = {"key": "password_unchanged"}
        self._problems = problems
        if problems:
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
            said = {"code": exc.code, "message": exc.message, "status": exc.status, "body": exc.body}
            self._problems = {FIELD_OF_CODE.get(exc.code, "_form"): said}
            return
        self.token = str(answer.get("token") or "")
        self.saving, self.form_key = False, self.form_key + 1
        yield rx.toast.success(self.tr("password_changed"))
