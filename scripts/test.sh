#!/usr/bin/env bash
# The test suite, as `make test` runs it:
#
#   1. the whole suite but the browser journeys on SQLite, the embedded default, in
#      DIRIGENT_TEST_WORKERS (4) pytest-xdist processes (most tests wait on servers,
#      processes and sockets, so more processes than cores pay off); this includes the
#      `install` test (tests/test_install.py), which pip-installs the package without
#      extras into a fresh virtualenv (PyPI or pip's cache) and starts it;
#   2. the browser journeys (Chromium against a real studio) in one process: they share
#      one studio build and one runtime per session;
#   3. every test that touches the database (tests/runtime, tests/starters) again against
#      a throwaway PostgreSQL cluster from scripts/postgres-test-server.sh, with
#      DIRIGENT_TEST_DATABASE_URL set; then, alone, the latency tests and the `multiprocess`
#      tests (several runtime processes on that PostgreSQL, killed and restarted: they need
#      the cores to themselves and PostgreSQL, so legs 1 and 2 leave them out).
#
# Extra arguments go to legs 1 and 2 (e.g. `-k flows -x`). Without PostgreSQL binaries
# the third leg is skipped with a warning locally and fails under CI=true; a leg that
# collects no tests fails. Exits non-zero if any leg failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

PYTEST=.venv/bin/pytest
PG_SERVER=scripts/postgres-test-server.sh
WORKERS=${DIRIGENT_TEST_WORKERS:-4}
status=0
summary=()

banner() { printf '\n==== %s ====\n' "$*"; }
record() {  # record LEG EXIT_CODE
    if [[ $2 -eq 0 ]]; then
        summary+=("$1: passed")
    else
        summary+=("$1: FAILED (pytest exit $2)")
        [[ $status -ne 0 ]] || status=$2
    fi
}

banner "quality gates: ruff check, ruff format --check, mypy (runtime/ and nodes/)"
.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy runtime nodes
record "ruff and mypy" $?

banner "pytest: the suite on SQLite ($WORKERS processes), browser journeys apart"
"$PYTEST" -n "$WORKERS" -m "not browser and not timing and not multiprocess" "$@"
record "SQLite, all but the browser journeys" $?

# Journeys share one studio build; `timing` tests assert on latency and must not share
# the cores with other tests.
banner "pytest: browser journeys (Chromium) and latency tests on SQLite, one at a time"
"$PYTEST" -m "(browser or timing) and not multiprocess" "$@"
rc=$?
[[ $rc -ne 5 ]] || rc=0  # a selection (-k) that leaves none of them is not a failure here
record "SQLite, browser journeys and latency tests" $rc

banner "pytest: tests/runtime and tests/starters on PostgreSQL"
if ! "$PG_SERVER" check >/dev/null; then
    cat >&2 <<'EOF'

  ##########################################################################
  #  WARNING: PostgreSQL server binaries (initdb, pg_ctl) not found.       #
  #  The runtime tests did NOT run against PostgreSQL.                     #
  #  Install them with: apt-get install postgresql                         #
  ##########################################################################

EOF
    if [[ ${CI:-} == true ]]; then
        record "PostgreSQL, tests/runtime" 1
    else
        summary+=("PostgreSQL, tests/runtime: SKIPPED (no PostgreSQL binaries)")
    fi
elif [[ ! -d tests/runtime ]]; then
    summary+=("PostgreSQL, tests/runtime: nothing to run (no tests/runtime directory)")
else
    # A directory of its own, so that concurrent test runs do not share a cluster.
    DIRIGENT_PG_DIR=$(mktemp -u /tmp/dirigent-pg-test.XXXXXX)
    export DIRIGENT_PG_DIR
    trap '"$PG_SERVER" stop' EXIT
    if url=$("$PG_SERVER" start); then
        echo "PostgreSQL test server: $url"
        DIRIGENT_TEST_DATABASE_URL=$url DIRIGENT_TEST_POSTGRES_URL=$url \
            "$PYTEST" -n "$WORKERS" -m "not browser and not timing and not multiprocess" \
                tests/runtime tests/starters
        rc=$?
        if [[ $rc -eq 5 ]]; then
            echo "No tests were collected for PostgreSQL: that is a failure (the leg tested nothing)."
        fi
        if [[ $rc -eq 0 ]]; then
            DIRIGENT_TEST_DATABASE_URL=$url DIRIGENT_TEST_POSTGRES_URL=$url \
                "$PYTEST" -m "timing and not multiprocess" tests/runtime tests/starters
            rc=$?
        fi
        if [[ $rc -eq 0 ]]; then  # -s: the multi-process tests print their counts
            DIRIGENT_TEST_DATABASE_URL=$url DIRIGENT_TEST_POSTGRES_URL=$url \
                "$PYTEST" -s -m "multiprocess" tests/runtime
            rc=$?
        fi
        record "PostgreSQL, tests/runtime and tests/starters" $rc
    else
        record "PostgreSQL, tests/runtime (server did not start)" 1
    fi
fi

banner "summary"
printf '  %s\n' "${summary[@]}"
exit "$status"
