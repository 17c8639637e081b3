"""huggingface_hub's `AsyncInferenceClient`, as `runtime.llm.client` uses it.

A module of its own so that huggingface_hub's inference client (≈ 0.2 s of imports) is
loaded with the first model call, not with the runtime.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from huggingface_hub import AsyncInferenceClient
from huggingface_hub.errors import InferenceTimeoutError
from huggingface_hub.inference._common import _parse_text_generation_error
from huggingface_hub.inference._providers import get_provider_helper
from huggingface_hub.utils import hf_raise_for_status


class PooledInferenceClient(AsyncInferenceClient):  # type: ignore[misc]
    """`AsyncInferenceClient` whose streamed answers give their connection back.

    huggingface_hub stops reading a stream at `data: [DONE]` and closes the response
    before the end of its body (the chunked encoding's last chunk, sent right after), so
    the connection cannot be reused: every streamed call opened a new one (and waited for
    its handshake). It also keeps each streamed response on the client until the client
    is closed. Here the stream is read to its end before `[DONE]` is passed on (the end
    follows at once; a server that sends no `[DONE]` ends the stream anyway), which puts
    the connection back into the pool, and the response is not kept.
    """

    async def stream_chat(
        self, messages: list[dict[str, Any]], **parameters: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """`chat_completion(messages, stream=True, **parameters)` as the server's JSON chunks.

        The request is prepared as `chat_completion` prepares it; the chunks are not made
        into huggingface_hub's dataclasses, which cost more per chunk (a recursive parse
        and copy of every field) than the rest of a token's way to the caller. A chunk
        with an `error` raises what huggingface_hub raises for it.
        """
        model_url = self.model  # the endpoint's base URL: see `HFChatModel._new_client`
        helper = get_provider_helper(self.provider, task="conversational", model=model_url)
        request = helper.prepare_request(
            inputs=messages,
            parameters={**parameters, "stream": True, "stream_options": {"include_usage": True}},
            headers=self.headers,
            model=model_url,
            api_key=self.token,
        )
        lines = await self._inner_post(request, stream=True)
        async for line in lines:
            if not line.startswith("data:"):
                continue  # the empty line between events
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                break  # the body was read to its end already (`_lines_to_the_end`)
            chunk = json.loads(data)
            if not isinstance(chunk, dict):
                raise ValueError(f"a streamed chunk is not a JSON object: {data[:100]}")
            if chunk.get("error") is not None:
                raise _parse_text_generation_error(chunk["error"], chunk.get("error_type"))
            yield chunk

    async def _inner_post(self, request_parameters: Any, *, stream: bool = False) -> Any:
        if not stream:
            return await super()._inner_post(request_parameters, stream=False)
        session = await self._get_async_client()
        request = session.build_request(
            "POST",
            request_parameters.url,
            json=request_parameters.json,
            data=request_parameters.data,
            headers=request_parameters.headers,
            cookies=self.cookies,
            timeout=self.timeout,
        )
        try:
            response = await session.send(request, stream=True)
        except httpx2.TimeoutException as error:  # as huggingface_hub says it
            raise InferenceTimeoutError(f"Inference call timed out: {request_parameters.url}") from error
        try:
            hf_raise_for_status(response)
        except BaseException:
            await response.aclose()
            raise
        return _lines_to_the_end(response)


async def _lines_to_the_end(response: httpx2.Response) -> AsyncIterator[str]:
    """The stream's lines; `data: [DONE]` only once the body has been read to its end."""
    done = False
    try:
        async for raw in response.aiter_lines():
            line = raw.strip()
            if line == "data: [DONE]":
                done = True
            elif not done:
                yield line
        if done:
            yield "data: [DONE]"
    finally:
        await response.aclose()
