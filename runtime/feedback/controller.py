"""`POST /api/runs/{run_id}/feedback`: whoever started a run rates its answer."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.params import FromPath, JSONBody
from pydantic import Field

from runtime.api.deps import Caller
from runtime.api.schemas import Body
from runtime.feedback.deps import FEEDBACK_DEPENDENCIES, Feedback
from runtime.feedback.responses import FeedbackOut
from runtime.feedback.service import MAX_CORRECTION, Rating


class FeedbackRequest(Body):
    rating: Rating = Field(..., description='"up" or "down"')
    correction: str | None = Field(
        None,
        max_length=MAX_CORRECTION,
        description='What the answer should have said; only with "down", at most 4000 characters',
    )


class FeedbackController(Controller):
    path = "/api/runs"
    tags = ["runs"]
    dependencies = FEEDBACK_DEPENDENCIES

    @post("/{run_id:str}/feedback")
    async def give(
        self, feedback: Feedback, actor: Caller, run_id: FromPath[str], data: JSONBody[FeedbackRequest]
    ) -> Response[FeedbackOut]:
        """201 for a first feedback, 200 when it replaces the caller's earlier one."""
        body, created = await feedback.give(actor, run_id, data.rating, data.correction)
        return Response(FeedbackOut.of(body), status_code=201 if created else 200)
