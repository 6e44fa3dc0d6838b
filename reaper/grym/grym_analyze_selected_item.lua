-- @description grym: Analyze selected item
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   Key, tempo, loudness (LUFS) and true peak of the selected item's active take, shown and optionally
--   written to the take name or a take marker (Settings).
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")

local path, _, take = grym.require_selected_take("analyze")
if not path then return end

local function summary(a)
  local key = a.key and string.format("%s (confidence %.2f)", a.key, a.key_confidence or 0) or "not detected"
  local tempo = a.tempo_bpm and string.format("%.1f BPM (confidence %.2f)", a.tempo_bpm, a.tempo_confidence or 0)
      or "not detected"
  return table.concat({
    "Key: " .. key,
    "Tempo: " .. tempo,
    "Loudness: " .. grym.fmt(a.lufs_integrated, "%.1f LUFS integrated", "silent"),
    "True peak: " .. grym.fmt(a.true_peak_dbtp, "%.1f dBTP", "silent"),
  }, "\n")
end

local function short(a)
  local parts = {}
  if a.key then parts[#parts + 1] = a.key end
  if a.tempo_bpm then parts[#parts + 1] = string.format("%.0f BPM", a.tempo_bpm) end
  if a.lufs_integrated then parts[#parts + 1] = string.format("%.1f LUFS", a.lufs_integrated) end
  if a.true_peak_dbtp then parts[#parts + 1] = string.format("%.1f dBTP", a.true_peak_dbtp) end
  return table.concat(parts, ", ")
end

grym.run("/grym/analyze/file", { path }, { title = "analyze " .. path:match("[^/\\]*$"), on_done = function(a)
  if a.key then reaper.SetExtState("grym", "last_key", a.key, true) end
  local text = summary(a)
  local where = grym.setting("analysis_to")
  if where == "name" then
    local _, name = reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "", false)
    reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", (name ~= "" and name .. " " or "") .. "[" .. short(a) .. "]", true)
    text = text .. "\n\nWritten to the take name."
  elseif where == "marker" then
    local offset = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS")
    reaper.SetTakeMarker(take, -1, "grym: " .. short(a), offset)
    text = text .. "\n\nWritten to a take marker."
  end
  reaper.UpdateArrange()
  reaper.MB(text, "grym: " .. path:match("[^/\\]*$"), 0)
end })
