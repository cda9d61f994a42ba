#!/usr/bin/env bash
# Starts and stops the native development infrastructure: Apache Kafka (KRaft) and
# FerretDB (SQLite). Binaries are cached per user; runtime data lives in .local/.
#
#   infra.sh up | down | status
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${SECURE_MESSAGING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secure-messaging}
run=$root/.local
kafka_version=4.1.1
ferretdb_version=v1.24.2
kafka_libs=$cache/kafka-$kafka_version/libs
# Keyed by the wrapper's sources too, so a change to them rebuilds the binary.
ferretdb_key=$(cat "$here"/ferretdb/*.go "$here"/ferretdb/go.sum "$here"/ferretdb/*.patch | sha256sum | cut -c1-12)
ferretdb_bin=$cache/ferretdb-$ferretdb_version-$ferretdb_key/ferretdb-local
python=${PYTHON:-$root/.venv/bin/python}

log() { printf '[infra] %s\n' "$*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Something already listens there (e.g. started from another checkout): reuse it.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch_kafka() {
  [ -f "$kafka_libs/kafka_2.13-$kafka_version.jar" ] && return
  log "fetching Kafka $kafka_version jars from Maven Central into $kafka_libs"
  mvn -q -B -f "$here/kafka-pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$kafka_version" -DincludeScope=runtime -DoutputDirectory="$kafka_libs"
}

# FerretDB's own source with the project's patches (*.patch) applied, built through the
# wrapper module with a `replace` in a copy of its go.mod (the checkout stays untouched).
build_ferretdb() {
  [ -x "$ferretdb_bin" ] && return
  log "building FerretDB $ferretdb_version (patched: $(cd "$here/ferretdb" && echo *.patch)) into $ferretdb_bin"
  local out src work
  out=$(dirname "$ferretdb_bin")
  src=$out/src work=$out/wrapper
  rm -rf "$src" "$work" && mkdir -p "$out" "$work"
  (cd "$here/ferretdb" && go mod download github.com/FerretDB/FerretDB)
  cp -r "$(cd "$here/ferretdb" && go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)" "$src"
  chmod -R u+w "$src"
  for patch in "$here"/ferretdb/*.patch; do patch -s -d "$src" -p1 < "$patch"; done
  cp "$here"/ferretdb/*.go "$here"/ferretdb/go.mod "$here"/ferretdb/go.sum "$work"/
  (cd "$work" && go mod edit -replace "github.com/FerretDB/FerretDB=$src" && go build -o "$ferretdb_bin" .)
}

kafka_java() {
  java -Xms256m -Xmx768m -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$here/log4j2.yaml" -cp "$kafka_libs/*" "$@"
}

start_kafka() {
  mkdir -p "$run/kafka"
  if alive "$run/kafka.pid"; then log "Kafka already running (pid $(cat "$run/kafka.pid"))"; return; fi
  if listening 9092; then log "reusing the Kafka broker already on 127.0.0.1:9092"; return; fi
  fetch_kafka
  local data=$run/kafka/data conf=$run/kafka/server.properties
  { cat "$here/kafka-server.properties"; echo "log.dirs=$data"; } > "$conf"
  if [ ! -f "$data/meta.properties" ]; then
    log "formatting Kafka storage"
    kafka_java kafka.tools.StorageTool format -t "$(kafka_java kafka.tools.StorageTool random-uuid)" \
      -c "$conf" >"$run/kafka/format.log" 2>&1
  fi
  log "starting Kafka on 127.0.0.1:9092"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Dlog4j2.configurationFile="$here/log4j2.yaml" \
    -Dkafka.logs.dir="$run/kafka" -cp "$kafka_libs/*" kafka.Kafka "$conf" \
    >"$run/kafka/server.log" 2>&1 &
  echo $! > "$run/kafka.pid"
}

start_ferretdb() {
  mkdir -p "$run/ferretdb/data"
  if alive "$run/ferretdb.pid"; then log "FerretDB already running (pid $(cat "$run/ferretdb.pid"))"; return; fi
  if listening 27017; then log "reusing the MongoDB-wire server already on 127.0.0.1:27017"; return; fi
  build_ferretdb
  log "starting FerretDB on 127.0.0.1:27017"
  # GOGC=400: Go's collector at a quarter the frequency; measured 12.2 -> 9.5-10.0 ms of
  # FerretDB CPU per sequential send, for a few tens of MB more heap.
  GOGC=${FERRETDB_GOGC:-400} nohup "$ferretdb_bin" --listen-addr=127.0.0.1:27017 --sqlite-url="file:$run/ferretdb/data/?_pragma=synchronous(NORMAL)" \
    ${FERRETDB_DEBUG_ADDR:+--debug-addr="$FERRETDB_DEBUG_ADDR"} \
    >"$run/ferretdb/server.log" 2>&1 &
  echo $! > "$run/ferretdb.pid"
}

stop() {
  local name=$1 pidfile=$run/$1.pid
  if alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    log "stopping $name (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

case "${1:-up}" in
  up)
    start_kafka
    start_ferretdb
    "$python" "$here/wait_ready.py" --kafka 127.0.0.1:9092 --mongo mongodb://127.0.0.1:27017/ --timeout 120
    ;;
  down) stop kafka; stop ferretdb ;;
  status)
    for s in kafka ferretdb; do
      if alive "$run/$s.pid"; then echo "$s: running (pid $(cat "$run/$s.pid"))"; else echo "$s: stopped"; fi
    done
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
