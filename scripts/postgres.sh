#!/usr/bin/env bash
# Make a local PostgreSQL server available to the tests (idempotent, non-interactive):
# role `databuddy` / password `databuddy` (LOGIN, CREATEDB) and database `databuddy_test`
# on 127.0.0.1:5432. Starts (or creates) the Debian cluster `15 main` when needed.
# Privileged steps run as the `postgres` OS user (needs root, the postgres user, or sudo -n).
set -euo pipefail

PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_HOST=127.0.0.1
PG_PORT=5432
ROLE=databuddy
PASSWORD=databuddy
DATABASE=databuddy_test
WAIT_SECONDS="${PG_WAIT_SECONDS:-30}"

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

# True when the project's role can log in to its database over TCP.
project_ready() {
  PGPASSWORD="$PASSWORD" PGCONNECT_TIMEOUT=3 psql -X -q -w -h "$PG_HOST" -p "$PG_PORT" \
    -U "$ROLE" -d "$DATABASE" -tAc 'SELECT 1' >/dev/null 2>&1
}

command -v psql >/dev/null 2>&1 || die "psql not found: install PostgreSQL $PG_VERSION (apt-get install postgresql-$PG_VERSION)."

if project_ready; then
  echo "postgres: ready at postgresql://$ROLE:***@$PG_HOST:$PG_PORT/$DATABASE (already running)"
  exit 0
fi

# How to run a command as the `postgres` OS user, if we can at all.
if [ "$(id -u)" -eq 0 ]; then
  if command -v runuser >/dev/null 2>&1; then
    as_postgres() { (cd / && runuser -u postgres -- "$@"); }
  else
    as_postgres() { (cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")"); }
  fi
  as_admin() { "$@"; }
elif [ "$(id -un)" = postgres ]; then
  as_postgres() { "$@"; }
  as_admin() { "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_postgres() { (cd / && sudo -n -u postgres -- "$@"); }
  as_admin() { sudo -n -- "$@"; }
else
  die "no server accepts $ROLE@$PG_HOST:$PG_PORT/$DATABASE, and this user ($(id -un)) cannot
  start one (not root, sudo unavailable). Run this script as root (e.g. \`su -c 'bash scripts/postgres.sh'\`),
  or ask an admin to start PostgreSQL $PG_VERSION on $PG_HOST:$PG_PORT and run:
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD' CREATEDB;
    CREATE DATABASE $DATABASE OWNER $ROLE;"
fi

command -v pg_lsclusters >/dev/null 2>&1 \
  || die "pg_lsclusters not found: install postgresql-common and postgresql-$PG_VERSION."

# Create the cluster if it does not exist, then start it unless it is already running.
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" \
  '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
  echo "postgres: creating cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
  as_admin pg_createcluster -p "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >/dev/null \
    || die "pg_createcluster $PG_VERSION $PG_CLUSTER failed."
fi
cluster_port="$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $3 }')"
[ "$cluster_port" = "$PG_PORT" ] \
  || die "cluster $PG_VERSION/$PG_CLUSTER uses port $cluster_port, the tests expect $PG_PORT."
if ! as_admin pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; then
  as_admin pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start \
    || die "pg_ctlcluster $PG_VERSION $PG_CLUSTER start failed (see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log)."
fi

# Bounded wait until it accepts TCP connections.
deadline=$((SECONDS + WAIT_SECONDS))
until pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log="/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
    [ -r "$log" ] && tail -n 20 "$log" >&2
    die "server on $PG_HOST:$PG_PORT did not accept connections within ${WAIT_SECONDS}s."
  fi
  sleep 0.5
done

# Role and database (over the local socket, peer auth as `postgres`).
role_sql="DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD' CREATEDB;
  ELSE
    ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD' CREATEDB;
  END IF;
END
\$\$;"
as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -c "$role_sql" >/dev/null \
  || die "could not create role $ROLE."
if [ -z "$(as_postgres psql -X -p "$PG_PORT" -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]; then
  as_postgres createdb -p "$PG_PORT" -O "$ROLE" "$DATABASE" || die "could not create database $DATABASE."
fi

project_ready || die "server is up but $ROLE cannot log in to $DATABASE over TCP on $PG_HOST:$PG_PORT
  (check pg_hba.conf allows 'host all all 127.0.0.1/32 scram-sha-256' and listen_addresses)."
echo "postgres: ready at postgresql://$ROLE:***@$PG_HOST:$PG_PORT/$DATABASE"
