-- @description grym: Ask
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   A request in words ("make this loop darker and wider", "give me chords for this in the same key"),
--   about the selected item when one is selected; shows what grym did and offers to insert what it made.
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")

local INSERTABLE = { wav = true, flac = true, aif = true, aiff = true, ogg = true, mp3 = true, mid = true, midi = true }

local ok, text = reaper.GetUserInputs("grym: ask", 1, "What should grym do?,extrawidth=300", grym.setting("last_ask"))
if not ok or text:match("^%s*$") then return end
grym.set_setting("last_ask", text)
local path = grym.selected_take_file()
local track = grym.target_track()
local cursor = reaper.GetCursorPosition()
grym.run("/grym/ask", { text, path or "" }, { title = "ask", on_done = function(result)
  local made = {}
  for _, file in ipairs(grym.result_files(result.result)) do
    local ext = (file:match("%.(%w+)$") or ""):lower()
    if file ~= path and INSERTABLE[ext] then made[#made + 1] = file end
  end
  local message = result.explanation or "Done."
  if #made == 0 or not track then
    reaper.MB(message, "grym: ask", 0)
    return
  end
  if reaper.MB(message .. "\n\nInsert " .. made[1]:match("[^/\\]*$") .. " at the edit cursor?", "grym: ask", 4) == 6 then
    grym.insert_at(made[1], track, cursor)
  end
end })
