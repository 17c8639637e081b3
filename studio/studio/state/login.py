"""The sign-in page's state: username and password against the runtime; the token goes
into a cookie (`AppState.token`).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import routes
from studio.api import ApiError
from studio.state.base import AppState


class LoginState(AppState):
    error: str = ""
    busy: bool = False

    @rx.event
    async def submit(self, form: dict[str, Any]) -> Any:
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        self.error = ""
        if not username or not password:
            self.error = self.tr("username") + " / " + self.tr("password") + " ?"
            return
        self.busy = True
        yield
        try:
            answer = await self.api().login(username, password)
            self.token = answer["token"]
            await self._load_person()
        except ApiError as exc:
            self.busy = False
            self.token = ""
            self.error = self.error_text(exc)
            return
        self.busy = False
        wanted = self.router.url.query_parameters.get("next", "")
        target = (
            wanted if wanted.startswith("/") and not wanted.startswith(routes.LOGIN) else self.home_route()
        )
        yield rx.toast.success(self.tr("welcome", name=self.username), duration=2500)
        yield rx.redirect(target)

    @rx.event
    def clear_form(self) -> None:
        self.error = ""
        self.busy = False
