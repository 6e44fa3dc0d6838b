-- @description grym: Settings
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   Where grym runs (host, port, the grym command) and the defaults the actions use: key, compose style,
--   effect style, loudness target, bars, and where the analysis is written. Kept with SetExtState.
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")

local FIELDS = {
  { "host", "Bridge host (empty: from install)" },
  { "port", "Bridge port (empty: from install)" },
  { "grym", "grym command (empty: from install)" },
  { "key", "Key (e.g. A minor; empty: last analysis)" },
  { "compose_style", "Compose style (pop jazz lofi house cinematic trap)" },
  { "fx_style", "FX style (warm bright dark punchy wide airy lofi)" },
  { "target", "Loudness target (streaming club broadcast podcast)" },
  { "bars", "Bars" },
  { "analysis_to", "Write analysis to (none name marker)" },
}
local captions, values = {}, {}
for i, f in ipairs(FIELDS) do
  captions[i] = f[2]
  values[i] = grym.setting(f[1])
end
local ok, answer = reaper.GetUserInputs("grym: settings", #FIELDS, table.concat(captions, ",") .. ",separator=|,extrawidth=200",
  table.concat(values, "|"))
if not ok then return end
local got = {}
for value in (answer .. "|"):gmatch("(.-)|") do got[#got + 1] = value:match("^%s*(.-)%s*$") end
local problems = {}
local checks = {
  port = function(v) return v == "" or (tonumber(v) and tonumber(v) % 1 == 0 and tonumber(v) > 0 and tonumber(v) < 65536) end,
  bars = function(v) return tonumber(v) and tonumber(v) % 1 == 0 and tonumber(v) >= 1 and tonumber(v) <= 256 end,
  analysis_to = function(v) return v == "none" or v == "name" or v == "marker" end,
}
for i, f in ipairs(FIELDS) do
  local check = checks[f[1]]
  if check and not check(got[i] or "") then problems[#problems + 1] = f[2] .. ": " .. tostring(got[i]) end
end
if #problems > 0 then
  reaper.MB("Not saved; these values are not valid:\n" .. table.concat(problems, "\n"), "grym: settings", 0)
  return
end
for i, f in ipairs(FIELDS) do grym.set_setting(f[1], got[i] or "") end
