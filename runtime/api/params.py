"""Path and query parameters that every handler checks the same way.

Numbers are range-checked where they enter, so that a request cannot carry a value the
database cannot hold (an INTEGER column is 32 bits on PostgreSQL; SQLite's are 64): a
number out of range is a 400 naming the parameter and its bounds, never a driver error.
The bounds appear in the OpenAPI description, so clients can see them.

    number: VersionNumber       a flow version's number, in paths
    before_seq: AuditSeq        an audit entry's seq, in queries
    limit: RunsPageLimit        page sizes (AuditPageLimit for the audit trail)

Times in queries (`since`, `until`) go through `parse_time` (or, for monitoring's dates,
`runtime.monitoring.period`), which also keeps them within `EARLIEST` and `LATEST`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from runtime.audit.service import MAX_LIST_LIMIT as MAX_AUDIT_PAGE
from runtime.errors import BadRequest

# Version numbers and audit sequence numbers are INTEGER columns: 32 bits on PostgreSQL.
INT32_MAX = 2**31 - 1
MAX_RUNS_PAGE = 500

VersionNumber = Annotated[
    int, PathParameter(ge=1, le=INT32_MAX, description="The number of a version of the flow: 1, 2, ...")
]
# A version to compare with: a number (up to 9 digits, far below INT32_MAX) or `live`;
# checked by `version_or_live`, which says it in words.
VERSION_OR_LIVE = re.compile(r"^(live|[1-9][0-9]{0,8})?$")
VersionOrLive = Annotated[
    str | None,
    QueryParameter(
        schema_extra={"pattern": VERSION_OR_LIVE.pattern},
        description="A version number, or live (the default)",
    ),
]
AuditSeq = Annotated[
    int | None, QueryParameter(ge=1, le=INT32_MAX, description="Only entries before this seq")
]
RunsPageLimit = Annotated[int, QueryParameter(ge=1, le=MAX_RUNS_PAGE, description="Runs per page")]
AuditPageLimit = Annotated[int, QueryParameter(ge=1, le=MAX_AUDIT_PAGE, description="Entries per page")]

# What a time in a query may be. Nothing in Dirigent is older than 1970, and far-off years
# only break date arithmetic (year 10000 does not exist for Python's datetime).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
SUPPORTED_TIMES = "between 1970-01-01 and 2999-12-31"


def in_supported_range(name: str, raw: str, moment: datetime) -> datetime:
    """`moment` in UTC (a time without a zone is UTC); 400 `time_out_of_range` outside
    `EARLIEST`..`LATEST`."""
    try:
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is in the year 0 in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise BadRequest(
            f"'{name}' must be {SUPPORTED_TIMES}, not {raw!r}", code="time_out_of_range", field=name
        )
    return utc


def parse_time(name: str, raw: str | None) -> datetime | None:
    """An ISO-8601 date or date-time from a query (None when not given), in UTC."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(
            f"'{name}' must be an ISO-8601 date or time, e.g. 2026-11-01", code="invalid_time", field=name
        ) from None
    return in_supported_range(name, raw, parsed)


def version_or_live(name: str, raw: str | None) -> int | None:
    """A `VersionOrLive` parameter: the version number, or None for the live version."""
    if raw in (None, "", "live"):
        return None
    assert raw is not None
    if not VERSION_OR_LIVE.fullmatch(raw):
        raise BadRequest(
            f"'{name}' is a version number or 'live', not {raw[:20]!r}", code="invalid_version", field=name
        )
    return int(raw)
