"""Sends track events at a steady rate to a running Switchyard: 10 events per /v1/batch
request, requests spaced evenly, each event carrying its send time in microseconds
(properties.sent_us). Usage: paced.py URL WRITE_KEY EVENTS_PER_SECOND SECONDS."""

import base64
import http.client
import json
import sys
import time
import urllib.parse

url, key, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
parts = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(parts.hostname, parts.port)
auth = "Basic " + base64.b64encode((key + ":").encode()).decode()
per = 10
every = per / rate
start = time.monotonic()
sent = 0
while time.monotonic() - start < seconds:
    due = start + (sent // per) * every
    pause = due - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    now_us = time.time_ns() // 1000
    batch = [{"type": "track", "event": "Order Completed", "userId": f"u{(sent + i) % 100}",
              "properties": {"order_id": f"o-{sent + i}", "sent_us": now_us}}
             for i in range(per)]
    conn.request("POST", "/v1/batch", json.dumps({"batch": batch}),
                 {"Content-Type": "application/json", "Authorization": auth})
    answer = conn.getresponse()
    answer.read()
    if answer.status != 200:
        sys.exit(f"ingest answered {answer.status}")
    sent += per
print(sent)
