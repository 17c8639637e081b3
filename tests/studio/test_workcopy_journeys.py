"""The editor's working copy in Chromium: autosave and reload, two tabs in conflict, undo and
redo, copy and paste, the palette search, the question before leaving with unsaved changes,
and a canvas whose text, edge labels and map can be read.

Each journey works on flows of its own (created over the API), so it depends on no other.
"""

from __future__ import annotations

import copy
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.studio.conftest import Stack
from tests.studio.steps import blur_fill, drop_from_palette, node, shot, sign_in, wait_problems

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GREETING = {
    "schema": "dirigent.flow/v1",
    "name": "Begrüßung",
    "inputs": {"name": {"type": "string", "required": True}},
    "nodes": [
        {"id": "start", "type": "input"},
        {"id": "greet", "type": "template", "config": {"template": "Guten Tag, {{ inputs.name }}!"}},
        {"id": "end", "type": "output"},
    ],
    "edges": [{"from": "start", "to": "greet"}, {"from": "greet", "to": "end"}],
    "outputs": {"text": "{{ greet.text }}"},
    "card": {"purpose": "Begrüßt Besucher", "risk": "minimal", "owner": "Empfang"},
    "layout": {"start": {"x": 40, "y": 160}, "greet": {"x": 340, "y": 160}, "end": {"x": 640, "y": 160}},
}


def _create(stack: Stack, document: dict[str, Any], prefix: str) -> str:
    slug = f"{prefix}-{uuid.uuid4().hex[:6]}"
    created = stack.api(
        "champion",
        "POST",
        "/api/workspaces/demo/flows",
        json={"name": document["name"], "slug": slug, "document": document},
    )
    return str(created["id"])


def _draft(stack: Stack, flow_id: str) -> dict[str, Any]:
    return stack.api("champion", "GET", f"/api/flows/{flow_id}/draft")  # type: ignore[no-any-return]


def _wait_saved(page: Any) -> None:
    page.wait_for_selector("#autosave-state[data-state='saved']", timeout=15_000)


def _wait_autosaved(page: Any) -> None:
    """After an edit: it waits to be saved (two seconds), then it is."""
    page.wait_for_selector("#autosave-state[data-state='pending']")
    _wait_saved(page)


def _open(page: Any, stack: Stack, flow_id: str) -> None:
    sign_in(page, stack, "champion", f"/flows/{flow_id}")
    page.wait_for_selector("[data-testid=flow-canvas]")
    node(page, "start").wait_for()


def _node_ids(page: Any) -> set[str]:
    return set(page.eval_on_selector_all(".react-flow__node", "els => els.map(e => e.dataset.id)"))


def test_an_edit_is_autosaved_kept_while_invalid_and_back_after_a_reload(stack: Stack, new_page: Any) -> None:
    flow_id = _create(stack, GREETING, "wc-autosave")
    page = new_page()
    _open(page, stack, flow_id)
    _wait_saved(page)
    assert page.get_attribute("#cut-version", "data-reason")  # the working copy equals version 1

    # Half-finished work: an LLM node without prompt and without edges makes the flow invalid.
    drop_from_palette(page, "llm", 420, 360)
    node(page, "llm_1").wait_for()
    page.wait_for_selector("#autosave-state[data-state='pending']:has-text('Änderungen werden gespeichert')")
    _wait_saved(page)
    page.wait_for_selector("#autosave-state:has-text('Gespeichert')")
    stored = _draft(stack, flow_id)
    assert "llm_1" in [item["id"] for item in stored["document"]["nodes"]]
    assert stored["validation"]["valid"] is False and stored["revision"] == 2
    assert [v["number"] for v in stack.api("champion", "GET", f"/api/flows/{flow_id}/versions")] == [1]
    # A version cannot be cut from it; the button says why.
    assert page.locator("#cut-version").is_disabled()
    assert "Probleme behoben" in page.get_attribute("#cut-version", "data-reason")

    page.reload()
    node(page, "llm_1").wait_for()
    problems = int(page.get_attribute("#validity", "data-problems") or "0")
    assert problems >= 1
    assert "llm_1" in page.locator(".dg-invalid").first.get_attribute("data-node-id")
    page.click("#validity")
    page.wait_for_selector("text=config.prompt")
    page.keyboard.press("Escape")
    shot(page, "30-editor-working-copy-invalid")

    # Made valid again, a version is cut from the working copy on request.
    page.locator(".react-flow__node[data-id='llm_1']").click()
    page.click("#delete-node")
    node(page, "llm_1").wait_for(state="detached")
    page.locator(".react-flow__node[data-id='greet']").click()
    blur_fill(page, "#field-template", "Hallo {{ inputs.name }}!")
    wait_problems(page, 0)
    page.click("#cut-version")
    page.wait_for_selector("#editor-version:has-text('Version 2')")
    page.wait_for_selector("text=Version 2 erstellt")
    version = stack.api("champion", "GET", f"/api/flows/{flow_id}/versions/2")
    assert version["document"]["nodes"][1]["config"]["template"] == "Hallo {{ inputs.name }}!"


def test_two_tabs_on_one_flow_the_later_save_reports_the_conflict(stack: Stack, new_page: Any) -> None:
    flow_id = _create(stack, GREETING, "wc-tabs")
    first, second = new_page(), new_page()
    _open(first, stack, flow_id)
    _open(second, stack, flow_id)

    first.locator(".react-flow__node[data-id='greet']").click()
    blur_fill(first, "#node-title", "Gruß aus Tab 1")
    _wait_autosaved(first)
    assert _draft(stack, flow_id)["document"]["nodes"][1]["title"] == "Gruß aus Tab 1"

    second.locator(".react-flow__node[data-id='greet']").click()
    blur_fill(second, "#node-title", "Gruß aus Tab 2")
    second.wait_for_selector("#autosave-state[data-state='conflict']", timeout=15_000)
    assert "Konflikt: in einem anderen Tab geändert" in second.inner_text("#conflict-banner")
    shot(second, "31-editor-conflict")
    # Nothing was overwritten.
    assert _draft(stack, flow_id)["document"]["nodes"][1]["title"] == "Gruß aus Tab 1"

    # Reloading takes the other tab's version; undo brings this tab's back, and it saves.
    second.click("#take-theirs")
    second.wait_for_selector(".react-flow__node[data-id='greet'] >> text=Gruß aus Tab 1")
    second.keyboard.press("Control+z")
    second.wait_for_selector(".react-flow__node[data-id='greet'] >> text=Gruß aus Tab 2")
    _wait_autosaved(second)
    assert _draft(stack, flow_id)["document"]["nodes"][1]["title"] == "Gruß aus Tab 2"


def test_undo_and_redo_a_deletion_and_the_selection_follows(stack: Stack, new_page: Any) -> None:
    flow_id = _create(stack, GREETING, "wc-undo")
    page = new_page()
    _open(page, stack, flow_id)
    node(page, "greet").click()
    page.wait_for_selector("#node-title")
    page.keyboard.press("Delete")
    node(page, "greet").wait_for(state="detached")
    # The deleted node's form is gone from the side panel.
    page.wait_for_selector("#node-title", state="detached")
    assert page.locator("#delete-node").count() == 0

    page.keyboard.press("Control+z")
    node(page, "greet").wait_for()
    # (attached: a straight horizontal edge has no height, which Playwright calls hidden)
    page.wait_for_selector(".react-flow__edge[data-id='start->greet']", state="attached")
    page.keyboard.press("Control+Shift+z")
    node(page, "greet").wait_for(state="detached")
    page.click("#undo")
    node(page, "greet").wait_for()
    page.click("#redo")
    node(page, "greet").wait_for(state="detached")
    page.keyboard.press("Control+z")
    node(page, "greet").wait_for()
    page.keyboard.press("Control+y")
    node(page, "greet").wait_for(state="detached")
    page.keyboard.press("Control+z")
    node(page, "greet").wait_for()
    _wait_autosaved(page)
    assert [item["id"] for item in _draft(stack, flow_id)["document"]["nodes"]] == ["start", "greet", "end"]


def test_a_node_deleted_elsewhere_does_not_stay_selected_after_a_reload(stack: Stack, new_page: Any) -> None:
    flow_id = _create(stack, GREETING, "wc-stale")
    page = new_page()
    _open(page, stack, flow_id)
    node(page, "greet").click()
    page.wait_for_selector("#node-title")
    # Another tab removes the node (and its edges) from the working copy.
    without = copy.deepcopy(GREETING)
    without["nodes"] = [item for item in without["nodes"] if item["id"] != "greet"]
    without["edges"] = [{"from": "start", "to": "end"}]
    answer = httpx.put(
        f"{stack.runtime_url}/api/flows/{flow_id}/draft",
        json={"document": without},
        headers={"authorization": f"Bearer {stack.token('champion')}", "If-Match": "*"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    page.reload()
    # (the page first shows what the tab had, until loading the working copy is done)
    node(page, "greet").wait_for(state="detached")
    node(page, "end").wait_for()
    page.wait_for_selector("text=Wählen Sie einen Baustein auf der Fläche aus")
    assert page.locator("#node-title").count() == 0 and page.locator("#delete-node").count() == 0


def test_copy_and_paste_nodes_with_the_edge_between_them(stack: Stack, new_page: Any) -> None:
    flow_id = _create(stack, GREETING, "wc-paste")
    page = new_page()
    _open(page, stack, flow_id)
    node(page, "greet").click()
    node(page, "end").click(modifiers=["Control"])
    page.keyboard.press("Control+c")
    page.wait_for_selector("text=2 Baustein(e) kopiert")
    page.keyboard.press("Control+v")
    node(page, "template_1").wait_for()
    node(page, "output_1").wait_for()
    page.wait_for_selector(".react-flow__edge[data-id='template_1->output_1']", state="attached")
    first = node(page, "greet").bounding_box()
    pasted = node(page, "template_1").bounding_box()
    assert pasted["x"] > first["x"] and pasted["y"] > first["y"]  # offset, not on top
    page.click("#canvas-paste")  # the button does the same, a step further
    node(page, "template_2").wait_for()
    _wait_autosaved(page)
    stored = _draft(stack, flow_id)["document"]
    ids = [item["id"] for item in stored["nodes"]]
    assert ids == ["start", "greet", "end", "template_1", "output_1", "template_2", "output_2"]
    assert {"from": "template_1", "to": "output_1"} in [
        {"from": e["from"], "to": e["to"]} for e in stored["edges"]
    ]
    shot(page, "32-editor-pasted")


def test_the_palette_search_filters_by_german_and_english_names(stack: Stack, new_page: Any) -> None:
    flow_id = _create(stack, GREETING, "wc-palette")
    page = new_page()
    _open(page, stack, flow_id)
    every = page.locator(".palette-item").count()
    assert every >= 6
    page.fill("#palette-search", "Freigabe")
    page.wait_for_function(f"document.querySelectorAll('.palette-item').length < {every}")
    assert page.locator("#palette-approval").count() == 1
    assert page.locator("#palette-llm").count() == 0
    page.fill("#palette-search", "approval")
    page.wait_for_selector("#palette-approval")
    page.fill("#palette-search", "gibt es nicht")
    page.wait_for_selector("#palette-nothing")
    assert page.locator(".palette-item").count() == 0
    page.fill("#palette-search", "")
    page.wait_for_function(f"document.querySelectorAll('.palette-item').length === {every}")


def test_leaving_with_unsaved_changes_asks_first(stack: Stack, new_page: Any) -> None:
    flow_id = _create(stack, GREETING, "wc-leave")
    page = new_page()
    _open(page, stack, flow_id)
    # Someone else saves the working copy, so this tab's next save cannot go through.
    answer_ = httpx.put(
        f"{stack.runtime_url}/api/flows/{flow_id}/draft",
        json={"document": GREETING},
        headers={"authorization": f"Bearer {stack.token('champion')}", "If-Match": "*"},
        timeout=30,
    )
    assert answer_.status_code == 200, answer_.text
    node(page, "greet").click()
    blur_fill(page, "#node-title", "Nicht gespeichert")
    page.wait_for_selector("#autosave-state[data-state='conflict']", timeout=15_000)

    asked: list[tuple[str, str]] = []

    def answer(dialog: Any, accept: bool) -> None:
        asked.append((dialog.type, dialog.message))
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.locator("a[href='/flows']").first.click()
    page.wait_for_timeout(800)
    assert asked and asked[0][0] == "confirm" and "nicht gespeichert" in asked[0][1]
    assert re.search(rf"/flows/{flow_id}/?$", page.url)  # stayed
    node(page, "greet").wait_for()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.evaluate("history.back()")  # Back asks too
    page.wait_for_timeout(800)
    assert len(asked) == 2 and re.search(rf"/flows/{flow_id}/?$", page.url)

    # Closing (or reloading) the tab: the browser's own question (beforeunload).
    page.once("dialog", lambda dialog: answer(dialog, False))
    page.close(run_before_unload=True)
    page.wait_for_timeout(800)
    assert len(asked) == 3 and asked[2][0] == "beforeunload" and not page.is_closed()

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.locator("a[href='/flows']").first.click()
    page.wait_for_url(re.compile(r"/flows/?$"))
    assert len(asked) == 4

    # Back in the editor: what is stored shows; undo brings the unsaved title back, and it saves.
    page.goto(f"{stack.studio_url}/flows/{flow_id}")
    page.wait_for_selector("#autosave-state[data-state='saved']")
    page.wait_for_selector(".react-flow__node[data-id='greet'] >> text=greet")
    page.keyboard.press("Control+z")
    page.wait_for_selector(".react-flow__node[data-id='greet'] >> text=Nicht gespeichert")
    _wait_autosaved(page)
    assert _draft(stack, flow_id)["document"]["nodes"][1]["title"] == "Nicht gespeichert"


def _zoom(page: Any) -> float:
    transform = page.eval_on_selector(".react-flow__viewport", "el => getComputedStyle(el).transform")
    return float(transform.split("(")[1].split(",")[0])


def test_the_canvas_is_readable_labels_whole_and_the_map_out_of_the_way(stack: Stack, new_page: Any) -> None:
    templates = stack.api("champion", "GET", "/api/starters")
    template = next(item for item in templates if item["slug"] == "hr-onboarding")
    document = copy.deepcopy(template["document"])
    flow_id = _create(stack, document, "wc-canvas")
    page = new_page()
    _open(page, stack, flow_id)
    page.wait_for_timeout(600)  # the fit after loading

    zoom = _zoom(page)
    assert zoom >= 1.0
    sizes = page.eval_on_selector_all(
        ".react-flow__node .dg-node *",
        "els => els.filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))"
        ".map(e => parseFloat(getComputedStyle(e).fontSize))",
    )
    assert sizes and min(sizes) * zoom >= 12, (min(sizes), zoom)

    branches = sorted({edge["when"] for edge in document["edges"] if edge.get("when")})
    labels = page.eval_on_selector_all(
        ".dg-edge-label",
        "els => els.map(e => ({text: e.textContent, whole: e.scrollWidth <= e.clientWidth + 1,"
        " size: parseFloat(getComputedStyle(e).fontSize)}))",
    )
    assert sorted({label["text"] for label in labels}) == branches
    assert all(label["whole"] and label["size"] * zoom >= 12 for label in labels), labels
    # Labels are drawn above the nodes, never hidden under one.
    layers = page.evaluate(
        "() => [getComputedStyle(document.querySelector('.react-flow__edgelabel-renderer')).zIndex,"
        " Math.max(...[...document.querySelectorAll('.react-flow__node')]"
        ".map(n => +getComputedStyle(n).zIndex || 0))]"
    )
    assert int(layers[0]) > int(layers[1])

    # The overview map covers nothing until asked for, and goes again.
    assert page.locator(".react-flow__minimap").count() == 0
    page.click("#minimap-toggle")
    page.wait_for_selector(".react-flow__minimap")
    page.click("#minimap-toggle")
    page.wait_for_selector(".react-flow__minimap", state="detached")

    # Arranged automatically: every edge points right, no two nodes overlap; undoable.
    page.click("#auto-layout")
    _wait_autosaved(page)
    layout = _draft(stack, flow_id)["document"]["layout"]
    for edge in document["edges"]:
        assert layout[edge["from"]]["x"] < layout[edge["to"]]["x"], edge
    page.wait_for_timeout(400)
    boxes = [node(page, item["id"]).bounding_box() for item in document["nodes"]]
    for index, one in enumerate(boxes):
        for other in boxes[index + 1 :]:
            apart = (
                one["x"] + one["width"] <= other["x"]
                or other["x"] + other["width"] <= one["x"]
                or one["y"] + one["height"] <= other["y"]
                or other["y"] + other["height"] <= one["y"]
            )
            assert apart, (one, other)
    shot(page, "33-editor")
