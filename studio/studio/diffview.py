"""The runtime's version diff (`GET .../diff`) as rows to display, and the renderer.

Rows are flat `dict[str, str]` so Reflex can render them with one `foreach`:
`kind` is `section` (a heading), `added`, `removed`, `changed` or `text` (a unified
diff of a prompt or template, in `text`).
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from studio.i18n import translate
from studio.testcases import describe_check, plain


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _row(kind: str, label: str, old: Any = None, new: Any = None, text: str = "") -> dict[str, str]:
    if kind == "changed" and old is None:  # nothing before: the first version, or a new field
        kind = "added"
    return {
        "kind": kind,
        "label": label,
        "old": _show(old) if kind in ("changed", "removed") else "",
        "new": _show(new) if kind in ("changed", "added") else "",
        "text": text,
    }


def diff_rows(diff: dict[str, Any], lang: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    nodes = diff.get("nodes") or {}
    if nodes.get("added"):
        rows.append(_row("section", translate("diff_nodes_added", lang)))
        rows += [
            _row("added", f"{node['id']} ({node.get('type')})", new=node.get("config") or {})
            for node in nodes["added"]
        ]
    if nodes.get("removed"):
        rows.append(_row("section", translate("diff_nodes_removed", lang)))
        rows += [
            _row("removed", f"{node['id']} ({node.get('type')})", old=node.get("config") or {})
            for node in nodes["removed"]
        ]
    if nodes.get("changed"):
        rows.append(_row("section", translate("diff_nodes_changed", lang)))
        for node in nodes["changed"]:
            for field in node.get("fields") or []:
                label = f"{node['id']} · {field.get('field')}"
                if field.get("text_diff"):
                    rows.append(_row("text", label, text="\n".join(field["text_diff"])))
                else:
                    rows.append(_row("changed", label, field.get("old"), field.get("new")))
    edges = diff.get("edges") or {}
    if any(edges.get(key) for key in ("added", "removed", "changed")):
        rows.append(_row("section", translate("diff_edges", lang)))
        for edge in edges.get("added") or []:
            rows.append(_row("added", f"{edge['from']} → {edge['to']}", new=edge.get("when") or ""))
        for edge in edges.get("removed") or []:
            rows.append(_row("removed", f"{edge['from']} → {edge['to']}", old=edge.get("when") or ""))
        for edge in edges.get("changed") or []:
            rows.append(
                _row("changed", f"{edge['from']} → {edge['to']}", edge.get("old_when"), edge.get("new_when"))
            )
    if diff.get("card"):
        rows.append(_row("section", translate("diff_card", lang)))
        rows += [
            _row("changed", str(item.get("field")), item.get("old"), item.get("new")) for item in diff["card"]
        ]
    rows += _test_rows(diff.get("tests") or {}, lang)
    other: list[dict[str, str]] = []
    for section in ("inputs", "outputs"):
        named = diff.get(section) or {}
        other += [_row("added", f"{section}.{name}", new="") for name in named.get("added") or []]
        other += [_row("removed", f"{section}.{name}", old="") for name in named.get("removed") or []]
        other += [
            _row("changed", f"{section}.{item['name']}", item.get("old"), item.get("new"))
            for item in named.get("changed") or []
        ]
    other += [
        _row("changed", str(item.get("field")), item.get("old"), item.get("new"))
        for item in diff.get("meta") or []
    ]
    if other:
        rows.append(_row("section", translate("diff_other", lang)))
        rows += other
    return rows


CASE_PARTS = {
    "description": "case_description",
    "inputs": "case_inputs",
    "fixed": "case_fixed",
    "decisions": "case_decisions",
    "expect": "case_expect",
}


def _test_rows(tests: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """Test cases by name; a changed case part by part, its checks in words."""
    if not any(tests.get(key) for key in ("added", "removed", "changed")):
        return []
    rows = [_row("section", translate("diff_tests", lang))]
    rows += [_row("added", str(name), new="") for name in tests.get("added") or []]
    rows += [_row("removed", str(name), old="") for name in tests.get("removed") or []]
    for item in tests.get("changed") or []:
        old, new = plain(item.get("old") or {}), plain(item.get("new") or {})
        for part, key in CASE_PARTS.items():
            if old.get(part) == new.get(part):
                continue
            before, after = old.get(part), new.get(part)
            if part == "expect":
                before = "; ".join(describe_check(check, lang) for check in before or [])
                after = "; ".join(describe_check(check, lang) for check in after or [])
            label = f"{item.get('name')} · {translate(key, lang)}"
            rows.append(_row("changed", label, before, after))
    return rows


def _diff_row(row: rx.Var) -> rx.Component:
    mono = "ui-monospace, SFMono-Regular, Menlo, monospace"
    return rx.match(
        row["kind"],
        ("section", rx.text(row["label"], size="2", weight="bold", margin_top="8px")),
        (
            "added",
            rx.hstack(
                rx.badge("+", color_scheme="green"),
                rx.text(row["label"], size="2", weight="medium"),
                rx.text(
                    row["new"],
                    size="1",
                    color=rx.color("green", 11),
                    font_family=mono,
                    white_space="pre-wrap",
                    word_break="break-word",
                ),
                align="start",
                width="100%",
                class_name="diff-added",
            ),
        ),
        (
            "removed",
            rx.hstack(
                rx.badge("-", color_scheme="red"),
                rx.text(row["label"], size="2", weight="medium"),
                rx.text(
                    row["old"],
                    size="1",
                    color=rx.color("red", 11),
                    font_family=mono,
                    white_space="pre-wrap",
                    word_break="break-word",
                    text_decoration="line-through",
                ),
                align="start",
                width="100%",
                class_name="diff-removed",
            ),
        ),
        (
            "changed",
            rx.hstack(
                rx.badge("~", color_scheme="amber"),
                rx.text(row["label"], size="2", weight="medium"),
                rx.text(
                    row["old"],
                    size="1",
                    color=rx.color("red", 11),
                    font_family=mono,
                    text_decoration="line-through",
                    word_break="break-word",
                ),
                rx.icon("arrow-right", size=12),
                rx.text(
                    row["new"],
                    size="1",
                    color=rx.color("green", 11),
                    font_family=mono,
                    word_break="break-word",
                ),
                align="start",
                width="100%",
                class_name="diff-changed",
            ),
        ),
        rx.vstack(
            rx.hstack(rx.badge("~", color_scheme="amber"), rx.text(row["label"], size="2", weight="medium")),
            rx.code_block(
                row["text"], language="diff", width="100%", font_size="12px", custom_style={"margin": "0"}
            ),
            width="100%",
            spacing="1",
            class_name="diff-text",
        ),
    )


def diff_view(rows: rx.Var, empty: rx.Component) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.vstack(rx.foreach(rows, _diff_row), spacing="2", width="100%", id="diff-view"),
        empty,
    )
