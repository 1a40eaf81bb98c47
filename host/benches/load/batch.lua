-- wrk script: POST /v1/batch with the body in $SWITCHYARD_BODY (100 events), each request's
-- events stamped with a client timestamp that moves on per request, as a real client's clock
-- does (the de-duplication key includes it). $SWITCHYARD_AUTH is the Authorization header.
local body = assert(io.open(os.getenv("SWITCHYARD_BODY"))):read("*a")
local auth = os.getenv("SWITCHYARD_AUTH")
local sent = 0

request = function()
  sent = sent + 1
  local stamp = os.date("!%Y-%m-%dT%H:%M:%S", os.time()) .. string.format(".%03dZ", sent % 1000)
  local stamped = string.gsub(body, "CLIENT_TIMESTAMP", stamp)
  return wrk.format("POST", "/v1/batch", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = auth,
  }, stamped)
end
