"""The `llm` service: chat completions against registered model endpoints (TGI & co)."""

from runtime.llm.client import ChatEndpoint, EndpointRow, HFChatModel, ModelEndpoints

__all__ = ["ChatEndpoint", "EndpointRow", "HFChatModel", "ModelEndpoints"]
