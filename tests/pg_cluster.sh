# A throwaway PostgreSQL cluster for tests and benches (sourced): initdb in a
# temporary directory, listening only on a Unix socket there, trust auth for
# the role "blackout", stopped and removed by pg_cluster_stop. PostgreSQL
# refuses to run as root, so as root the cluster runs as the postgres user
# that Debian's package makes.
#
#   pg_cluster_start      sets PG_DIR and PG_URL (postgresql:///postgres?host=...)
#   pg_cluster_url DB     the URL of database DB (created with pg_cluster_createdb)
#   pg_cluster_stop

pg_cluster_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$bin/initdb" ] || { echo "pg_cluster: no PostgreSQL server (ci/install-deps.sh installs postgresql-15)" >&2; return 1; }
  echo "$bin"
}

pg_cluster_as() {  # command... as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_cluster_start() {
  local bin
  bin=$(pg_cluster_bin) || return 1
  PG_DIR=$(mktemp -d /tmp/blackout-pg-XXXXXX)
  chmod 755 "$PG_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  pg_cluster_as "$bin/initdb" -D "$PG_DIR/data" -U blackout --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
    { tail -20 "$PG_DIR/initdb.log" >&2; return 1; }
  pg_cluster_as "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $PG_DIR -c max_connections=200 -c fsync=on" start >/dev/null ||
    { tail -20 "$PG_DIR/server.log" >&2; return 1; }
  PG_URL="postgresql:///postgres?host=$PG_DIR&user=blackout"
  export PG_DIR PG_URL
}

pg_cluster_url() { echo "postgresql:///$1?host=$PG_DIR&user=blackout"; }

pg_cluster_createdb() {
  psql -q -X -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE $1" >/dev/null
}

pg_cluster_stop() {
  [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] || return 0
  local bin
  bin=$(pg_cluster_bin) || return 0
  pg_cluster_as "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}
