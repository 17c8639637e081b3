"""`GET /api/templates`: the starter templates the studio offers under "new flow"."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, get

from runtime.api.deps import Caller, Rt
from runtime.policy.resources import Platform
from runtime.templates.loader import load_templates


class TemplateController(Controller):
    path = "/api/templates"
    tags = ["templates"]

    @get("/")
    async def list_templates(self, rt: Rt, actor: Caller) -> list[dict[str, Any]]:
        """Every template with its README and its document (prompts resolved, test cases
        included), for champions: the policy's `read_templates` on the platform."""
        rt.authz.authorize(actor, "read_templates", Platform())
        # Read on each request (a few dozen small files): an edited template shows at once.
        templates = await asyncio.to_thread(load_templates)
        return [template.as_json() for template in templates]
