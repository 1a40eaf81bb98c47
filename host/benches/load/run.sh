#!/usr/bin/env bash
# External load runs against a real `switchyard serve` (release build) over real sockets, with
# a real HTTP receiver (receiver.mjs, Node's http) as the vendor. Loopback only, bounded in time.
#
#   host/benches/load/run.sh ingest  [SECONDS]  # durable ingest: wrk posting /v1/batch of 100 1.6 KB events, no destination
#   host/benches/load/run.sh e2e     [SECONDS]  # the same, one batched webhook subscription delivering to the receiver
#   host/benches/load/run.sh fanout  [SECONDS]  # the same, five batched webhook destinations
#   host/benches/load/run.sh latency [SECONDS]  # 1,000 events/s (paced.py), one unbatched webhook: ingest -> arrival
#
# Needs wrk (apt-get install wrk), node and python3. SWITCHYARD_LOAD_KEEP=1 keeps the run's folder
# (configuration, data, the server's log). Prints events/s accepted and delivered, what was
# behind when the load stopped and how long it took to catch up, the server's bytes written to
# disk per accepted event (/proc/PID/io) against the event's size, and for latency p50/p99.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
what=${1:?"ingest, e2e, fanout or latency"}
case "$what" in
  ingest | e2e) seconds=${2:-60} ;;
  fanout | latency) seconds=${2:-30} ;;
  *) echo "unknown run $what: ingest, e2e, fanout or latency" >&2; exit 2 ;;
esac
if [ "$what" != latency ] && ! command -v wrk > /dev/null; then
  echo "wrk is missing: apt-get install wrk" >&2
  exit 2
fi
(cd "$root" && cargo build --release --quiet -p switchyard)
bin=${CARGO_TARGET_DIR:-$root/target}/release/switchyard

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  if [ -n "${SWITCHYARD_LOAD_KEEP:-}" ]; then
    echo "kept: $work (the server's log is server.err)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# The vendor.
latency_flag=""
[ "$what" = latency ] && latency_flag="--latency"
node "$here/receiver.mjs" $latency_flag > "$work/receiver.out" &
pids+=($!)
until [ -s "$work/receiver.out" ]; do sleep 0.1; done
vendor="http://127.0.0.1:$(head -1 "$work/receiver.out")"

# The configuration: one source, and the destinations of this run.
destinations=0
case "$what" in
  e2e) destinations=1 ;;
  fanout) destinations=5 ;;
esac
{
  cat << TOML
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
admin_token = "load-run-token-0123456789"
data_dir = "$work/data"

[[sources]]
name = "app"
write_key = "key-123"
TOML
  for ((d = 0; d < destinations; d++)); do
    cat << TOML

[[destinations]]
name = "d$d"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
redirect_outbound = "$vendor"
  [destinations.delivery]
  batch_wait_ms = 50
  [[destinations.subscriptions]]
  name = "Orders"
  action = "send"
  trigger = 'type = "track"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/d$d"
    data = { "@path" = "\$.properties" }
    enable_batching = true
    batch_size = 1000
TOML
  done
  if [ "$what" = latency ]; then
    cat << TOML

[[destinations]]
name = "d0"
plugin = "webhook"
allowed_hosts = ["https://hooks.example"]
redirect_outbound = "$vendor"
  [[destinations.subscriptions]]
  name = "Orders"
  action = "send"
  trigger = 'type = "track"'
    [destinations.subscriptions.mapping]
    url = "https://hooks.example/d0"
    data = { "@path" = "\$.properties" }
TOML
  fi
} > "$work/switchyard.toml"

"$bin" serve --config "$work/switchyard.toml" > "$work/server.out" 2> "$work/server.err" &
server=$!
pids+=($server)
for _ in $(seq 600); do
  grep -q "admin API" "$work/server.out" 2> /dev/null && break
  sleep 0.1
done
ingest=$(grep -o "ingest API *http://[0-9.:]*" "$work/server.out" | grep -o "http://.*")
[ -n "$ingest" ] || { cat "$work/server.err" >&2; exit 1; }

written() { awk '/^write_bytes/ {print $2}' "/proc/$server/io"; }
counts() { curl -s "$vendor/stats"; }
delivered_min() {
  counts | python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; n=int(sys.argv[1]); print(min([c.get(f"/d{d}",0) for d in range(n)] or [0]))' "$1"
}

# The body: 100 realistic events that differ as a shop's do (users, devices, orders, products,
# amounts, pages; random ids do not compress), without messageId (the server gives each one),
# the client timestamp stamped per request by batch.lua.
python3 - "$root/host/benches/data/track-order-completed.json" > "$work/body.json" << 'PY'
import json, random, sys
event = json.load(open(sys.argv[1]))
event.pop("messageId", None)
event["timestamp"] = "CLIENT_TIMESTAMP"
draw = random.Random(7)
hexs = lambda n: "".join(draw.choice("0123456789abcdef") for _ in range(n))
batch = []
for i in range(100):
    e = json.loads(json.dumps(event))
    e["event"] = draw.choice(["Order Completed", "Product Viewed", "Checkout Started", "Cart Viewed", "Product Added", "Trip Booked"])
    e["userId"] = "user-" + hexs(10)
    e["anonymousId"] = f"{hexs(8)}-{hexs(4)}-{hexs(12)}"
    p = e["properties"]
    p.update(order_id=hexs(24), total=draw.randrange(50000) / 100, revenue=draw.randrange(45000) / 100,
             quantity=draw.randrange(1, 6), coupon=draw.choice(["", "hasbros", "WINTER10"]), bench=f"b-{i}")
    for product in p["products"]:
        product.update(productId=hexs(24), sku=f"{draw.randrange(99999)}-{draw.randrange(99)}",
                       name=draw.choice(["Catan", "Azul", "Dixit", "Uno Card Game", "Splendor"]),
                       price=draw.randrange(9000) / 100)
    c = e["context"]
    c["ip"] = ".".join(str(draw.randrange(1, 255)) for _ in range(4))
    c["page"]["path"] = draw.choice(["/checkout", "/cart", "/pricing", "/"])
    c["device"]["id"] = hexs(32).upper()
    batch.append(e)
print(json.dumps({"batch": batch, "sentAt": "2026-12-03T12:00:00.000Z"}))
PY
event_size=$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["batch"]; print(sum(len(json.dumps(e, separators=(",", ":"))) for e in b) // len(b))' "$work/body.json")

before=$(written)
if [ "$what" = latency ]; then
  sent=$(python3 "$here/paced.py" "$ingest" key-123 1000 "$seconds")
  for _ in $(seq 300); do
    [ "$(delivered_min 1)" -ge "$sent" ] && break
    sleep 0.1
  done
  echo "latency, $sent events at 1,000/s for $seconds s, one unbatched webhook: $(counts)"
  exit 0
fi

SWITCHYARD_BODY="$work/body.json" SWITCHYARD_AUTH="Basic $(printf 'key-123:' | base64)" \
  wrk -t2 -c8 -d"${seconds}s" -s "$here/batch.lua" "$ingest" > "$work/wrk.out"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
refused=$(awk '/Non-2xx/ {print $5}' "$work/wrk.out")
accepted=$(( (requests - ${refused:-0}) * 100 ))
echo "$what for $seconds s (wrk -t2 -c8, /v1/batch of 100 events of $event_size bytes):"
echo "  ingest: $accepted events accepted, $(( accepted / seconds )) events/s; answers other than 200: ${refused:-0}"
if [ "$destinations" -gt 0 ]; then
  during=$(delivered_min "$destinations")
  echo "  delivered while the load ran, slowest destination: $(( during / seconds )) events/s ($(( 100 * during / accepted )) % of ingest); behind at the end: $(( accepted - during ))"
  start=$(date +%s.%N)
  for _ in $(seq 3000); do
    [ "$(delivered_min "$destinations")" -ge "$accepted" ] && break
    sleep 0.1
  done
  echo "  caught up $(python3 -c "import sys; print(round($(date +%s.%N) - $start, 1))") s after the load stopped: $(counts)"
fi
after=$(written)
echo "  disk writes: $(( (after - before) / accepted )) bytes per accepted event ($(python3 -c "print(round(($after - $before) / $accepted / $event_size, 2))") times the event's size)"
