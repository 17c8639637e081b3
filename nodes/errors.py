"""Errors raised by nodes while they run.

    NodeError                  a node could not do its work; message for a champion
    ├── TemplateError          a template failed to compile or render (incl. sandbox refusals)
    │   ├── TemplateTooLarge   longer than MAX_TEMPLATE_CHARS: refused before it is parsed
    │   └── TemplateBudgetExceeded
    │                          the template needed more than its budget allows (a size, a
    │                          loop count, CPU time, memory); says which limit and its value
    ├── NodeTimeout            the node took longer than its timeout
    └── ServiceUnavailable     an external service (LLM endpoint, index, connection) is
                               down, unreachable or not configured

The engine wraps each of these with the node id and type (`runtime.engine.errors.StepFailed`);
nodes never need to repeat their own id in a message. An error with a `code` also gives
that stable code and its `parameters()` to the step's stored error, so that the studio can
say it in the champion's language: `NodeError(message, code="...", name=value, ...)`; the
runtime lists every code with its parameters (`runtime/codes/steps.py`).
"""

from __future__ import annotations

from typing import Any


class NodeError(Exception):
    """A node failed. `message` says what was expected and what happened; `code`, where
    set (by the class, or per error), is a stable word for programs (the studio translates
    it), e.g. `no_test_target`."""

    code: str | None = None

    def __init__(
        self, message: str, *, field: str | None = None, code: str | None = None, **params: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.params = params

    def parameters(self) -> dict[str, Any]:
        """Values the `code`'s text needs (the keyword extras it was raised with)."""
        return dict(self.params)

    def __reduce__(self) -> Any:  # raised in a template worker process, re-raised here
        return (_restore, (type(self), self.message, self.field, self.code, self.params))


class TemplateError(NodeError):
    """A Jinja2 template could not be compiled or rendered."""


class TemplateBudgetExceeded(TemplateError):
    """A template needed more than its budget: `limit` names the limit, `limit_value` its value."""

    code = "template_budget_exceeded"

    def __init__(self, limit: str, limit_value: float, what: str) -> None:
        super().__init__(f"the template exceeds its budget: {what}")
        self.limit = limit
        self.limit_value = limit_value
        self.what = what

    def parameters(self) -> dict[str, Any]:
        return {"limit": self.limit, "limit_value": self.limit_value}

    def __reduce__(self) -> Any:  # raised in a worker process, re-raised here
        return (type(self), (self.limit, self.limit_value, self.what))


class TemplateTooLarge(TemplateError):
    """A template (or expression) is longer than anyone writes by hand; it is refused
    before it is parsed, since Jinja's parser takes seconds for a megabyte."""

    code = "template_too_large"

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"the template has {length:,} characters; at most {limit:,} are allowed")
        self.length = length
        self.limit = limit

    def parameters(self) -> dict[str, Any]:
        return {"length": self.length, "limit": self.limit}


class NodeTimeout(NodeError):
    """The node ran longer than its timeout."""


class ServiceUnavailable(NodeError):
    """An external service the node needs is down or not configured."""


def _restore(
    cls: type[NodeError], message: str, field: str | None, code: str | None, params: dict[str, Any]
) -> NodeError:
    return cls(message, field=field, code=code, **params)
