-- GET with the headers given on wrk's command line (-H); only adds the JSON report.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")
