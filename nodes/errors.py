"""Errors raised by nodes while they run.

    NodeError                  a node could not do its work; message for a champion
    ├── TemplateError          a template failed to compile or render (incl. sandbox refusals)
    ├── NodeTimeout            the node took longer than its timeout
    └── ServiceUnavailable     an external service (LLM endpoint, index, connection) is
                               down, unreachable or not configured

The engine wraps each of these with the node id and type (`runtime.engine.errors.StepFailed`);
nodes never need to repeat their own id in a message.
"""

from __future__ import annotations


class NodeError(Exception):
    """A node failed. `message` says what was expected and what happened; `code`, where
    set, is a stable word for programs (the studio translates it), e.g. `no_test_target`."""

    code: str | None = None

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class TemplateError(NodeError):
    """A Jinja2 template could not be compiled or rendered."""


class NodeTimeout(NodeError):
    """The node ran longer than its timeout."""


class ServiceUnavailable(NodeError):
    """An external service the node needs is down or not configured."""
