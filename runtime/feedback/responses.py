"""What `POST /api/runs/{id}/feedback` answers, and the feedback a run shows
(`GET /api/runs/{id}`): the JSON of `runtime.feedback.service.feedback_as_json`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runtime.feedback.service import Rating


class FeedbackOut(BaseModel):
    """One person's rating of one run."""

    # Built from the service's dict: a key it adds or drops fails here, not on the wire.
    model_config = ConfigDict(extra="forbid")

    run_id: str
    rating: Rating
    correction: str | None = Field(description='What the answer should have said (only with "down")')
    by: str | None = Field(description="Username of whoever gave it")
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> FeedbackOut:
        return cls.model_validate(body)
