"""The studio's states without a browser: a state instance as Reflex makes it (under the
root state), its helpers and event handlers driven directly."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import reflex as rx
import uvicorn

from tests.support.api import PASSWORD, ApiHarness

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import ApiError, SignedOut
from studio.state.account import AccountState
from studio.state.models import ModelsState
from studio.state.runs import RunsState
from studio.tasks_view import element_id, linked_task, scroll_script


def _state(state_class: type[rx.State]) -> Any:
    root = rx.State(_reflex_internal_init=True)  # type: ignore[call-arg]
    return root.get_substate(state_class.get_full_name().split(".")[1:])


def _toast_texts(events: list[Any]) -> str:
    return " ".join(str(event) for event in events)


async def test_a_runtime_call_that_fails_resets_the_spinner_and_answers_with_the_error_in_words() -> None:
    state = _state(ModelsState)
    state.loading = True
    async with state._runtime_call("loading") as call:
        raise ApiError(409, "name_taken", "The name is taken.", {"name": "default"})
    assert call.failed and call.error is not None and call.error.code == "name_taken"
    assert state.loading is False
    assert len(call.events) == 1 and "error" in _toast_texts(call.events)


async def test_a_runtime_call_that_succeeds_runs_its_whole_block_and_answers_with_nothing() -> None:
    state = _state(ModelsState)
    state.testing = "default"  # a str spinner (the name being tested) is reset to ""
    async with state._runtime_call("testing") as call:
        state._found = [{"name": "default"}]
    assert not call.failed and call.events == [] and call.error is None
    assert state.testing == "" and state._found == [{"name": "default"}]


async def test_a_runtime_call_keeps_the_error_in_words_where_the_page_shows_it() -> None:
    state = _state(RunsState)
    state.lang = "en"
    async with state._runtime_call(error_to="load_error") as call:
        raise ApiError(404, "flow_not_found", "Flow not found.", {"flow_id": "f1"})
    assert call.failed
    assert state.load_error == state.error_text(call.error) and state.load_error


async def test_a_runtime_call_signs_out_on_a_lost_session() -> None:
    state = _state(ModelsState)
    state.token, state.username = "expired", "ada"
    async with state._runtime_call() as call:
        raise SignedOut(401, "not_authenticated", "Sign in.", {})
    assert call.failed and state.token == "" and state.username == ""
    assert len(call.events) == 2  # a notice, and the way to the sign-in page


async def test_a_runtime_call_lets_other_errors_through() -> None:
    state = _state(ModelsState)
    state.loading = True
    with pytest.raises(KeyError):
        async with state._runtime_call("loading"):
            raise KeyError("bug")
    assert state.loading is False  # the spinner stops even then


# -- the tasks page's link (`/tasks?task=<id>`) ----------------------------------------------------
def test_a_link_to_an_open_task_shows_its_card_and_one_to_a_gone_task_says_so() -> None:
    assert linked_task("t2", ["t1", "t2", "t3"]) == ("t2", False)
    assert linked_task("t9", ["t1", "t2"]) == ("", True)  # decided meanwhile, or not mine
    assert linked_task("", ["t1"]) == ("", False)  # no link: nothing highlighted, no notice


def test_the_scroll_script_looks_for_the_cards_element_id_quoted_as_data() -> None:
    script = scroll_script('7"); alert(1); ("')
    # The id goes into the script as a JSON string: a quote in it cannot end the string.
    assert json.dumps(element_id('7"); alert(1); ("')) in script
    assert "scrollIntoView" in script and element_id("t1") == "task-t1"


# -- one's own password, against the real runtime on 127.0.0.1 -------------------------------------
@pytest.fixture
async def runtime_url(api: ApiHarness, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The harness's runtime app served over HTTP (its lifespan ran already), for the
    studio's own client (`DIRIGENT_RUNTIME_URL`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(api.client.app, host="127.0.0.1", port=port, lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("DIRIGENT_RUNTIME_URL", url)
    yield url
    server.should_exit = True
    await serving


async def _submit(state: Any, form: dict[str, str]) -> list[Any]:
    return [event async for event in state.change_password(form)]


async def test_a_password_change_is_checked_in_the_form_before_the_runtime_is_asked() -> None:
    state = _state(AccountState)
    state.lang = "en"
    await _submit(state, {"current_password": "", "new_password": "a-new-one-1234", "repeat_password": "x"})
    assert set(state.field_errors) == {"current", "repeat"}
    await _submit(
        state,
        {
            "current_password": "same-same-1234",
            "new_password": "same-same-1234",
            "repeat_password": "same-same-1234",
        },
    )
    assert state.field_errors == {"new": "The new password is the current one."}


async def test_a_wrong_or_weak_password_is_said_at_its_field_by_code(
    api: ApiHarness, runtime_url: str
) -> None:
    state = _state(AccountState)
    state.lang, state.token = "de", api.tokens["user"]
    new = "ein-neues-passwort-42"
    await _submit(state, {"current_password": "falsch-falsch", "new_password": new, "repeat_password": new})
    assert state.field_errors == {"current": "Das bisherige Passwort stimmt nicht."}
    state.lang = "en"  # the refusal follows the language switch (said from its code)
    assert state.field_errors == {"current": "The current password is wrong."}
    state.lang = "de"
    await _submit(state, {"current_password": PASSWORD, "new_password": "kurz", "repeat_password": "kurz"})
    assert list(state.field_errors) == ["new"] and "zu kurz" in state.field_errors["new"]
    assert state.saving is False and state.token == api.tokens["user"]


async def test_a_changed_password_keeps_this_tab_signed_in_and_ends_the_other_sessions(
    api: ApiHarness, runtime_url: str
) -> None:
    state = _state(AccountState)
    state.lang, state.token = "en", api.tokens["user"]
    new = "a-brand-new-password-7"
    events = await _submit(state, {"current_password": PASSWORD, "new_password": new, "repeat_password": new})
    assert state.field_errors == {} and state.form_key == 1 and events
    assert state.token and state.token != api.tokens["user"]  # the answer's new token, in the cookie
    me = await api.client.get("/api/me", headers={"Authorization": f"Bearer {state.token}"})
    assert me.status_code == 200 and me.json()["username"] == "user"
    old = await api.as_("user").get("/api/me")
    assert old.status_code == 401  # every other session (this tab's old token too) has ended
    relogin = await api.client.post("/api/auth/login", json={"username": "user", "password": new})
    assert relogin.status_code == 200
