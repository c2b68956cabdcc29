#!/bin/sh
# Starts a project's PostgreSQL as the postgres user. On the first start it makes the cluster in the data volume
# (role and database "app", scram-sha-256 for the project network, no other way in); on every start it sets the
# role's password from the file the API put into the volume (then deletes it), so the password never passes
# through the container's environment or configuration.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
PASSWORD_FILE=/var/lib/postgresql/app-password

if [ "$(id -u)" = 0 ]; then
  echo "vaporform-postgres: refusing to run as root" >&2
  exit 1
fi

password=
if [ -f "$PASSWORD_FILE" ]; then
  password=$(cat "$PASSWORD_FILE")
  rm -f "$PASSWORD_FILE"
fi
# Put into SQL literals below: only what the API derives (hex) is accepted.
case "$password" in
  *[!0-9A-Za-z]*) echo "vaporform-postgres: the password file holds other characters than letters and digits" >&2; exit 1 ;;
esac

# Single-user mode: no listener while the role is made or changed. Its prompts go nowhere; errors go to stderr.
single() {
  postgres --single -D "$PGDATA" -c listen_addresses= -c log_min_messages=warning postgres >/dev/null
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$password" ]; then
    echo "vaporform-postgres: first start without a password file ($PASSWORD_FILE)" >&2
    exit 1
  fi
  initdb --pgdata="$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 --no-instructions >/dev/null
  cat > "$PGDATA/pg_hba.conf" <<'HBA'
# Written by vaporform-postgres. The postgres superuser only over the local socket (by its uid); the app's role with
# a password from the networks this server is on (the project's network, nothing else reaches it).
local all postgres              peer
host  all app      samenet      scram-sha-256
HBA
  cat >> "$PGDATA/postgresql.conf" <<'CONF'

# vaporform-postgres
listen_addresses = '*'
port = 5432
unix_socket_directories = '/run/postgresql'
password_encryption = 'scram-sha-256'
max_connections = 50
shared_buffers = 32MB
dynamic_shared_memory_type = posix
log_destination = 'stderr'
logging_collector = off
CONF
  printf '%s\n' \
    "CREATE ROLE app LOGIN CREATEDB PASSWORD '$password'" \
    "CREATE DATABASE app OWNER app" | single
  echo "vaporform-postgres: made the cluster, role and database app" >&2
elif [ -n "$password" ]; then
  # The server's secret may have changed since: the role's password follows it.
  printf '%s\n' "ALTER ROLE app PASSWORD '$password'" | single
fi

exec postgres -D "$PGDATA"
