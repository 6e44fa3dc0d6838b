-- @description grym: Render suggestion as new take
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   Suggests a chain for the selected item, renders it with grym and adds the render and its loudness-
--   matched copy to the item as two new takes: compare them with the original (A/B) by switching takes.
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")

local path, item = grym.require_selected_take("render suggestion")
if not path then return end

local function add_take(file, name)
  reaper.SelectAllMediaItems(0, false)
  reaper.SetMediaItemSelected(item, true)
  reaper.InsertMedia(file, 3) -- 3: add to the selected items as a new take
  local take = reaper.GetActiveTake(item)
  if take then reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", name, true) end
end

local args = { path }
local style = grym.setting("fx_style")
if style ~= "" then
  args[#args + 1] = "style"
  args[#args + 1] = style
end

grym.run("/grym/fx/suggest", args, { title = "suggest FX", on_done = function(suggestion)
  local chain = grym.json.encode({ chain = suggestion.chain, mix = 1.0 })
  grym.run("/grym/fx/render", { path, chain, "ab", 1 }, { title = "render", on_done = function(result)
    reaper.Undo_BeginBlock()
    add_take(result.path, "grym render")
    if result.ab and result.ab.b_path then
      add_take(result.ab.b_path, string.format("grym B (loudness-matched, %+.1f dB)", result.ab.gain_db or 0))
    end
    reaper.Undo_EndBlock("grym: render suggestion as new takes", -1)
    reaper.UpdateArrange()
  end })
end })
