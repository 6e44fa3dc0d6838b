-- @description grym: Generate at edit cursor
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   Generates audio from a prompt (AudioLDM / AudioLDM 2) as whole bars in the project's tempo and time
--   signature, and inserts it on the selected track at the edit cursor.
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")

local track = grym.target_track()
if not track then
  reaper.MB("Add a track first: the clip is inserted on the selected track.", "grym: generate", 0)
  return
end
local last = grym.setting("last_prompt")
local ok, answer = reaper.GetUserInputs("grym: generate", 2, "Prompt,Bars (0: an 8 s one-shot),separator=|,extrawidth=200",
  (last ~= "" and last or "warm analog pad") .. "|" .. grym.setting("bars"))
if not ok then return end
local prompt, bars = answer:match("^(.-)|(.*)$")
bars = tonumber(bars)
if not prompt or prompt:match("^%s*$") or not bars or bars < 0 or bars % 1 ~= 0 then
  reaper.MB("Give a prompt and a whole number of bars (0 for a one-shot).", "grym: generate", 0)
  return
end
grym.set_setting("last_prompt", prompt)
local cursor = reaper.GetCursorPosition()
local tempo, meter = grym.tempo_and_meter()
grym.run_sequence({
  { "/grym/session/set", { "time_signature", meter }, title = "sync meter", window = false },
  { "/grym/generate/text", { prompt, "bars", math.floor(bars), "tempo", tempo + 0.0 }, title = "generate" },
}, function(result)
  local file = result.files and result.files[1]
  if file then grym.insert_at(file.path, track, cursor) end
end)
