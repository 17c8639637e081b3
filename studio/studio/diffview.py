"""Values of a version diff as people read them, and the diff's smaller sections as rows.

No Reflex here (tested without a browser). Values are never shown as JSON:

    value_text       a plain value on one line: text, number, yes/no, a list joined by commas
    value_markdown   a structured value (objects, lists of objects) as a definition list or a
                     table, by the chat's renderer (`chat_view.value_markdown`)
    diff_rows        links between blocks, the agents' tools (with the runtime's side-effect
                     class), inputs, outputs, test cases and the flow's name, description
                     and audience, as flat rows for one `foreach`

The blocks and the card have views of their own (`version_diff`).

A row is a `dict[str, str]`: `key` (unique in the list), `kind` (`section`, `added`,
`removed`, `changed`), `label`, and per side `old`/`new` (one line) or
`old_md`/`new_md` (Markdown of a structured value).
"""

from __future__ import annotations

from typing import Any

from studio.chat_view import EMPTY, value_markdown
from studio.i18n import translate
from studio.testcases import describe_check, plain


def is_structured(value: Any) -> bool:
    """Objects, and lists holding objects or lists: shown as a definition list or table."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(isinstance(item, dict | list) for item in value)


def value_text(value: Any, lang: str) -> str:
    """A plain value on one line ("" for none); structured values go to `value_markdown`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return translate("yes" if value else "no", lang)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(value_text(item, lang) for item in value)
    if isinstance(value, dict):  # only reached for a caller that did not ask `is_structured`
        return "; ".join(f"{key}: {value_text(item, lang)}" for key, item in value.items())
    return str(value)


def sides(old: Any, new: Any, lang: str) -> dict[str, str]:
    """Both sides of a change as `old`/`new` (plain) or `old_md`/`new_md` (structured)."""
    shown: dict[str, str] = {}
    for side, value in (("old", old), ("new", new)):
        structured = is_structured(value)
        shown[side] = "" if structured else value_text(plain(value), lang)
        shown[f"{side}_md"] = value_markdown(plain(value)) if structured else ""
    return shown


def _row(
    key: str, kind: str, label: str, old: Any = None, new: Any = None, lang: str = "de"
) -> dict[str, str]:
    if kind == "changed" and old is None:  # nothing before: the first version, or a new field
        kind = "added"
    shown = sides(old if kind != "added" else None, new if kind != "removed" else None, lang)
    return {"key": key, "kind": kind, "label": label, **shown}


def _section(key: str, label: str) -> dict[str, str]:
    return {
        "key": f"section-{key}",
        "kind": "section",
        "label": label,
        "old": "",
        "new": "",
        "old_md": "",
        "new_md": "",
    }


def _edge_rows(edges: dict[str, Any], lang: str) -> list[dict[str, str]]:
    if not any(edges.get(key) for key in ("added", "removed", "changed")):
        return []

    def label(edge: dict[str, Any]) -> str:
        return f"{edge['from']} → {edge['to']}"

    def branch(when: Any) -> str | None:
        return f"{translate('diff_branch', lang)} {when}" if when else None

    rows = [_section("edges", translate("diff_links", lang))]
    for edge in edges.get("added") or []:
        rows.append(
            _row(f"edge+{label(edge)}", "added", label(edge), new=branch(edge.get("when")), lang=lang)
        )
    for edge in edges.get("removed") or []:
        rows.append(
            _row(f"edge-{label(edge)}", "removed", label(edge), old=branch(edge.get("when")), lang=lang)
        )
    for edge in edges.get("changed") or []:
        old, new = branch(edge.get("old_when")) or EMPTY, branch(edge.get("new_when")) or EMPTY
        rows.append(_row(f"edge~{label(edge)}", "changed", label(edge), old, new, lang))
    return rows


def diff_rows(diff: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """Links between blocks, test cases, inputs, outputs and general fields as rows."""
    rows = _edge_rows(diff.get("edges") or {}, lang)
    rows += tool_rows(diff.get("tools") or {}, lang)
    rows += _test_rows(diff.get("tests") or {}, lang)
    other: list[dict[str, str]] = []
    for section, word in (("inputs", "diff_input"), ("outputs", "diff_output")):
        named = diff.get(section) or {}
        title = translate(word, lang)
        other += [
            _row(f"{section}+{name}", "added", f"{title}: {name}", lang=lang)
            for name in named.get("added") or []
        ]
        other += [
            _row(f"{section}-{name}", "removed", f"{title}: {name}", lang=lang)
            for name in named.get("removed") or []
        ]
        other += [
            _row(
                f"{section}~{item['name']}",
                "changed",
                f"{title}: {item['name']}",
                item.get("old"),
                item.get("new"),
                lang,
            )
            for item in named.get("changed") or []
        ]
    for item in diff.get("meta") or []:
        field = str(item.get("field"))
        key = f"diff_meta_{field}"
        label = translate(key, lang) if key in _META_KEYS else field
        other.append(_row(f"meta~{field}", "changed", label, item.get("old"), item.get("new"), lang))
    if other:
        rows.append(_section("other", translate("diff_other", lang)))
        rows += other
    return rows


_META_KEYS = {"diff_meta_name", "diff_meta_description", "diff_meta_audience"}

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
    rows = [_section("tests", translate("diff_tests", lang))]
    rows += [_row(f"test+{name}", "added", str(name), lang=lang) for name in tests.get("added") or []]
    rows += [_row(f"test-{name}", "removed", str(name), lang=lang) for name in tests.get("removed") or []]
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
            rows.append(_row(f"test~{item.get('name')}~{part}", "changed", label, before, after, lang))
    return rows


def tool_said(tool: dict[str, Any], lang: str) -> str:
    """One tool as the board reads it: „ändert etwas · wartet auf Freigabe · POST crm /tasks“.
    The side-effect class and the hold are the runtime's (`GET .../diff`), never worked out here."""
    effect = str(tool.get("effect") or "unknown")
    parts = [translate(f"tool_effect_{effect}", lang)]
    held = tool.get("held")
    if held is not None:
        parts.append(translate("tool_held" if held else "tool_not_held", lang))
    if tool.get("kind") == "connection":
        parts.append(
            f"{tool.get('method') or ''} {tool.get('connection') or ''} {tool.get('path') or ''}".strip()
        )
    elif tool.get("index"):
        parts.append(translate("tool_reaches_index", lang, index=tool["index"]))
    return " · ".join(parts)


def tool_rows(tools: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """The agents' tools a version gains, loses or changes (`diff.tools`), one row each."""
    tools = plain(tools)
    if not any(tools.get(key) for key in ("added", "removed", "changed")):
        return []

    def label(tool: dict[str, Any]) -> str:
        return f"{tool.get('node')} · {tool.get('name')}"

    rows = [_section("tools", translate("diff_tools", lang))]
    for tool in tools.get("added") or []:
        rows.append(_row(f"tool+{label(tool)}", "added", label(tool), new=tool_said(tool, lang), lang=lang))
    for tool in tools.get("removed") or []:
        rows.append(_row(f"tool-{label(tool)}", "removed", label(tool), old=tool_said(tool, lang), lang=lang))
    for tool in tools.get("changed") or []:
        fields = ", ".join(str(name) for name in tool.get("fields") or [])
        old, new = tool_said(tool.get("old") or {}, lang), tool_said(tool.get("new") or {}, lang)
        rows.append(_row(f"tool~{label(tool)}", "changed", f"{label(tool)} ({fields})", old, new, lang))
    return rows
