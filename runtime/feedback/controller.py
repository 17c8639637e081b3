"""`POST /api/runs/{run_id}/feedback`: whoever started a run rates its answer."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, post
from litestar.params import FromPath, JSONBody
from pydantic import Field

from runtime.api.deps import Caller, Rt
from runtime.api.schemas import Body
from runtime.db.models import Run
from runtime.errors import Conflict, NotFound
from runtime.feedback.service import MAX_CORRECTION, Rating, give_feedback
from runtime.policy import resources


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

    @post("/{run_id:str}/feedback")
    async def give(
        self, rt: Rt, actor: Caller, run_id: FromPath[str], data: JSONBody[FeedbackRequest]
    ) -> Response[dict[str, Any]]:
        """201 for a first feedback, 200 when it replaces the caller's earlier one."""
        async with rt.db.write() as session:
            run = await session.get(Run, run_id)
            if run is None:
                facts = rt.runs.facts(run_id)
                if facts is None:
                    raise NotFound("run not found", code="not_found", resource="run")
                # Started here moments ago and not written yet: it has not ended.
                view = resources.Run(
                    id=run_id, workspace_id=facts["workspace_id"], started_by=facts["started_by"]
                )
                rt.authz.authorize(actor, "feedback", view)
                raise Conflict(
                    "the run is running; feedback is possible once it has ended",
                    code="run_not_finished",
                    status="running",
                )
            body, created = await give_feedback(session, rt.authz, actor, run, data.rating, data.correction)
        return Response(body, status_code=201 if created else 200)
