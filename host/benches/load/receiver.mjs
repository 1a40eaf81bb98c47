// A vendor for the load runs: a real HTTP server on 127.0.0.1 that answers 200 and counts the
// events of each path (a webhook batch is a JSON array; one event is an object; both are
// counted by their "order_id" keys). With --latency it also records, per event, now minus the
// microsecond send time the event carries ("sent_us").
//
// Prints its port on the first line, then serves until killed; GET /stats answers the counts
// (and latency percentiles in ms) as JSON.
import http from 'node:http'

const latency = process.argv.includes('--latency')
const counts = {}
const latencies = []
const mark = Buffer.from('"order_id"')
const nowMicros = () => Number(process.hrtime.bigint() / 1000n) + offset
// hrtime is monotonic: pinned once to the wall clock the sender stamps with.
const offset = Date.now() * 1000 - Number(process.hrtime.bigint() / 1000n)

function count (body) {
  let n = 0
  for (let at = body.indexOf(mark); at >= 0; at = body.indexOf(mark, at + mark.length)) n++
  return n
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    const stats = { counts }
    if (latencies.length) {
      const ordered = Float64Array.from(latencies).sort()
      const at = (q) => ordered[Math.min(Math.floor(ordered.length * q), ordered.length - 1)] / 1000
      stats.latency_ms = { n: ordered.length, p50: at(0.5), p99: at(0.99), max: at(1) }
    }
    res.end(JSON.stringify(stats))
    return
  }
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const arrived = nowMicros()
    const body = Buffer.concat(chunks)
    counts[req.url] = (counts[req.url] ?? 0) + count(body)
    if (latency) {
      const parsed = JSON.parse(body)
      for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
        if (item.sent_us !== undefined) latencies.push(arrived - Number(item.sent_us))
      }
    }
    res.end('{}')
  })
})
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
