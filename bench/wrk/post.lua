-- POST to the URL's path (/comments, /b/<slug>/comments) as a browser would, each request with
-- distinct content.
-- Arguments after `--`: csrf token, session cookie ("session=..."), "htmx" or "plain", a run nonce.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local headers, prefix
local counter = 0

init = function(args)
  local token, cookie, mode, nonce = args[1], args[2], args[3], args[4]
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }
  if mode == "htmx" then
    headers["HX-Request"] = "true"
  end
  prefix = "csrf_token=" .. token .. "&author=wrk&content=Benchmark+comment+" .. mode .. "+" ..
    nonce .. "+" .. tostring(thread_id) .. "+"
end

request = function()
  counter = counter + 1
  return wrk.format("POST", nil, headers, prefix .. counter)
end
