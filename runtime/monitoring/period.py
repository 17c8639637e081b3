"""The date range of a monitoring query: parsed, defaulted, bounded, cut into UTC days.

since, until   ISO dates (`2026-11-01`) or date-times (`2026-11-01T08:00:00Z`; without
               a zone: UTC). A date as `since` means from its midnight, as `until`
               through its end (inclusive). Defaults: `until` now, `since` the midnight
               that makes 30 days. At most 366 days, between 1970-01-01 and 2999-12-31
               (`runtime.wire.in_supported_range`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from runtime.errors import BadRequest
from runtime.wire import in_supported_range

DEFAULT_DAYS = 30
MAX_DAYS = 366
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Period:
    since: datetime  # inclusive
    until: datetime  # exclusive

    @property
    def days(self) -> list[date]:
        """Every UTC day the range touches, in order."""
        first, last = self.since.date(), (self.until - _TICK).date()
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _parse(name: str, raw: str, *, end_of_day: bool) -> datetime:
    text = raw.strip()
    try:
        if len(text) == 10:  # a date: YYYY-MM-DD
            start = in_supported_range(name, raw, _midnight(date.fromisoformat(text)))
            return start + timedelta(days=1) if end_of_day else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"{name}: expected an ISO date (2026-11-01) or date-time (2026-11-01T08:00:00Z), got {raw!r}",
            code="bad_date",
            field=name,
            value=raw,
        ) from None
    return in_supported_range(name, raw, moment)


def parse_moment(name: str, raw: str, *, end_of_day: bool) -> datetime:
    """One bound as above (also the runs viewer's `since`/`until`); `BadRequest` if unreadable."""
    return _parse(name, raw, end_of_day=end_of_day)


def parse_period(since: str | None, until: str | None, *, now: datetime) -> Period:
    """The range the query asks for; `BadRequest` for a bad date, an empty or too long range."""
    end = _parse("until", until, end_of_day=True) if until else now
    if since:
        start = _parse("since", since, end_of_day=False)
    else:
        start = _midnight((end - _TICK).date() - timedelta(days=DEFAULT_DAYS - 1))
    if start >= end:
        raise BadRequest(
            f"since ({start.isoformat()}) must be before until ({end.isoformat()})",
            code="bad_range",
            since=start.isoformat(),
            until=end.isoformat(),
        )
    if end - start > timedelta(days=MAX_DAYS):
        span = (end - start) / timedelta(days=1)
        raise BadRequest(
            f"the range spans {span:.1f} days; at most {MAX_DAYS} are allowed (narrow since or until)",
            code="range_too_long",
            days=round(span, 1),
            max_days=MAX_DAYS,
        )
    return Period(start, end)
