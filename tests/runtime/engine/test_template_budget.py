"""The engine renders every template of a flow — node configs, router conditions, the
flow's outputs — through its `Templates` (the runtime's `templates` service), and test
cases through the same one; a budget refusal is a step error with a stable code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from nodes.rendering.workers import ProcessLimits, Templates
from runtime.engine.compiled import compile_flow
from runtime.engine.executor import Engine
from runtime.testing.runner import run_cases
from tests.support.flows import chain, edge, flow, node, template


@pytest.fixture
async def templates() -> AsyncIterator[Templates]:
    rendering = Templates(process=ProcessLimits(workers=1))
    yield rendering
    await rendering.close()


def routed_document() -> dict[str, Any]:
    """start → route (condition) → loud | quiet → end; the output needs Jinja too."""
    return flow(
        [
            node(
                "route",
                "router",
                condition="'loud' if inputs.name | length > 2 else 'quiet'",
                branches=["loud", "quiet"],
            ),
            template("loud", "{{ inputs.name | upper }}!"),
            template("quiet", "{{ inputs.name }}"),
            node("end", "output"),
        ],
        [
            edge("start", "route"),
            edge("route", "loud", "loud"),
            edge("route", "quiet", "quiet"),
            edge("loud", "end"),
            edge("quiet", "end"),
        ],
        outputs={
            "text": "{{ loud.text or quiet.text }}",
            "branch": "{{ route.branch }}",
            "shout": "{{ loud.text | lower }}",
        },
        tests=[
            {
                "name": "shouts",
                "inputs": {"name": "Ada"},
                "expect": [{"check": "equals", "output": "text", "value": "ADA!"}],
            }
        ],
    )


async def test_conditions_templates_and_outputs_are_rendered_by_the_engines_templates(
    templates: Templates,
) -> None:
    outcome = await Engine({"templates": templates}).execute(
        compile_flow(routed_document()), "r1", {"name": "Ada"}
    )
    assert outcome.status == "succeeded", outcome.error
    assert outcome.outputs == {"text": "ADA!", "branch": "loud", "shout": "ada!"}
    assert templates.worker_pids()  # the router, the `loud` template and the outputs went there


async def test_test_cases_render_through_the_runtimes_templates(templates: Templates) -> None:
    suite = await run_cases(compile_flow(routed_document()), {"templates": templates})
    assert suite.passed, [case.failures for case in suite.cases]
    assert templates.worker_pids()


async def test_a_step_over_its_budget_fails_with_the_code_the_limit_and_its_value(
    templates: Templates,
) -> None:
    document = flow(
        [template("evil", "{{ lipsum(999999) | length }}"), node("end", "output")],
        chain("start", "evil", "end"),
        outputs={"text": "{{ evil.text }}"},
    )
    outcome = await Engine({"templates": templates}).execute(compile_flow(document), "r2", {"name": "x"})
    assert outcome.status == "failed"
    error = outcome.error
    assert error is not None
    assert error["node"] == "evil" and error["kind"] == "TemplateBudgetExceeded"
    assert error["code"] == "template_budget_exceeded"
    assert error["limit"] == "lipsum_words" and error["limit_value"] == 10_000
    assert "lipsum() would make more than 10000 words" in error["message"]
    assert outcome.steps["evil"].error == error


async def test_flow_outputs_over_their_budget_fail_the_run_with_the_code(templates: Templates) -> None:
    document = flow(
        [template("say", "{{ inputs.name }}"), node("end", "output")],
        chain("start", "say", "end"),
        outputs={"text": "{% for i in range(10 ** 6) %}{% endfor %}"},
    )
    outcome = await Engine({"templates": templates}).execute(compile_flow(document), "r3", {"name": "x"})
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error["kind"] == "OutputError" and outcome.error["code"] == "template_budget_exceeded"
    assert outcome.error["limit"] == "range_items"
    assert outcome.error["message"].startswith(
        "the flow's outputs could not be rendered: the template exceeds"
    )
