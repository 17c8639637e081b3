"""The editor's flow and card tabs: name, description, inputs, outputs and the flow's card.

A mixin of `EditorState` on top of the canvas (whose node types say which variables
outputs may use); each edit is a change of the working copy like any other
(`_changed` in `state.working_copy`: validated, undoable, saved soon).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from studio import flowdoc, input_specs
from studio.state.agent_tools import AgentTools


class FlowForm(AgentTools, mixin=True):  # the canvas's node types name the variables outputs may use
    # -- derived: flow and card forms --------------------------------------------------------
    @rx.var
    def input_rows(self) -> list[dict[str, str]]:
        return [
            {
                **input_specs.spec_form(spec),
                "name": name,
                "required": "true" if spec.get("required") else "",
                "value": self.test_inputs.get(name, ""),
            }
            for name, spec in (self.doc.get("inputs") or {}).items()
        ]

    @rx.var
    def output_rows(self) -> list[dict[str, str]]:
        return [
            {"name": name, "value": str(value)} for name, value in (self.doc.get("outputs") or {}).items()
        ]

    @rx.var
    def output_variables(self) -> list[str]:
        return ["{{ " + name + " }}" for name in flowdoc.all_variables(self.doc, self.node_types)]

    @rx.var
    def card(self) -> dict[str, str]:
        card = self.doc.get("card") or {}
        thresholds = card.get("thresholds") or {}
        return {
            "purpose": str(card.get("purpose") or ""),
            "data_sources": "\n".join(str(item) for item in card.get("data_sources") or []),
            "risk": str(card.get("risk") or "limited"),
            "owner": str(card.get("owner") or ""),
            "thresholds": "\n".join(f"{key} = {value}" for key, value in thresholds.items()),
            "limitations": str(card.get("limitations") or ""),
        }

    # -- flow-level fields: name, description, inputs, outputs, card ------------------------------
    async def _edit(self, change: Any) -> None:
        if self.read_only:
            return
        document = dict(self.doc)
        change(document)
        await self._changed(document)

    @rx.event
    async def set_doc_field(self, name: str, value: str) -> None:
        if (self.doc.get(name) or "") != value:
            await self._edit(lambda document: document.__setitem__(name, value))

    @rx.event
    async def add_input(self) -> None:
        inputs = dict(self.doc.get("inputs") or {})
        number = 1
        while f"input_{number}" in inputs:
            number += 1
        inputs[f"input_{number}"] = {"type": "string", "required": False, "description": ""}
        await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def rename_input(self, old: str, new: str) -> None:
        new = new.strip()
        if not new or new == old:
            return
        inputs = {
            (new if name == old else name): spec for name, spec in (self.doc.get("inputs") or {}).items()
        }
        self.test_inputs = {(new if name == old else name): value for name, value in self.test_inputs.items()}
        await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def set_input_required(self, name: str, required: bool) -> None:
        inputs = {key: dict(spec) for key, spec in (self.doc.get("inputs") or {}).items()}
        if name in inputs:
            inputs[name]["required"] = bool(required)
            await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def set_input_field(self, name: str, field: str, text: str) -> None:
        """Title, description, type, choices or default of an input (`input_specs`)."""
        inputs = {key: dict(spec) for key, spec in (self.doc.get("inputs") or {}).items()}
        if name in inputs:
            edited = input_specs.edit_input_spec(inputs[name], field, text)
            if edited != inputs[name]:
                inputs[name] = edited
                await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def remove_input(self, name: str) -> None:
        inputs = {key: spec for key, spec in (self.doc.get("inputs") or {}).items() if key != name}
        await self._edit(lambda document: document.__setitem__("inputs", inputs))

    @rx.event
    async def add_output(self) -> None:
        outputs = dict(self.doc.get("outputs") or {})
        number = 1
        while f"result_{number}" in outputs:
            number += 1
        outputs[f"result_{number}"] = ""
        await self._edit(lambda document: document.__setitem__("outputs", outputs))

    @rx.event
    async def rename_output(self, old: str, new: str) -> None:
        new = new.strip()
        if new and new != old:
            outputs = {
                (new if key == old else key): value for key, value in (self.doc.get("outputs") or {}).items()
            }
            await self._edit(lambda document: document.__setitem__("outputs", outputs))

    @rx.event
    async def set_output(self, name: str, value: str) -> None:
        outputs = dict(self.doc.get("outputs") or {})
        if outputs.get(name) != value:
            outputs[name] = value
            await self._edit(lambda document: document.__setitem__("outputs", outputs))

    @rx.event
    async def remove_output(self, name: str) -> None:
        outputs = {key: value for key, value in (self.doc.get("outputs") or {}).items() if key != name}
        await self._edit(lambda document: document.__setitem__("outputs", outputs))

    @rx.event
    async def set_card_field(self, name: str, raw: str) -> Any:
        card = dict(self.doc.get("card") or {})
        if name == "data_sources":
            value: Any = [line.strip() for line in raw.splitlines() if line.strip()]
        elif name == "thresholds":
            value = {}
            for line in raw.splitlines():
                if not line.strip():
                    continue
                key, _, number = line.partition("=")
                try:
                    value[key.strip()] = float(number.strip().replace(",", "."))
                except ValueError:
                    return rx.toast.error(f"{self.tr('card_thresholds')}: {line}")
        else:
            value = raw
        if card.get(name) == value:
            return None
        card[name] = value
        await self._edit(lambda document: document.__setitem__("card", card))
        return None
