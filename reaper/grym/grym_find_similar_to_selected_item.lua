-- @description grym: Find similar to selected item
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   Finds the clips in grym's feature memory that sound most like the selected item, lists them, and
--   offers to insert the closest one at the edit cursor.
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")

local path = grym.require_selected_take("find similar")
if not path then return end
local track = grym.target_track()
local cursor = reaper.GetCursorPosition()
grym.run("/grym/memory/similar", { path, "k", 10 }, { title = "find similar", on_done = function(matches)
  local lines = {}
  for i, m in ipairs(matches or {}) do
    if m.path ~= path then lines[#lines + 1] = string.format("%d. %.3f  %s", i, m.score or 0, m.path) end
  end
  if #lines == 0 then
    reaper.MB("grym remembers no other clip yet: analyze or add some first (grym memory add FOLDER).",
      "grym: find similar", 0)
    return
  end
  reaper.ShowConsoleMsg("grym: clips like " .. path .. "\n" .. table.concat(lines, "\n") .. "\n")
  local best = lines[1]:match("%S+%s+%S+%s+(.*)$")
  if reaper.MB(table.concat(lines, "\n") .. "\n\nInsert the closest at the edit cursor?", "grym: find similar", 4) == 6 then
    grym.insert_at(best, track, cursor)
  end
end })
