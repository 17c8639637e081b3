"""What a person does in the studio, in steps the journeys share (Playwright, sync API)."""

from __future__ import annotations

from typing import Any

from tests.studio.conftest import ARTIFACTS, Stack


def shot(page: Any, name: str) -> None:
    page.wait_for_timeout(300)  # let toasts and transitions settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def sign_in(page: Any, stack: Stack, username: str, then: str = "") -> None:
    page.goto(f"{stack.studio_url}/login")
    page.fill("#login-username", username)
    page.fill("#login-password", stack.passwords[username])
    page.click("#login-submit")
    page.wait_for_selector("#user-menu")
    if then:
        page.goto(f"{stack.studio_url}{then}")


def node(page: Any, node_id: str) -> Any:
    return page.locator(f".react-flow__node[data-id='{node_id}']")


def centre(box: dict[str, float]) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def connect(page: Any, source: str, target: str) -> None:
    """Drag from the source node's right handle to the target node's left handle."""
    start = centre(node(page, source).locator(".react-flow__handle.source").bounding_box())
    end = centre(node(page, target).locator(".react-flow__handle.target").bounding_box())
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()
    page.wait_for_selector(f".react-flow__edge[data-id='{source}->{target}']")


def drop_from_palette(page: Any, node_type: str, x: int, y: int) -> None:
    page.drag_and_drop(f"#palette-{node_type}", "[data-testid=flow-canvas]", target_position={"x": x, "y": y})


def problems(page: Any) -> int:
    return int(page.get_attribute("#validity", "data-problems") or "0")


def wait_problems(page: Any, expected: int) -> None:
    page.wait_for_function(
        f"document.querySelector('#validity')?.getAttribute('data-problems') === '{expected}'"
    )


def blur_fill(page: Any, selector: str, text: str) -> None:
    """Type into a field and leave it: forms send their value when they lose focus."""
    page.fill(selector, text)
    page.locator(selector).blur()


def choose(page: Any, trigger: str, option: str) -> None:
    """Pick `option` (its visible text) from the Radix select opened by `trigger`."""
    page.click(trigger)
    page.get_by_role("option", name=option, exact=True).click()


def add_case(page: Any, name: str, inputs: dict[str, str], fixed: dict[str, str], contains: str) -> None:
    """Fill the form of a new test case: inputs, fixed outputs, one `contains` check on the first output."""
    page.click("#add-case")
    page.wait_for_selector("#case-dialog")
    page.fill("#case-name", name)
    for input_name, value in inputs.items():
        page.fill(f"#case-input-{input_name}", value)
    for node_id, value in fixed.items():
        page.fill(f"#case-fixed-{node_id}", value)
    page.fill("#check-value-c0", contains)
    page.click("#case-save")
    page.wait_for_selector("#case-dialog", state="detached")


def run_cases(page: Any) -> bool:
    """Run the version's test cases in the editor and wait for the new report; did all pass?"""
    page.click("#tab-cases")
    summary = page.locator("#report-summary")
    before = summary.get_attribute("data-report") if summary.count() else ""
    page.click("#run-cases")
    page.wait_for_function(
        "(before) => { const el = document.querySelector('#report-summary');"
        " return el && el.getAttribute('data-report') && el.getAttribute('data-report') !== before; }",
        arg=before or "",
        timeout=60_000,
    )
    return summary.get_attribute("data-passed") == "true"
