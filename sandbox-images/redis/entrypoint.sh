#!/bin/sh
# Starts a project's Redis as the redis user. Its password comes from the file the API put into the data volume
# before the start (deleted once read) and goes into the configuration on the tmpfs /run/redis (0600), so it never
# passes through the container's environment, configuration or command line.
set -eu

DATA=/var/lib/redis
PASSWORD_FILE=$DATA/requirepass
CONF=/run/redis/redis.conf

if [ "$(id -u)" = 0 ]; then
  echo "vaporform-redis: refusing to run as root" >&2
  exit 1
fi

password=
if [ -f "$PASSWORD_FILE" ]; then
  password=$(cat "$PASSWORD_FILE")
  rm -f "$PASSWORD_FILE"
fi
if [ -z "$password" ]; then
  echo "vaporform-redis: no password file ($PASSWORD_FILE): refusing to start without a password" >&2
  exit 1
fi
# Put into the configuration below: only what the API derives (hex) is accepted.
case "$password" in
  *[!0-9A-Za-z]*) echo "vaporform-redis: the password file holds other characters than letters and digits" >&2; exit 1 ;;
esac

umask 077
cat > "$CONF" <<CONF
# Written by vaporform-redis at start.
bind * -::*
port 6379
protected-mode yes
requirepass $password
daemonize no
logfile ""
dir $DATA
# Both: the append-only file (every write, fsync each second) and RDB snapshots (what a dump copies).
appendonly yes
appendfsync everysec
save 3600 1 300 100 60 10000
dbfilename dump.rdb
databases 16
CONF
# Under the container's memory limit (cgroup v2 or v1): writes are refused when full, rather than the OOM killer ending
# it. No limit (max, or v1's huge number): none.
limit=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || echo max)
case "$limit" in
  ''|*[!0-9]*|??????????????*) ;;
  *) printf 'maxmemory %s\nmaxmemory-policy noeviction\n' "$((limit / 4 * 3))" >> "$CONF" ;;
esac

exec redis-server "$CONF"
