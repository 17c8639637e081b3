"""`GET /api/monitoring` as the monitoring page shows it: chart points, summary tiles and
one table row per assistant and per role (pure functions, no Reflex).

A scope is `all`, `flow:<flow id>` or `role:<role>`; the charts and tiles show one scope.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from studio.i18n import translate

DEFAULT_DAYS = 30
KNOWN_ROLES = ("champion", "user", "board", "admin", "system", "external", "member")


def default_range(today: date, days: int = DEFAULT_DAYS) -> tuple[str, str]:
    return (today - timedelta(days=days - 1)).isoformat(), today.isoformat()


def number(value: float | int | None, lang: str, digits: int = 0) -> str:
    if value is None:
        return "\u2013"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",") if lang != "en" else text


def percent(ratio: float | None, lang: str) -> str:
    return "\u2013" if ratio is None else f"{number(ratio * 100, lang)} %"


def duration_ms(value: float | None, lang: str) -> str:
    if value is None:
        return "\u2013"
    if value < 1000:
        return f"{number(value, lang)} ms"
    return f"{number(value / 1000, lang, 1)} s"


def duration_s(value: float | None, lang: str) -> str:
    if value is None:
        return "\u2013"
    if value < 90:
        return f"{number(value, lang)} s"
    if value < 5400:
        return f"{number(value / 60, lang)} min"
    return f"{number(value / 3600, lang, 1)} h"


def role_name(role: str, lang: str) -> str:
    return translate(f"role_{role}", lang) if role in KNOWN_ROLES else role


def scope_part(report: dict[str, Any], scope: str) -> dict[str, Any]:
    """The summary and daily points of `scope` (the whole workspace when it is unknown)."""
    kind, _, key = scope.partition(":")
    if kind == "flow":
        found = next((item for item in report.get("assistants") or [] if item["flow_id"] == key), None)
    elif kind == "role":
        found = next((item for item in report.get("roles") or [] if item["role"] == key), None)
    else:
        found = None
    return found or {"summary": report.get("summary") or {}, "daily": report.get("daily") or []}


def chart_points(daily: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runtime's daily points with a short day label and two derived series."""
    points = []
    for point in daily:
        day = str(point.get("day") or "")
        wait = point.get("median_wait_s")
        calls, failed = int(point.get("connector_calls") or 0), int(point.get("connector_failed") or 0)
        points.append(
            {
                **point,
                "label": f"{day[8:10]}.{day[5:7]}." if len(day) == 10 else day,
                "median_wait_min": None if wait is None else round(float(wait) / 60, 1),
                "connector_ok": calls - failed,
            }
        )
    return points


def tiles(summary: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """Summary tiles: label key, value, one line of detail."""
    runs = summary.get("runs") or {}
    latency = summary.get("latency_ms") or {}
    feedback = summary.get("feedback") or {}
    approvals = summary.get("approvals") or {}
    actions = summary.get("automated_actions") or {}

    def tile(key: str, value: str, detail: str) -> dict[str, str]:
        return {"key": key, "label": translate(key, lang), "value": value, "detail": detail}

    return [
        tile(
            "tile_runs",
            number(runs.get("total") or 0, lang),
            translate(
                "tile_runs_detail", lang, ok=runs.get("succeeded") or 0, failed=runs.get("failed") or 0
            ),
        ),
        tile(
            "tile_success", percent(summary.get("success_rate"), lang), translate("tile_success_detail", lang)
        ),
        tile(
            "tile_latency",
            duration_ms(latency.get("p50"), lang),
            translate("tile_latency_detail", lang, p95=duration_ms(latency.get("p95"), lang)),
        ),
        tile("tile_tokens", number(summary.get("tokens") or 0, lang), translate("tile_tokens_detail", lang)),
        tile(
            "tile_feedback",
            percent(feedback.get("rate"), lang),
            translate(
                "tile_feedback_detail",
                lang,
                up=feedback.get("up") or 0,
                down=feedback.get("down") or 0,
                corrections=feedback.get("corrections") or 0,
            ),
        ),
        tile(
            "tile_approvals",
            percent(approvals.get("approval_rate"), lang),
            translate(
                "tile_approvals_detail",
                lang,
                raised=approvals.get("raised") or 0,
                wait=duration_s(approvals.get("median_wait_s"), lang),
            ),
        ),
        tile(
            "tile_actions",
            number(actions.get("connector_calls") or 0, lang),
            translate("tile_actions_detail", lang, failed=actions.get("failed") or 0),
        ),
    ]


def group_row(scope: str, name: str, extra: str, summary: dict[str, Any], lang: str) -> dict[str, str]:
    runs = summary.get("runs") or {}
    latency = summary.get("latency_ms") or {}
    feedback = summary.get("feedback") or {}
    approvals = summary.get("approvals") or {}
    return {
        "scope": scope,
        "name": name,
        "extra": extra,
        "runs": number(runs.get("total") or 0, lang),
        "success": percent(summary.get("success_rate"), lang),
        "p50": duration_ms(latency.get("p50"), lang),
        "p95": duration_ms(latency.get("p95"), lang),
        "tokens": number(summary.get("tokens") or 0, lang),
        "feedback": f"{feedback.get('up') or 0} / {feedback.get('down') or 0}",
        "corrections": str(feedback.get("corrections") or 0),
        "approvals": percent(approvals.get("approval_rate"), lang),
        "actions": number((summary.get("automated_actions") or {}).get("connector_calls") or 0, lang),
    }


def assistant_rows(report: dict[str, Any], lang: str) -> list[dict[str, str]]:
    return [
        group_row(
            f"flow:{item['flow_id']}",
            str(item.get("name") or item.get("slug") or ""),
            f"v{item['live_version']}" if item.get("live_version") else translate("not_live", lang),
            item.get("summary") or {},
            lang,
        )
        for item in report.get("assistants") or []
    ]


def role_rows(report: dict[str, Any], lang: str) -> list[dict[str, str]]:
    return [
        group_row(
            f"role:{item['role']}", role_name(str(item["role"]), lang), "", item.get("summary") or {}, lang
        )
        for item in report.get("roles") or []
    ]


def scope_options(report: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """Every scope with a label: the workspace, each assistant, each role."""
    options = [{"value": "all", "label": translate("scope_all", lang)}]
    options += [
        {
            "value": f"flow:{item['flow_id']}",
            "label": translate("scope_assistant", lang, name=item.get("name") or ""),
        }
        for item in report.get("assistants") or []
    ]
    options += [
        {
            "value": f"role:{item['role']}",
            "label": translate("scope_role", lang, name=role_name(item["role"], lang)),
        }
        for item in report.get("roles") or []
    ]
    return options
