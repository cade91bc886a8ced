#!/usr/bin/env bash
# Makes sure the PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) that the tests
# and the demo use are answering: a local server that is down is started; on a machine
# without them, root installs Debian's packages, anyone else is told what to run.
#   --redis-optional  the demo: without Redis, serve uses its in-process cache
set -euo pipefail
redis_optional=false
[[ "${1:-}" == "--redis-optional" ]] && redis_optional=true

pg_up() { command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; }
redis_up() { command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
wait_for() { for _ in $(seq 1 30); do "$1" && return 0; sleep 1; done; "$1"; }
can_install() { [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; }
apt_updated=false
apt_install() {
  echo "installing $* (Debian packages)"
  $apt_updated || apt-get update -qq
  apt_updated=true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
start_redis() {
  local dir=/var/lib/redis log=/var/log/redis/ci.log
  if [[ $EUID -ne 0 ]]; then dir=/tmp/pulso-redis log=/tmp/pulso-redis/redis.log; fi
  mkdir -p "$dir" "$(dirname "$log")"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$dir" --logfile "$log"
}

if ! pg_up; then
  if ! compgen -G "/etc/postgresql/*/main" >/dev/null; then
    if ! can_install; then
      cat >&2 <<'MSG'
PostgreSQL is not answering on 127.0.0.1:5432 and is not installed. As root:
  apt-get update && apt-get install -y postgresql postgresql-client redis-server
then run this command again; or point PULSO_TEST_DATABASE_URL at a PostgreSQL
whose user may create databases (postgres://user:password@host:5432/postgres).
MSG
      exit 1
    fi
    apt_install postgresql postgresql-client
    fresh_install=true
  fi
  echo "starting PostgreSQL"
  if [[ $EUID -eq 0 ]]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  else
    echo "PostgreSQL is installed but down; as root: pg_ctlcluster $(ls /etc/postgresql | sort -V | tail -1) main start" >&2
    exit 1
  fi
  wait_for pg_up
  if [[ "${fresh_install:-false}" == true ]]; then
    # Debian asks TCP clients for a password: give the demo's postgres user the one
    # the Makefile's URLs carry (a server with trust authentication ignores it).
    su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\""
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis"
    start_redis
  elif can_install; then
    apt_install redis-server
    # the package may start its own service; otherwise start one
    redis_up || start_redis
  elif $redis_optional; then
    echo "Redis is not installed: serve will use its in-process cache (apt-get install redis-server to use Redis)" >&2
    exit 0
  else
    echo "Redis is not answering on 127.0.0.1:6379 and is not installed; as root: apt-get install -y redis-server" >&2
    exit 1
  fi
  wait_for redis_up
fi
pg_isready -h 127.0.0.1 -p 5432
if redis_up; then echo "Redis at 127.0.0.1:6379: $(redis-cli -h 127.0.0.1 -p 6379 ping)"; fi
