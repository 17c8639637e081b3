#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   scripts/postgres-test-server.sh start   initdb + start; prints the SQLAlchemy URL on stdout
#   scripts/postgres-test-server.sh stop    stops the cluster and deletes its directory
#   scripts/postgres-test-server.sh check   exits 0 (and prints the bin dir) if the server binaries exist
#
# The cluster listens only on 127.0.0.1, on the first free port from DIRIGENT_PG_PORT
# (default 54329), with trust authentication, and holds one database, `dirigent_test`,
# owned by the superuser `dirigent`. Its files live in DIRIGENT_PG_DIR (default
# /tmp/dirigent-pg-test); the URL is also written to $DIRIGENT_PG_DIR/url.
#
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
# when Debian's package created it, else as a system user `dirigent-pg` created here.
# Binaries: PG_BIN if set, else the newest /usr/lib/postgresql/*/bin, else PATH.
set -euo pipefail

PG_DIR=$(realpath -m "${DIRIGENT_PG_DIR:-/tmp/dirigent-pg-test}")
FIRST_PORT=${DIRIGENT_PG_PORT:-54329}
DB_USER=dirigent
DB_NAME=dirigent_test

log() { echo "postgres-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

find_bin_dir() {
    if [[ -n ${PG_BIN:-} ]]; then
        [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] && { echo "$PG_BIN"; return 0; }
        return 1
    fi
    local dir
    for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        [[ -x $dir/initdb && -x $dir/pg_ctl ]] && { echo "$dir"; return 0; }
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    return 1
}

server_user() {
    if [[ $EUID -ne 0 ]]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        id dirigent-pg >/dev/null 2>&1 ||
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin dirigent-pg
        echo dirigent-pg
    fi
}

# Runs a command as the server's user (a no-op wrapper when we are not root). From /, since
# that user may not be allowed into the current directory (a checkout under /root, say).
as_server_user() {
    if [[ $EUID -ne 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null; then
        (cd / && runuser -u "$SERVER_USER" -- "$@")
    else
        (cd / && su -s /bin/sh "$SERVER_USER" -c "$(printf '%q ' "$@")")
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

is_running() { [[ -d $PG_DIR/data ]] && as_server_user "$BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; }

start() {
    if is_running; then
        die "a cluster is already running in $PG_DIR ($(cat "$PG_DIR/url" 2>/dev/null)); run '$0 stop' first"
    fi
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    chmod 700 "$PG_DIR"
    [[ $EUID -eq 0 ]] && chown "$SERVER_USER" "$PG_DIR"

    log "initdb in $PG_DIR/data (as $SERVER_USER, binaries from $BIN)"
    as_server_user "$BIN/initdb" --pgdata="$PG_DIR/data" --username="$DB_USER" \
        --auth=trust --encoding=UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
        { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }

    # Durability is pointless for a throwaway cluster; turning it off makes tests faster.
    local options="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR"
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    local port=$FIRST_PORT started=""
    for _ in $(seq 20); do
        if ! port_in_use "$port"; then
            if as_server_user "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
                -o "$options -p $port" start >/dev/null; then
                started=yes
                break
            fi
            # Lost a race for the port (or a real failure: the log tells which).
            grep -q "could not bind" "$PG_DIR/server.log" || break
        fi
        port=$((port + 1))
    done
    [[ -n $started ]] || { cat "$PG_DIR/server.log" >&2 2>/dev/null; die "could not start the server"; }

    "$BIN/createdb" --host=127.0.0.1 --port="$port" --username="$DB_USER" "$DB_NAME"
    local url="postgresql+asyncpg://$DB_USER@127.0.0.1:$port/$DB_NAME"
    echo "$url" >"$PG_DIR/url"
    log "running on 127.0.0.1:$port"
    echo "$url"
}

stop() {
    [[ -d $PG_DIR ]] || { log "nothing to stop in $PG_DIR"; return 0; }
    if is_running; then
        as_server_user "$BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null
    fi
    rm -rf "$PG_DIR"
    log "stopped and removed $PG_DIR"
}

BIN=$(find_bin_dir) || BIN=""
case "${1:-}" in
    check)
        [[ -n $BIN ]] || exit 1
        echo "$BIN"
        ;;
    start | stop)
        [[ -n $BIN ]] || die "no PostgreSQL server binaries (initdb, pg_ctl) found; apt-get install postgresql"
        SERVER_USER=$(server_user)
        "$1"
        ;;
    *)
        echo "usage: $0 start|stop|check" >&2
        exit 2
        ;;
esac
