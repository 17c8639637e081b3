"""Request bodies of the HTTP API (Pydantic; unknown fields are refused)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.config import JsonDict

from runtime.api.params import INT32_MAX
from runtime.flows.service import SLUG as FLOW_SLUG
from runtime.users.passwords import MIN_PASSWORD_LENGTH
from runtime.users.service import SLUG as WORKSPACE_SLUG

# The base of every body and its helpers live below the slices, which use them too.
from runtime.wire import NOT_BLANK as NOT_BLANK
from runtime.wire import PYTHON_WHITESPACE as PYTHON_WHITESPACE
from runtime.wire import Body as Body
from runtime.wire import Integer as Integer
from runtime.wire import documented_pattern as documented_pattern


class LoginRequest(Body):
    username: str = Field(..., min_length=1, max_length=64)
    password: str = Field(..., min_length=1, max_length=1024)


class WorkspaceCreate(Body):
    slug: str = Field(..., json_schema_extra=documented_pattern(WORKSPACE_SLUG))
    name: str | None = None


class ValidateRequest(Body):
    document: Any


class FlowCreate(Body):
    name: str = Field(..., min_length=1, max_length=200)
    slug: str = Field(..., json_schema_extra=documented_pattern(FLOW_SLUG))
    document: dict[str, Any]


class VersionCreate(Body):
    # Without a document, the version is cut from the flow's working copy.
    document: dict[str, Any] | None = None


class ReviewRequest(Body):
    comment: str = Field("", max_length=10_000)


class RejectRequest(Body):
    # A blank comment is refused by the handler (`comment_required`, which the studio translates).
    comment: str = Field(
        ...,
        max_length=10_000,
        json_schema_extra={"minLength": 1, "pattern": NOT_BLANK},
        description="What to change: required, not blank",
    )


class RunRequest(Body):
    inputs: dict[str, Any] = Field(default_factory=dict)
    version: Integer | None = Field(
        None, ge=1, le=INT32_MAX, description="Pin a version number; default: the live one"
    )
    stream: bool = False
    wait_s: float = Field(
        60.0,
        ge=0,
        le=600,
        description="How long to wait for the result; after that (0: at once) the answer is 202 "
        "with the run's id, and the run is stored before that answer",
    )


class TestRunRequest(Body):
    inputs: dict[str, Any] = Field(default_factory=dict)
    fixed_outputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    stream: bool = False
    wait_s: float = Field(60.0, ge=0, le=600)
    allow_live_reads: bool = Field(
        False,
        description="Let read-only calls (SQL, HTTP GET) of connections without a test target "
        "read production data; side effects are refused either way",
    )


class TestCasesRequest(Body):
    __test__ = False  # not a pytest class, although its name starts with "Test"

    live: bool = Field(False, description="Let llm nodes that a case does not fix call the LLM")


class SubmitRequest(Body):
    override_reason: str | None = Field(
        None,
        max_length=2000,
        json_schema_extra={"pattern": NOT_BLANK},  # checked by the service: `override_reason_required`
        description="Admins only: submit although the test cases did not pass, and say why (audited)",
    )


class DecisionRequest(Body):
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=10_000)
    payload: Any = None


# -- sessions and passwords (runtime/users/auth_controller.py) ---------------------------
# The length a new password needs, shown in the OpenAPI; the service checks it and answers
# its own code (`weak_password` with `min_length`, which the studio words).
NEW_PASSWORD: JsonDict = {"minLength": MIN_PASSWORD_LENGTH}


class PasswordChange(Body):
    current_password: str = Field(..., min_length=1, max_length=1024)
    new_password: str = Field(..., min_length=1, max_length=1024, json_schema_extra=NEW_PASSWORD)


class PasswordReset(Body):
    new_password: str = Field(..., min_length=1, max_length=1024, json_schema_extra=NEW_PASSWORD)
