"""Request and response bodies of `/api/model-endpoints` (runtime/llm/controller.py)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from runtime.api.schemas import Body, documented_pattern

ENDPOINT_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
# A base URL of an LLM server: http(s), a host name, IPv4 or [IPv6] address, a port (1-65535), a
# path of printable ASCII without ? and # (the same in Python's and ECMAScript's regexes).
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
HTTP_URL = re.compile(rf"^https?://([A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(:{_PORT})?(/[!\"$->@-~]*)?$")

FailureReason = Literal[
    "not_allowed", "unreachable", "timeout", "unauthorized", "not_found", "server_error", "bad_response"
]


class ModelEndpointCreate(Body):
    name: str = Field(..., pattern=ENDPOINT_NAME, description="What flows name in `model`, e.g. default")
    base_url: str = Field(
        ...,
        min_length=1,
        max_length=500,
        json_schema_extra=documented_pattern(HTTP_URL),
        description="The server's root, e.g. http://tgi:80 or http://vllm:8000/v1",
    )
    model: str = Field("tgi", min_length=1, max_length=200, description="Model id sent to the server")
    api_key: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="Sent as `Authorization: Bearer`; stored encrypted, never shown again",
    )


class ModelEndpointPatch(Body):
    base_url: str | None = Field(
        None, min_length=1, max_length=500, json_schema_extra=documented_pattern(HTTP_URL)
    )
    model: str | None = Field(None, min_length=1, max_length=200)
    api_key: str | None = Field(
        None, min_length=1, max_length=4096, description="A new key; null removes it; left out: kept"
    )


class EndpointTestSummary(BaseModel):
    """The last press of the test button."""

    ok: bool
    at: str | None
    latency_ms: float | None
    error: FailureReason | None


class ModelEndpointView(BaseModel):
    name: str
    base_url: str = Field(description="Without any user:password@")
    model: str
    source: Literal["admin", "environment"] = Field(
        description="admin: registered here; environment: DIRIGENT_LLM_URL (change it there)"
    )
    has_api_key: bool = Field(description="The key itself is never shown")
    created_by: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    last_test: EndpointTestSummary | None = None


class EndpointTestResult(BaseModel):
    name: str
    ok: bool
    latency_ms: float
    error: FailureReason | None = Field(None, description="Why it failed, for programs")
    message: str = Field("", description="What happened, in English; never the API key")


class EndpointRemoved(BaseModel):
    name: str
    removed: bool = True
