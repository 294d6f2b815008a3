#!/usr/bin/env bash
# Starts PostgreSQL (127.0.0.1:5432, trust auth for user postgres) and Redis (127.0.0.1:6379)
# if they are not already running, installing them with apt-get when missing. Idempotent.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=false
apt_install() {
  if [ "$apt_updated" = false ]; then
    as_root apt-get update -qq
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # description, command...
  local what=$1; shift
  for _ in $(seq 1 100); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "services.sh: $what did not become ready" >&2
  return 1
}

# --- PostgreSQL -------------------------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "services.sh: installing PostgreSQL" >&2
  apt_install postgresql postgresql-client
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  if [ -z "$version" ]; then
    echo "services.sh: no PostgreSQL cluster found in /etc/postgresql" >&2
    exit 1
  fi
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # Tests connect as postgres over TCP without a password: local trust auth only.
  if ! grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
wait_for "PostgreSQL" pg_isready -q -h 127.0.0.1 -p 5432
wait_for "PostgreSQL login" psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1'

# --- Redis ------------------------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  echo "services.sh: installing Redis" >&2
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for "Redis" redis-cli -h 127.0.0.1 -p 6379 ping

echo "services.sh: PostgreSQL and Redis are up" >&2
