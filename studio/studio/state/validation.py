"""The editor's document and what the runtime says is wrong with it.

The base of the editor's mixins: `doc` is the working copy as the editor shows it,
`validation` the problems `POST /api/flows/validate` found in it (each naming a node and
a field, or the flow itself). Problems are kept as the runtime said them (code and
parameters) and put in words only when shown, so that they follow the language switch.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio.api import ApiError
from studio.i18n import describe_problem
from studio.state.base import AppState


class Validation(AppState, mixin=True):
    doc: dict[str, Any] = {}
    validation: list[dict[str, Any]] = []
    current_hash: str = ""  # content hash of `doc` when it is valid

    @rx.var
    def problem_count(self) -> int:
        return len(self.validation)

    def _said_validation(self) -> list[dict[str, Any]]:
        """The validation's problems with `message` in the person's language (by code)."""
        return [{**error, "message": describe_problem(error, self.lang)} for error in self.validation]

    @rx.var
    def problems(self) -> list[dict[str, str]]:
        return [
            {
                "node": str(error.get("node") or ""),
                "field": str(error.get("field") or ""),
                "message": str(error["message"]),
            }
            for error in self._said_validation()
        ]

    @rx.var
    def flow_level_errors(self) -> dict[str, str]:
        """Errors that name no node, by field (`outputs.answer`, `card.risk`, `inputs`...)."""
        return {
            str(error.get("field") or ""): str(error["message"])
            for error in self._said_validation()
            if not error.get("node")
        }

    async def _validate(self) -> None:
        try:
            report = await self.api().validate(self.doc)
        except ApiError as exc:
            # Said by its code when shown, so that it follows the language switch.
            self.validation = [
                {"node": None, "field": None, "code": exc.code, "params": exc.body, "message": exc.message}
            ]
            self.current_hash = ""
            return
        self.validation = list(report.get("errors") or [])
        self.current_hash = str(report.get("content_hash") or "")
