"""The studio's states without a browser: a state instance as Reflex makes it (under the
root state), its helpers and event handlers driven directly."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import reflex as rx

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "studio"))

from studio.api import ApiError, SignedOut
from studio.state.models import ModelsState
from studio.state.runs import RunsState


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
