"""`GET /api/starters`: the starter flows the studio offers under "new flow".

GET /api/starters    every starter, with its README and document
GET /api/templates   the same, under the name studios before 2026-12 call (deprecated)
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from pydantic import BaseModel, Field

from runtime.api.deps import Caller, Root
from runtime.policy.authorizer import Authorizer
from runtime.policy.resources import Actor, Platform
from runtime.starters.loader import Starter, load_starters


class StarterOut(BaseModel):
    slug: str
    name: str
    description: str
    language: str = Field(description="Language of the prompts and texts: de | en")
    readme: str = Field(description="The starter's README.md (Markdown), shown beside the gallery")
    needs: dict[str, list[str]] = Field(
        description='What the flow uses: {"connections": [...], "indexes": [...]} (names)'
    )
    document: dict[str, Any] = Field(
        description="The flow document (dirigent.flow/v1), prompts resolved, test cases included"
    )

    @classmethod
    def of(cls, starter: Starter) -> StarterOut:
        return cls(
            slug=starter.slug,
            name=starter.name,
            description=starter.description,
            language=starter.language,
            readme=starter.readme,
            needs=starter.needs,
            document=starter.document,
        )


async def _starters(authz: Authorizer, actor: Actor) -> list[StarterOut]:
    authz.authorize(actor, "read_starters", Platform())
    # Read on each request (a few dozen small files): an edited starter shows at once.
    starters = await asyncio.to_thread(load_starters)
    return [StarterOut.of(starter) for starter in starters]


def provide_policy(root: Root, actor: Caller) -> Authorizer:
    # Names `actor` so that it is resolved after it, alone on its level (see runtime.runs.deps).
    return root.authz


Policy = NamedDependency[Authorizer]


class StarterController(Controller):
    path = "/api"
    tags = ["starters"]
    dependencies = {"policy": Provide(provide_policy, sync_to_thread=False)}

    @get("/starters")
    async def list_starters(self, policy: Policy, actor: Caller) -> list[StarterOut]:
        """Every starter with its README and its document (prompts resolved, test cases
        included), for champions: the policy's `read_starters` on the platform."""
        return await _starters(policy, actor)

    @get("/templates", deprecated=True)
    async def list_templates(self, policy: Policy, actor: Caller) -> list[StarterOut]:
        """Deprecated: the former name of `GET /api/starters`, answered the same for studios
        deployed before the rename. Use `GET /api/starters`."""
        return await _starters(policy, actor)
