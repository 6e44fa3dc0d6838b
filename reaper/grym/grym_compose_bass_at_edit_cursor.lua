-- @description grym: Compose bass at edit cursor
-- @author grym-bridge developers
-- @version 0.1.0
-- @about
--   Composes bass as a MIDI clip in the project's tempo and time signature (key from Settings or the
--   last analysis; bars and style from Settings) and inserts it on the selected track at the edit
--   cursor.
-- @noindex

local dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local grym = dofile(dir .. "lib/grym.lua")

grym.compose_at_cursor("bass")
