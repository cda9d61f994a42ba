#!/usr/bin/env bash
# Runs the four services as background uvicorn processes on 127.0.0.1:8001-8004.
#
#   services.sh up | down | logs
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
run=$root/.local/services
python=${PYTHON:-$root/.venv/bin/python}
services=(threads:8001 blocking:8002 announcements:8003 notify:8004)

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

up() {
  mkdir -p "$run"
  cd "$root"
  for entry in "${services[@]}"; do
    local name=${entry%%:*} port=${entry##*:}
    if alive "$run/$name.pid"; then echo "[services] $name already running"; continue; fi
    nohup "$python" -m uvicorn "services.$name.app:create_app" --factory \
      --host 127.0.0.1 --port "$port" --no-access-log </dev/null >"$run/$name.log" 2>&1 &
    echo $! > "$run/$name.pid"
  done
  local urls=()
  for entry in "${services[@]}"; do urls+=("http://127.0.0.1:${entry##*:}/health/ready"); done
  "$python" "$here/wait_http.py" --timeout 90 "${urls[@]}"
  cat <<TXT

Services are up:
  threads        http://127.0.0.1:8001/docs
  blocking       http://127.0.0.1:8002/docs
  announcements  http://127.0.0.1:8003/docs
  notify         http://127.0.0.1:8004/docs
  AsyncAPI       http://127.0.0.1:800N/asyncapi (JSON at /asyncapi.json)

Mint a development token:
  TOKEN=\$(.venv/bin/msgctl token --role provider --sub p1 --practice pr1 --admin)
Then: curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8000/v1/practice/messaging
Operate: .venv/bin/msgctl status | seed | dlq list
TXT
}

down() {
  for entry in "${services[@]}"; do
    local name=${entry%%:*} pidfile=$run/${entry%%:*}.pid
    if alive "$pidfile"; then
      local pid; pid=$(cat "$pidfile")
      echo "[services] stopping $name (pid $pid)"
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$pidfile"
  done
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  logs) tail -n 200 -f "$run"/*.log ;;
  *) echo "usage: $0 up|down|logs" >&2; exit 2 ;;
esac
