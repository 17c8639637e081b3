"""`AppState`: who is signed in, in which workspace, in which language.

Every page's state derives from it, so every page reads the token, the language and
the roles directly. The token lives in a cookie (the runtime's bearer token; the
studio keeps no passwords); a 401 from the runtime at any point signs the person out
and sends them to the sign-in page with a notice.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from studio import routes
from studio.api import ApiError, RuntimeClient, SignedOut
from studio.i18n import DEFAULT_LANGUAGE, LANGUAGES, describe_answer, text_pair, translate

TOKEN_MAX_AGE_S = 12 * 3600  # the runtime's default token lifetime (720 minutes)
YEAR_S = 365 * 24 * 3600


@dataclass
class RuntimeCall:
    """How the calls in an `AppState._runtime_call` block went."""

    failed: bool = False
    error: ApiError | None = None
    # What to answer with: the error as a toast (or sign-in again); [] when all went well.
    events: list[Any] = field(default_factory=list)


class AppState(rx.State):
    """The signed-in person and their settings; base of every page's state."""

    token: str = rx.Cookie("", name="dirigent_token", max_age=TOKEN_MAX_AGE_S, same_site="strict")
    lang: str = rx.Cookie(DEFAULT_LANGUAGE, name="dirigent_lang", max_age=YEAR_S)
    workspace: str = rx.Cookie("", name="dirigent_workspace", max_age=YEAR_S)

    username: str = ""
    global_roles: list[str] = []
    # slug -> roles of the signed-in person there; workspaces they can see but hold no role in map to [].
    workspace_roles: dict[str, list[str]] = {}
    workspace_names: dict[str, str] = {}

    # -- derived ---------------------------------------------------------------------------
    @rx.var
    def signed_in(self) -> bool:
        return bool(self.token and self.username)

    @rx.var
    def is_board(self) -> bool:
        return "board" in self.global_roles

    @rx.var
    def is_admin(self) -> bool:
        return "admin" in self.global_roles or "admin" in self.workspace_roles.get(self.workspace, [])

    @rx.var
    def is_global_admin(self) -> bool:
        """Admin of the whole platform (models, users), not only of a workspace."""
        return "admin" in self.global_roles

    @rx.var
    def can_build(self) -> bool:
        """Champion (or admin) of the current workspace: may create and edit flows there."""
        roles = self.workspace_roles.get(self.workspace, [])
        return "champion" in roles or "admin" in roles or "admin" in self.global_roles

    @rx.var
    def sees_flows(self) -> bool:
        return self.can_build or self.is_board

    @rx.var
    def workspace_slugs(self) -> list[str]:
        return sorted(self.workspace_names)

    @rx.var
    def workspace_label(self) -> str:
        return self.workspace_names.get(self.workspace, self.workspace)

    # -- helpers for event handlers --------------------------------------------------------
    def api(self) -> RuntimeClient:
        return RuntimeClient(self.token)

    def tr(self, key: str, **values: Any) -> str:
        return translate(key, self.lang, **values)

    def error_text(self, exc: ApiError) -> str:
        return describe_answer(exc.code, exc.message, exc.status, exc.body, self.lang)

    def on_error(self, exc: ApiError) -> list[Any]:
        """The events that answer a failed runtime call: sign-in again, or a toast in words."""
        if isinstance(exc, SignedOut):
            self._forget_person()
            return [
                rx.toast.warning(self.tr("session_expired")),
                rx.redirect(f"{routes.LOGIN}?next={self.router.url.path or '/'}"),
            ]
        return [rx.toast.error(self.error_text(exc), duration=8000)]

    @contextlib.asynccontextmanager
    async def _runtime_call(self, busy: str = "", *, error_to: str = "") -> AsyncIterator[RuntimeCall]:
        """Runs its block; an `ApiError` in it ends the block and becomes `call.events`.

        (Underscored like every helper of a state: Reflex makes the public methods of a
        state event handlers, bound to the state that defines them, here `AppState`, not
        the page's state whose `busy` var is meant.)

        `busy` names the var that shows a spinner (`loading`, `saving`, `testing`...): it is
        reset to its empty value when the block ends, however it ends. `error_to` names a
        var that keeps the error in words for the page (a failed load shown in place).
        The usual shape of an event handler::

            self.loading = True
            yield
            async with self._runtime_call("loading") as call:
                self.items = await self.api().items(self.workspace)
            yield call.events
        """
        call = RuntimeCall()
        try:
            yield call
        except ApiError as exc:
            call.failed, call.error = True, exc
            if error_to:
                setattr(self, error_to, self.error_text(exc))
            call.events = self.on_error(exc)
        finally:
            if busy:
                setattr(self, busy, type(getattr(self, busy))())

    def _forget_person(self) -> None:
        self.token = ""
        self.username = ""
        self.global_roles = []
        self.workspace_roles = {}
        self.workspace_names = {}

    async def _load_person(self) -> None:
        """Who the token belongs to, and the workspaces they can see (raises `ApiError`)."""
        api = self.api()
        me = await api.me()
        visible = await api.workspaces()
        self.username = me["username"]
        self.global_roles = list(me.get("global_roles", []))
        roles = {item["slug"]: list(item.get("roles", [])) for item in me.get("workspaces", [])}
        for item in visible:
            roles.setdefault(item["slug"], list(item.get("roles", [])))
        self.workspace_roles = roles
        self.workspace_names = {item["slug"]: item.get("name") or item["slug"] for item in visible}
        for item in me.get("workspaces", []):
            self.workspace_names.setdefault(item["slug"], item.get("name") or item["slug"])
        if self.workspace not in self.workspace_names:
            # Prefer a workspace where the person holds a role over one they merely see.
            own = [slug for slug, held in roles.items() if held]
            self.workspace = (own or sorted(self.workspace_names) or [""])[0]

    # -- events ----------------------------------------------------------------------------
    @rx.event
    async def require_sign_in(self) -> Any:
        """First `on_load` event of every page behind sign-in."""
        if not self.token:
            return rx.redirect(f"{routes.LOGIN}?next={self.router.url.path or '/'}")
        if not self.username:
            try:
                await self._load_person()
            except ApiError as exc:
                return self.on_error(exc)
        return None

    @rx.event
    async def sign_out(self) -> Any:
        """Ends the session in the runtime too: the token stops working everywhere, not
        only in this browser (an expired or unreachable runtime does not keep anyone in)."""
        if self.token:
            # Signed out already, or the runtime is down: the cookie goes anyway.
            with contextlib.suppress(ApiError):
                await self.api().logout()
        self._forget_person()
        return [rx.toast.info(translate("signed_out", self.lang)), rx.redirect(routes.LOGIN)]

    @rx.event
    def set_lang(self, lang: str) -> Any:
        if lang in LANGUAGES:
            self.lang = lang
        # A toast says its message in the language it appeared in; it goes with the switch
        # (what the page shows follows the new language: computed from the runtime's data).
        return rx.toast.dismiss()

    @rx.event
    def set_workspace(self, slug: str) -> Any:
        if slug in self.workspace_names and slug != self.workspace:
            self.workspace = slug
            # The page's on_load reloads what it shows for the new workspace.
            return rx.redirect(self.router.url.path or routes.FLOWS)
        return None

    @rx.event
    def go_home(self) -> Any:
        return rx.redirect(self.home_route())

    def home_route(self) -> str:
        if self.can_build:
            return routes.FLOWS
        if "board" in self.global_roles:
            return routes.REVIEW
        return routes.ASSISTANTS

    @rx.event
    async def open_home(self) -> Any:
        """`/`: the start page that fits the person (flows, review or assistants)."""
        guard = await self.require_sign_in()
        if guard is not None:
            return guard
        return rx.redirect(self.home_route(), replace=True)

    @rx.event
    def copy_text(self, text: str) -> Any:
        return [rx.set_clipboard(text), rx.toast.info(self.tr("copied", text=text), duration=2500)]


def t(key: str) -> rx.Var:
    """The label `key` in the language the person chose (follows the switch at once)."""
    german, english = text_pair(key)
    return rx.cond(AppState.lang == "en", english, german)
