"""The feedback slice's dependency: `feedback: Feedback` (a `FeedbackService`).

The provider names `actor` so that it is resolved after it, alone on its level (see
`runtime.runs.deps`)."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from runtime.api.deps import Caller, Root
from runtime.feedback.service import FeedbackService


def provide_feedback(root: Root, actor: Caller) -> FeedbackService:
    return FeedbackService(root.db, root.authz, root.runs.facts)


FEEDBACK_DEPENDENCIES = {"feedback": Provide(provide_feedback, sync_to_thread=False)}
Feedback = NamedDependency[FeedbackService]
