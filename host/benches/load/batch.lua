-- wrk script: POST /v1/batch with the body in $SWITCHYARD_BODY (100 events), each request's
-- events stamped with a client timestamp that moves on per request, as a real client's clock
-- does (the de-duplication key includes it). $SWITCHYARD_AUTH is the Authorization header.
-- The body is split at its placeholders once, and each request joins the pieces with its
-- stamp (a pattern substitution over 160 KB per request took most of a core from the server).
local body = assert(io.open(os.getenv("SWITCHYARD_BODY"))):read("*a")
local auth = os.getenv("SWITCHYARD_AUTH")
local pieces = {}
local at = 1
while true do
  local from, to = string.find(body, "CLIENT_TIMESTAMP", at, true)
  if not from then break end
  table.insert(pieces, string.sub(body, at, from - 1))
  at = to + 1
end
table.insert(pieces, string.sub(body, at))
local sent = 0

request = function()
  sent = sent + 1
  local stamp = os.date("!%Y-%m-%dT%H:%M:%S", os.time()) .. string.format(".%03dZ", sent % 1000)
  return wrk.format("POST", "/v1/batch", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = auth,
  }, table.concat(pieces, stamp))
end
