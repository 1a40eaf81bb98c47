"""A vendor for the load runs: a real HTTP server on 127.0.0.1 that answers 200 and counts the
events of each path (a webhook batch is a JSON array; one event is an object). With --latency
it also records, per event, now minus the microsecond send time the event carries
(properties.sent_us, mapped to "sent_us").

Prints its port on the first line, then serves until killed; GET /stats answers the counts
(and latency percentiles) as JSON.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
latencies = []
lock = threading.Lock()
MARK = b'"order_id"'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        with lock:
            stats = {"counts": dict(counts)}
            if latencies:
                ordered = sorted(latencies)
                at = lambda q: ordered[min(int(len(ordered) * q), len(ordered) - 1)] / 1000.0
                stats["latency_ms"] = {"n": len(ordered), "p50": at(0.5), "p99": at(0.99),
                                       "max": ordered[-1] / 1000.0}
        body = json.dumps(stats).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        now_us = time.time_ns() // 1000
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if "--latency" in sys.argv:
            items = json.loads(body)
            items = items if isinstance(items, list) else [items]
            with lock:
                for item in items:
                    if "sent_us" in item:
                        latencies.append(now_us - int(item["sent_us"]))
                counts[self.path] = counts.get(self.path, 0) + len(items)
        else:
            n = body.count(MARK)
            with lock:
                counts[self.path] = counts.get(self.path, 0) + n
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
