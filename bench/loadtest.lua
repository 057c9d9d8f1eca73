-- wrk script of bench/loadtest.py: every connection walks the list of public URLs.
--
--   wrk -s bench/loadtest.lua http://127.0.0.1:PORT -- urls.txt
--
-- urls.txt has one request a line, "<Accept-Language>\t<path>"; each thread starts at its own
-- place in the list. Every status code is counted (wrk itself only counts "non-2xx or 3xx"),
-- and done() prints wrk's totals, latency percentiles and the status counts after wrk's own
-- summary, as "loadtest <key> <value>" lines for loadtest.py to read.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  statuses = {}
  for line in io.lines(args[1]) do
    local language, path = line:match("^([^\t]*)\t(.+)$")
    if path then
      local headers = {}
      if language ~= "" then
        headers["Accept-Language"] = language
      end
      table.insert(requests, wrk.format("GET", path, headers))
    end
  end
  -- spread the threads over the list
  position = (id * 7919) % #requests
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    for key, count in pairs(seen) do
      counts[key] = (counts[key] or 0) + count
    end
  end
  local function put(key, value)
    io.write("loadtest ", key, " ", tostring(value), "\n")
  end
  put("requests", summary.requests)
  put("duration_us", summary.duration)
  put("bytes", summary.bytes)
  put("errors_connect", summary.errors.connect)
  put("errors_read", summary.errors.read)
  put("errors_write", summary.errors.write)
  put("errors_status", summary.errors.status)
  put("errors_timeout", summary.errors.timeout)
  for _, p in ipairs({50, 90, 99, 99.9}) do
    put("latency_p" .. p .. "_us", latency:percentile(p))
  end
  put("latency_mean_us", latency.mean)
  put("latency_max_us", latency.max)
  for key, count in pairs(counts) do
    put("status_" .. key, count)
  end
end
