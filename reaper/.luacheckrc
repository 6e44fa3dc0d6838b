-- luacheck over the grym ReaScripts, their library and the test runner.
-- REAPER provides `reaper` and `gfx` to every ReaScript (read only: scripts never replace them);
-- the stand-in (tests/reaper_standin.lua) is the one place that defines them.
std = "lua53"
max_line_length = 130
read_globals = { "reaper", gfx = { fields = { x = { read_only = false }, y = { read_only = false } }, other_fields = true } }

files["tests/reaper_standin.lua"] = { globals = { "reaper", "gfx" } }
