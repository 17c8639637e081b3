"""What the runs viewer's endpoints answer and accept (Pydantic; see `viewer_controller`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from runtime.wire import Body

Rating = Literal["up", "down"]
CaseCheck = Literal["equals", "contains"]
MAX_EXPECTED = 10_000
MAX_CASE_NAME = 120


class RunRow(BaseModel):
    """One run in the list of an assistant's runs: no inputs or outputs, only what it was."""

    id: str
    flow_id: str
    version: int
    status: str
    is_test: bool
    started_by: str | None = Field(description="Display name of who asked (None: a webhook, a schedule)")
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_ms: float | None = Field(description="From the request to the end; None while it has not ended")
    total_tokens: int
    feedback: Rating | None = Field(description="The rating of whoever asked, if they gave one")
    has_correction: bool


class RunPage(BaseModel):
    runs: list[RunRow]
    next_before: str | None = Field(description="Pass as `before` for the next page; None on the last")


class RunFeedbackOut(BaseModel):
    rating: Rating
    correction: str | None
    by: str | None
    updated_at: str | None


class StepTrace(BaseModel):
    """One node's execution; `inputs` and `outputs` are bounded (`truncated` says if cut)."""

    node_id: str
    node_type: str
    title: str = Field(description="The node's title in the version that ran, else its id")
    status: str
    started_at: str | None
    finished_at: str | None
    duration_ms: float | None
    tokens: int
    inputs: Any
    outputs: Any
    error: dict[str, Any] | None
    truncated: bool


class RunTrace(BaseModel):
    id: str
    flow_id: str
    flow_name: str
    version: int
    content_hash: str
    status: str
    is_test: bool
    started_by: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_ms: float | None
    total_tokens: int
    inputs: Any
    outputs: Any
    error: dict[str, Any] | None
    truncated: bool = Field(description="Whether the run's own inputs or outputs were cut")
    steps: list[StepTrace]
    feedback: RunFeedbackOut | None
    can_make_test_case: bool = Field(
        description="Whether the caller may edit the flow (and so add the run as a test case)"
    )


class StepFull(BaseModel):
    """One step's inputs and outputs in full, as stored."""

    run_id: str
    node_id: str
    node_type: str
    status: str
    inputs: Any
    outputs: Any
    error: dict[str, Any] | None


class TestCaseProposal(BaseModel):
    """The test case `POST /api/runs/{id}/test-case` would add to the flow's working copy."""

    __test__ = False  # not a pytest class

    flow_id: str
    name: str
    inputs: dict[str, Any]
    fixed: list[str] = Field(description="Connector nodes fixed with what they answered in the run")
    decisions: list[str] = Field(description="Approval nodes decided as they were in the run")
    outputs: list[str] = Field(description="The declared outputs of the working copy")
    output: str | None = Field(description="The output the check looks at by default")
    check: CaseCheck
    expected: str
    from_correction: bool = Field(description="Whether `expected` is the asker's correction")
    llm_nodes: list[str] = Field(
        description="Nodes that ask the LLM and are not fixed: in fixed mode (the mode that gates "
        "submission) the case fails until they are fixed; run the cases live to check them"
    )
    revision: int
    etag: str


class TestCaseRequest(Body):
    __test__ = False

    check: CaseCheck = "equals"
    expected: str | None = Field(
        None,
        max_length=MAX_EXPECTED,
        description="The text the output must equal or contain; default: the correction",
    )
    output: str | None = Field(None, description="A declared output of the flow; default: its main one")
    name: str | None = Field(None, min_length=1, max_length=MAX_CASE_NAME)


class TestCaseCreated(BaseModel):
    __test__ = False

    flow_id: str
    index: int = Field(description="The case's position in the working copy's `tests`")
    name: str
    case: dict[str, Any]
    llm_nodes: list[str]
    revision: int
    etag: str
