"""The date range of a monitoring query (`runtime.monitoring.period`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime.errors import BadRequest
from runtime.monitoring.period import parse_period
from runtime.monitoring.service import percentile

NOW = datetime(2026, 11, 22, 13, 5, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("since", "until", "start", "end", "days"),
    [
        (None, None, utc(2026, 10, 24), NOW, 30),  # default: 30 days, today included
        ("2026-11-01", "2026-11-30", utc(2026, 11, 1), utc(2026, 12, 1), 30),  # dates: until inclusive
        ("2026-11-01", None, utc(2026, 11, 1), NOW, 22),
        (None, "2026-11-30", utc(2026, 11, 1), utc(2026, 12, 1), 30),
        ("2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z", utc(2026, 11, 1, 8), utc(2026, 11, 1, 9), 1),
        ("2026-11-01T08:00:00+01:00", "2026-11-02T00:30", utc(2026, 11, 1, 7), utc(2026, 11, 2, 0, 30), 2),
        ("2025-01-01", "2025-12-31", utc(2025, 1, 1), utc(2026, 1, 1), 365),
        ("2024-01-01", "2024-12-31", utc(2024, 1, 1), utc(2025, 1, 1), 366),  # a leap year fits
        ("2026-11-01", "2026-11-01", utc(2026, 11, 1), utc(2026, 11, 2), 1),  # one day
    ],
)
def test_ranges(since: str | None, until: str | None, start: datetime, end: datetime, days: int) -> None:
    period = parse_period(since, until, now=NOW)
    assert (period.since, period.until) == (start, end)
    assert len(period.days) == days
    assert period.days[0] == start.date()


@pytest.mark.parametrize(
    ("since", "until", "code", "words"),
    [
        ("gestern", None, "bad_date", "since: expected an ISO date (2026-11-01) or date-time"),
        (None, "2026-13-01", "bad_date", "until: expected an ISO date"),
        ("2026-11-31", None, "bad_date", "'2026-11-31'"),
        ("2026-11-05", "2026-11-01", "bad_range", "must be before until"),
        ("2026-11-01T10:00:00Z", "2026-11-01T10:00:00Z", "bad_range", "must be before until"),
        ("2025-01-01", "2026-01-01", None, None),  # 366 days: the most there may be
        ("2025-01-01", "2026-01-02", "range_too_long", "spans 367.0 days; at most 366"),
        (None, "2030-01-01", None, None),  # the default start follows until
    ],
)
def test_bad_ranges_are_refused(
    since: str | None, until: str | None, code: str | None, words: str | None
) -> None:
    if code is None:
        assert len(parse_period(since, until, now=NOW).days) in (30, 366)
        return
    with pytest.raises(BadRequest) as raised:
        parse_period(since, until, now=NOW)
    assert raised.value.code == code
    assert words in raised.value.message


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        ("0001-01-01", "9999-12-31", "until"),  # the day after 9999-12-31 does not exist
        ("9999-12-01", "9999-12-31", "until"),
        (None, "0001-01-05", "until"),  # the default start would be in the year 0
        ("0001-01-01T00:00:00+01:00", "2026-11-01", "since"),  # in UTC: the year 0
        ("2026-11-01", "9999-12-31T23:59:59-05:00", "until"),  # in UTC: the year 10000
        ("1969-12-31", "1970-01-02", "since"),
        ("2999-12-31", "3000-01-01", "until"),
    ],
)
def test_times_outside_1970_to_2999_are_refused(since: str | None, until: str, field: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_period(since, until, now=NOW)
    assert raised.value.code == "time_out_of_range" and raised.value.extra["field"] == field
    assert "between 1970-01-01 and 2999-12-31" in raised.value.message


def test_the_first_and_last_days_that_are_allowed() -> None:
    assert len(parse_period("1970-01-01", "1970-01-31", now=NOW).days) == 31
    last = parse_period("2999-12-01", "2999-12-31", now=NOW)
    assert last.until == utc(3000, 1, 1) and len(last.days) == 31


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.95, 7.0),
        ([100.0, 200.0, 300.0, 400.0], 0.5, 250.0),
        ([400.0, 100.0, 1000.0, 300.0, 200.0], 0.5, 300.0),
        ([400.0, 100.0, 1000.0, 300.0, 200.0], 0.95, 880.0),
    ],
)
def test_percentile_interpolates_like_percentile_cont(
    values: list[float], q: float, expected: float | None
) -> None:
    assert percentile(values, q) == expected
