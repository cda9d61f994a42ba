#!/usr/bin/env bash
# The gateway (nginx from Debian's packages) on 127.0.0.1:${GATEWAY_PORT:-8000}, routing by
# path to the four services. Runtime files (rendered config, PID, logs, temp dirs) live in
# .local/gateway/ (GATEWAY_DIR); nginx runs in the foreground, started here and stopped by PID.
#
#   gateway.sh install | render | up | down | status
#
# Upstreams: THREADS_UPSTREAM, BLOCKING_UPSTREAM, ANNOUNCEMENTS_UPSTREAM, NOTIFY_UPSTREAM
# (host:port; default 127.0.0.1 and THREADS_PORT... or 8001-8004).
# TLS termination: set GATEWAY_TLS_CERT and GATEWAY_TLS_KEY (PEM files) and optionally
# GATEWAY_TLS_PORT (8443); deploy/gateway/tls.conf is then rendered and included.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
conf_dir=$root/deploy/gateway
run=${GATEWAY_DIR:-$root/.local/gateway}
port=${GATEWAY_PORT:-8000}

export GATEWAY_LISTEN=${GATEWAY_LISTEN:-127.0.0.1:$port}
export THREADS_UPSTREAM=${THREADS_UPSTREAM:-127.0.0.1:${THREADS_PORT:-8001}}
export BLOCKING_UPSTREAM=${BLOCKING_UPSTREAM:-127.0.0.1:${BLOCKING_PORT:-8002}}
export ANNOUNCEMENTS_UPSTREAM=${ANNOUNCEMENTS_UPSTREAM:-127.0.0.1:${ANNOUNCEMENTS_PORT:-8003}}
export NOTIFY_UPSTREAM=${NOTIFY_UPSTREAM:-127.0.0.1:${NOTIFY_PORT:-8004}}
export GATEWAY_ACCESS_LOG=${GATEWAY_ACCESS_LOG:-logs/access.log}
export GATEWAY_ERROR_LOG=${GATEWAY_ERROR_LOG:-logs/error.log}
export GATEWAY_CONF_DIR=$conf_dir
export GATEWAY_INCLUDE_DIR=$run/include
export GATEWAY_TLS_LISTEN=${GATEWAY_TLS_LISTEN:-127.0.0.1:${GATEWAY_TLS_PORT:-8443}}

log() { printf '[gateway] %s\n' "$*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

nginx_bin() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }; }

install() {
  [ -n "$(nginx_bin)" ] && return
  log "installing nginx (Debian package nginx-light)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  # Debian's package would start a system-wide nginx on port 80: forbid that for the install.
  local policy=/usr/sbin/policy-rc.d added=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy"
    added=1
  fi
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nginx-light >/dev/null
  [ -n "$added" ] && $sudo rm -f "$policy"
  [ -n "$(nginx_bin)" ] || { log "nginx did not install"; exit 1; }
}

# Replace ${NAME} for the gateway's own variables only; nginx's variables stay as they are.
# Started as root (containers, CI), nginx runs its workers as `nobody`, who cannot reach a
# run directory under a private (0700) parent such as mktemp's, and a body that must spill
# to a temp file answers 500. Locally the workers stay the invoking user.
nginx_globals=()
[ "$(id -u)" = 0 ] && nginx_globals=(-g "user root;")

render_file() {
  local names='GATEWAY_LISTEN|GATEWAY_TLS_LISTEN|GATEWAY_TLS_CERT|GATEWAY_TLS_KEY|GATEWAY_ACCESS_LOG|GATEWAY_ERROR_LOG|GATEWAY_CONF_DIR|GATEWAY_INCLUDE_DIR|THREADS_UPSTREAM|BLOCKING_UPSTREAM|ANNOUNCEMENTS_UPSTREAM|NOTIFY_UPSTREAM'
  perl -pe 's/\$\{('"$names"')\}/exists $ENV{$1} ? $ENV{$1} : die "unset: $1\n"/ge' "$1"
}

render() {
  mkdir -p "$run/logs" "$run/tmp" "$run/include"
  render_file "$conf_dir/nginx.conf" > "$run/nginx.conf"
  rm -f "$run/include/tls.conf"
  if [ -n "${GATEWAY_TLS_CERT:-}" ]; then
    [ -n "${GATEWAY_TLS_KEY:-}" ] || { log "GATEWAY_TLS_CERT needs GATEWAY_TLS_KEY"; exit 2; }
    render_file "$conf_dir/tls.conf" > "$run/include/tls.conf"
  fi
  "$(nginx_bin)" -t -q -p "$run/" -c "$run/nginx.conf" -e "$run/logs/error.log" "${nginx_globals[@]}"
}

up() {
  install
  if alive "$run/gateway.pid"; then log "already running (pid $(cat "$run/gateway.pid"))"; return; fi
  render
  log "starting on http://$GATEWAY_LISTEN"
  nohup "$(nginx_bin)" -p "$run/" -c "$run/nginx.conf" -e "$run/logs/error.log" "${nginx_globals[@]}" \
    </dev/null >>"$run/logs/nginx.out" 2>&1 &
  echo $! > "$run/gateway.pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/${GATEWAY_LISTEN%:*}/${GATEWAY_LISTEN##*:}") 2>/dev/null; then return; fi
    alive "$run/gateway.pid" || { log "nginx exited; see $run/logs/"; exit 1; }
    sleep 0.05
  done
  log "not listening after 5 s; see $run/logs/"
  exit 1
}

down() {
  local pidfile=$run/gateway.pid
  if alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    log "stopping (pid $pid)"
    kill -QUIT "$pid"   # graceful: finish the requests in flight
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

case "${1:-up}" in
  install) install ;;
  render) install; render; echo "$run/nginx.conf" ;;
  up) up ;;
  down) down ;;
  status)
    if alive "$run/gateway.pid"; then echo "gateway: running (pid $(cat "$run/gateway.pid"))"; else echo "gateway: stopped"; fi
    ;;
  *) echo "usage: $0 install|render|up|down|status" >&2; exit 2 ;;
esac
