-- @description grym: Sync project to grym
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   Tells grym the project's tempo, time signature, sample rate, name and key (from Settings), so
--   generation and composition fit the session.
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")

local tempo, meter = grym.tempo_and_meter()
local rate = reaper.GetSetProjectInfo(0, "PROJECT_SRATE", 0, false)
local name = reaper.GetProjectName(0, "")
local steps = {
  { "/grym/session/set", { "tempo", string.format("%.3f", tempo) }, title = "sync tempo", window = false },
  { "/grym/session/set", { "time_signature", meter }, title = "sync time signature", window = false },
  { "/grym/session/set", { "project", name }, title = "sync project", window = false },
}
if rate and rate > 0 then
  steps[#steps + 1] = { "/grym/session/set", { "sample_rate", string.format("%d", rate) }, title = "sync rate", window = false }
end
local key = grym.setting("key")
if key ~= "" then steps[#steps + 1] = { "/grym/session/set", { "key", key }, title = "sync key", window = false } end
grym.run_sequence(steps, function()
  local summary = string.format("%.2f BPM, %s", tempo, meter)
  if rate and rate > 0 then summary = summary .. string.format(", %d Hz", rate) end
  if key ~= "" then summary = summary .. ", " .. key end
  reaper.MB("grym now works in " .. summary .. (name ~= "" and (" (" .. name .. ")") or "") .. ".", "grym: sync", 0)
end)
