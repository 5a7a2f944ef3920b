# Shared helpers for scripts/test, scripts/demo and scripts/bench. Source it; do not run it.
#
# ensure_packages: installs the Debian packages dirsync builds and tests with, when missing.
# pg_start / pg_stop: a throwaway PostgreSQL cluster in a temporary directory on a free port,
#                     run as the unprivileged `postgres` user (initdb refuses root).

DIRSYNC_APT_PACKAGES=(libcurl4-openssl-dev libpq-dev libssl-dev pkg-config postgresql python3-yaml)

log() { printf '%s %s\n' "[$(date +%H:%M:%S)]" "$*" >&2; }

ensure_packages() {
    local missing=()
    for package in "${DIRSYNC_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then return 0; fi
    log "installing missing packages: ${missing[*]}"
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pg_bin_dir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -z "$dir" || ! -x "$dir/initdb" ]]; then
        echo "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install the 'postgresql' package" >&2
        return 1
    fi
    echo "$dir"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command as the cluster's owner: `postgres` when we are root, ourselves otherwise.
as_pg_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        su postgres -s /bin/bash -c "$*"
    else
        bash -c "$*"
    fi
}

# Starts the cluster and exports DATABASE_URL (a superuser connection to database `postgres`)
# plus PG_TMP, PG_DATA, PG_PORT, PG_SOCKET. Registers nothing: callers trap pg_stop themselves.
pg_start() {
    local bin
    bin=$(pg_bin_dir) || return 1
    PG_TMP=$(mktemp -d /tmp/dirsync-pg.XXXXXX)
    PG_DATA="$PG_TMP/data"
    PG_SOCKET="$PG_TMP/socket"
    PG_PORT=$(free_port)
    mkdir -p "$PG_DATA" "$PG_SOCKET"
    chmod 755 "$PG_TMP"
    if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$PG_TMP"; fi
    as_pg_owner "'$bin/initdb' -D '$PG_DATA' -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale >'$PG_TMP/initdb.log' 2>&1" \
        || { cat "$PG_TMP/initdb.log" >&2; return 1; }
    # Loopback TCP as well as the socket, so tests can also exercise host/port connection strings.
    as_pg_owner "'$bin/pg_ctl' -D '$PG_DATA' -l '$PG_TMP/server.log' -w -t 60 \
        -o \"-p $PG_PORT -k $PG_SOCKET -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\" start >/dev/null" \
        || { cat "$PG_TMP/server.log" >&2; return 1; }
    export PG_TMP PG_DATA PG_PORT PG_SOCKET PG_BIN="$bin"
    export DATABASE_URL="host=$PG_SOCKET port=$PG_PORT user=postgres dbname=postgres"
    log "PostgreSQL running on port $PG_PORT (data in $PG_DATA)"
}

pg_stop() {
    if [[ -n "${PG_DATA:-}" && -d "$PG_DATA" ]]; then
        as_pg_owner "'$PG_BIN/pg_ctl' -D '$PG_DATA' -m immediate -w stop >/dev/null 2>&1" || true
        rm -rf "$PG_TMP"
        log "PostgreSQL stopped and removed"
        PG_DATA=""
    fi
}
