"""`retrieval`: finds the passages of a knowledge index that answer a query.

The search runs through the `knowledge` service (`KnowledgeSearch` below) on behalf of
whoever started the run (`ctx.caller_id`, set by the engine from the stored run, so a
resumed run searches as the same person): a flow can never widen what a person may read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from nodes.base import Node, NodeConfig, NodeContext, Outputs, Scope, template_field
from nodes.errors import NodeError


@dataclass(frozen=True)
class RetrievalRequest:
    run_id: str
    index: str
    query: str
    k: int = 5
    min_score: float = 0.0
    labels: tuple[str, ...] | None = None
    # Who the run acts for and the flow's workspace (from the engine, `ctx`); when
    # missing, the service looks them up from the stored run.
    caller_id: str | None = None
    workspace_id: str | None = None


@dataclass(frozen=True)
class Passage:
    text: str
    source: str
    page: int | None
    section: str | None
    score: float
    chunk_id: str
    document_id: str


class KnowledgeSearch(Protocol):
    """The `knowledge` service as the node sees it."""

    async def retrieve(self, request: RetrievalRequest) -> list[Passage]:
        """Passages of `request.index` the run's caller may read, best first, at most `k`,
        none scoring below `min_score`. Raises `NodeError` for an unknown index and
        `ServiceUnavailable` when the index's backend is down."""
        ...


def where(passage: Passage) -> str:
    """ "Reisekosten.pdf, S. 3" / "Onboarding.md, Erster Tag" — how a source is cited."""
    parts = [passage.source]
    if passage.page is not None:
        parts.append(f"S. {passage.page}")
    if passage.section:
        parts.append(passage.section)
    return ", ".join(parts)


def context_text(passages: list[Passage]) -> str:
    """Numbered sources, ready for a prompt: `[1] Quelle: ...` followed by the passage."""
    return "\n\n".join(
        f"[{number}] Quelle: {where(passage)}\n{passage.text}"
        for number, passage in enumerate(passages, start=1)
    )


class RetrievalConfig(NodeConfig):
    index: str = Field(
        ...,
        min_length=1,
        max_length=64,
        description="Name of a knowledge index of the flow's workspace, e.g. offers",
    )
    query: str = template_field("What to search for, e.g. {{ inputs.question }}")
    k: int = Field(5, ge=1, le=50, description="How many passages at most")
    min_score: float = Field(
        0.0, ge=0.0, le=1.0, description="Leave out passages scoring below this (0 to 1; 1 = best match)"
    )
    labels: list[str] | None = Field(
        None,
        description="Only passages carrying one of these labels (never more than the caller may read)",
    )
    timeout_s: float = Field(60.0, gt=0, le=600, description="Seconds before giving up")

    @field_validator("labels")
    @classmethod
    def _labels_not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise PydanticCustomError("labels_empty", "give at least one label, or leave the field out")
        return value


class RetrievalNode(Node[RetrievalConfig]):
    type = "retrieval"
    title = "Knowledge search"
    description = "Finds passages in a knowledge index (only what the caller may read), with their sources."
    category = "ai"
    outputs = ("documents", "context")
    template_fields = ("query",)
    default_timeout_s = 60.0

    async def run(self, ctx: NodeContext, scope: Scope) -> Outputs:
        config = self.config
        query = (await ctx.render(config.query, scope)).strip()
        if not query:
            raise NodeError(
                "the query rendered to an empty text; check the template and the inputs",
                field="query",
                code="retrieval_query_empty",
            )
        knowledge: KnowledgeSearch = ctx.service("knowledge")
        labels = config.labels
        passages = await knowledge.retrieve(
            RetrievalRequest(
                run_id=ctx.run_id,
                index=config.index,
                query=query,
                k=config.k,
                min_score=config.min_score,
                labels=tuple(labels) if labels else None,
                caller_id=ctx.caller_id,
                workspace_id=ctx.workspace_id,
            )
        )
        documents = [asdict(passage) for passage in passages]
        return {"documents": documents, "context": context_text(passages)}
