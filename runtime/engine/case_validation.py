"""Test cases checked against their flow: known nodes, declared outputs, approval nodes, inputs.

Called by `runtime.engine.validation` once the document parsed; errors go into the same
report as every other flow error, with the case's path as the field and no node
(`{"node": None, "field": "tests[2].fixed.answer.txt", "code": ..., "params": ..., "message": ...}`).
A node that has an error of its own (unknown type, bad config) is not checked again here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nodes.base import Node
from runtime.engine.cases import (
    AGENT_CHECKS,
    VALUE_CHECKS,
    ApprovalRaisedCheck,
    BranchCheck,
    NoConnectorCallCheck,
    StepsAtMostCheck,
    TestCase,
)
from runtime.engine.document import FlowDocument
from runtime.engine.inputs import prepare_inputs
from runtime.errors import BadRequest

if TYPE_CHECKING:
    from runtime.engine.validation import Validation

# Types a case may not fix: the problem that says what to do instead.
NOT_FIXABLE = {"input": "input_not_fixable", "approval": "approval_not_fixable"}


class _CaseChecker:
    def __init__(self, document: FlowDocument, instances: Mapping[str, Node], report: Validation) -> None:
        self.document = document
        self.instances = instances
        self.report = report
        self.node_ids = [spec.id for spec in document.nodes]

    def error(self, field: str, code: str, /, **params: Any) -> None:
        self.report.add(None, field, code, **params)

    def node(self, field: str, node_id: str) -> Node | None:
        """The node's instance; None (after an error if it does not exist) when it cannot be checked."""
        if node_id in self.instances:
            return self.instances[node_id]
        if node_id not in self.node_ids:
            self.error(field, "case_unknown_node", node=node_id, nodes=", ".join(self.node_ids))
        return None  # a node with an error of its own: reported there

    def outputs_of(self, node: Node) -> tuple[str, ...]:
        return node.declared_outputs(self.document.inputs)

    def check(self, index: int, case: TestCase) -> None:
        path = f"tests[{index}]"
        self.check_inputs(path, case)
        self.check_fixed(path, case)
        self.check_decisions(path, case)
        self.check_agents(path, case)
        for number, assertion in enumerate(case.expect):
            self.check_assertion(f"{path}.expect[{number}]", assertion)

    def check_inputs(self, path: str, case: TestCase) -> None:
        try:
            prepare_inputs(self.document, case.inputs)
        except BadRequest as exc:
            for problem in exc.extra.get("errors", []):
                self.report.add_coded(None, f"{path}.{problem['field']}", problem)

    def check_fixed(self, path: str, case: TestCase) -> None:
        for node_id, outputs in case.fixed.items():
            where = f"{path}.fixed.{node_id}"
            node = self.node(where, node_id)
            if node is None:
                continue
            if node.type in NOT_FIXABLE:
                self.error(where, NOT_FIXABLE[node.type])
                continue
            declared = self.outputs_of(node)
            for name, value in outputs.items():
                if name not in declared:
                    self.error(
                        f"{where}.{name}",
                        "case_unknown_node_output",
                        node=node_id,
                        type=node.type,
                        output=name,
                        outputs=", ".join(declared) or "none",
                    )
                elif name == "branch" and (branches := node.branches()) and value not in branches:
                    self.error(
                        f"{where}.branch",
                        "unknown_branch",
                        branch=value,
                        node=node_id,
                        branches=", ".join(branches),
                    )

    def check_decisions(self, path: str, case: TestCase) -> None:
        for node_id, decision in case.decisions.items():
            where = f"{path}.decisions.{node_id}"
            node = self.node(where, node_id)
            if node is None:
                continue
            if node.type not in ("approval", "agent"):
                self.error(where, "decision_not_for_approval", node=node_id, type=node.type)
            elif decision.payload is not None and not getattr(node.config, "editable", False):
                # An agent's held calls are never editable: an approved call is made as shown.
                self.error(f"{where}.payload", "decision_not_editable", node=node_id)

    def tools_of(self, node: Node) -> list[str]:
        return [tool.name for tool in getattr(node.config, "tools", [])]

    def known_tool(self, where: str, node: Node, tool: str) -> None:
        if tool not in (tools := self.tools_of(node)):
            self.error(where, "case_unknown_tool", node=node.id, tool=tool, tools=", ".join(tools) or "none")

    def check_agents(self, path: str, case: TestCase) -> None:
        for node_id, script in case.agents.items():
            where = f"{path}.agents.{node_id}"
            node = self.node(where, node_id)
            if node is None:
                continue
            if node.type != "agent":
                self.error(where, "not_an_agent_node", node=node_id, type=node.type)
                continue
            if node_id in case.fixed:
                self.error(where, "agent_fixed_and_scripted", node=node_id)
            for number, turn in enumerate(script.turns):
                for call_number, call in enumerate(turn.tool_calls):
                    field = f"{where}.turns[{number}].tool_calls[{call_number}].tool"
                    self.known_tool(field, node, call.tool)
            for tool in script.tools:
                self.known_tool(f"{where}.tools.{tool}", node, tool)

    def check_assertion(self, where: str, assertion: object) -> None:
        if isinstance(assertion, VALUE_CHECKS):
            if assertion.output is not None:
                if assertion.output not in self.document.outputs:
                    outputs = ", ".join(self.document.outputs) or "none"
                    self.error(
                        f"{where}.output",
                        "case_unknown_flow_output",
                        output=assertion.output,
                        outputs=outputs,
                    )
                return
            assert assertion.node is not None and assertion.field is not None
            node = self.node(f"{where}.node", assertion.node)
            if node is not None and assertion.field not in (declared := self.outputs_of(node)):
                self.error(
                    f"{where}.field",
                    "case_unknown_node_output",
                    node=assertion.node,
                    type=node.type,
                    output=assertion.field,
                    outputs=", ".join(declared) or "none",
                )
        elif isinstance(assertion, BranchCheck):
            node = self.node(f"{where}.node", assertion.node)
            if node is None:
                return
            branches = node.branches()
            if branches is None:
                self.error(f"{where}.node", "node_does_not_branch", node=assertion.node, type=node.type)
            elif assertion.value not in branches:
                self.error(
                    f"{where}.value",
                    "unknown_branch",
                    branch=assertion.value,
                    node=assertion.node,
                    branches=", ".join(branches),
                )
        elif isinstance(assertion, ApprovalRaisedCheck):
            node = self.node(f"{where}.node", assertion.node)
            # An agent raises approvals too: for the calls it holds for a person.
            if node is not None and node.type not in ("approval", "agent"):
                self.error(f"{where}.node", "not_an_approval_node", node=assertion.node, type=node.type)
        elif isinstance(assertion, AGENT_CHECKS):
            node = self.node(f"{where}.node", assertion.node)
            if node is not None and node.type != "agent":
                self.error(f"{where}.node", "not_an_agent_node", node=assertion.node, type=node.type)
            elif node is not None and not isinstance(assertion, StepsAtMostCheck):
                self.known_tool(f"{where}.value", node, str(assertion.value))
        elif isinstance(assertion, NoConnectorCallCheck) and assertion.node is not None:
            node = self.node(f"{where}.node", assertion.node)
            if node is not None and node.type != "connector":
                self.error(f"{where}.node", "not_a_connector_node", node=assertion.node, type=node.type)


def check_cases(document: FlowDocument, instances: Mapping[str, Node], report: Validation) -> None:
    """Add an error to `report` for every problem of the document's test cases."""
    checker = _CaseChecker(document, instances, report)
    seen: set[str] = set()
    for index, case in enumerate(document.tests):
        if case.name in seen:
            checker.error(f"tests[{index}].name", "duplicate_case_name", name=case.name)
        seen.add(case.name)
        checker.check(index, case)
