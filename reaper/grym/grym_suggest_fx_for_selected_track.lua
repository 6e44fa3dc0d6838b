-- @description grym: Suggest FX for selected track
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   Suggests an effect chain for the selected track's audio (its selected item, else its first item)
--   with the measured reason for every move; on confirm, adds REAPER's stock plug-ins (ReaEQ, ReaComp,
--   ReaLimit, ReaVerbate, ReaDelay, JS Volume Adjustment) with their parameters set.
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")
local fx = dofile(dir .. "lib/fx.lua")

local track = reaper.GetSelectedTrack(0, 0)
if not track then
  reaper.MB("Select a track first.", "grym: suggest FX", 0)
  return
end

-- The track's audio: its selected item, else its first item with an audio file.
local function track_audio()
  local first
  for i = 0, reaper.CountTrackMediaItems(track) - 1 do
    local item = reaper.GetTrackMediaItem(track, i)
    local take = reaper.GetActiveTake(item)
    local source = take and reaper.GetMediaItemTake_Source(take)
    local path = source and reaper.GetMediaSourceFileName(source, "") or ""
    if path ~= "" then
      if reaper.IsMediaItemSelected(item) then return path end
      first = first or path
    end
  end
  return first
end

local path = track_audio()
if not path then
  reaper.MB("The selected track has no audio item: grym suggests effects from the track's audio.", "grym: suggest FX", 0)
  return
end

local args = { path, "map", "reaper" }
for _, opt in ipairs({ { "style", "fx_style" }, { "target", "target" } }) do
  local value = grym.setting(opt[2])
  if value ~= "" then
    args[#args + 1] = opt[1]
    args[#args + 1] = value
  end
end

grym.run("/grym/fx/suggest", args, { title = "suggest FX", on_done = function(result)
  local lines = { "Why:" }
  for _, reason in ipairs(result.reasons or {}) do lines[#lines + 1] = "- " .. reason.message end
  local devices = {}
  for _, d in ipairs((result.daw or {}).devices or {}) do
    if d.device then devices[#devices + 1] = d.device end
  end
  if #devices == 0 then
    lines[#lines + 1] = "\nNothing to add: the clip needs no stock REAPER plug-in."
    reaper.MB(table.concat(lines, "\n"), "grym: suggested FX", 0)
    return
  end
  lines[#lines + 1] = "\nAdd to the track: " .. table.concat(devices, ", ") .. "?"
  if reaper.MB(table.concat(lines, "\n"), "grym: suggested FX", 4) ~= 6 then return end
  local report = fx.apply(track, result.daw)
  reaper.ShowConsoleMsg("grym: added to the track\n" .. table.concat(report, "\n") .. "\n")
end })
