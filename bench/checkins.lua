-- wrk script: POST /v1/checkins with BATCH unique events per request (env: BATCH, ENV, TOKEN).
-- Every event id and device id is unique, so each event is a new durable job (the worst case for ingest).
local batch = tonumber(os.getenv("BATCH") or "1")
local env = os.getenv("ENV") or "bench"
local token = os.getenv("TOKEN")
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
  run = os.time()
end

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, batch do
    local id = run .. "-" .. tid .. "-" .. counter .. "-" .. i
    parts[i] = '{"eventId":"' .. id .. '","environmentId":"' .. env .. '","deviceId":"d-' .. id ..
               '","occurredAt":"2026-11-29T07:00:00Z","lockerId":"locker-1"}'
  end
  local body
  if batch == 1 then body = parts[1] else body = '{"events":[' .. table.concat(parts, ",") .. ']}' end
  return wrk.format(nil, "/v1/checkins", nil, body)
end

function response(status, headers, body)
  if status ~= 202 then
    io.stderr:write("status " .. status .. " " .. body .. "\n")
  end
end
