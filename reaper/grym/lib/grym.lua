-- @noindex
-- The grym actions' shared library: settings, starting `grym call`, following its events
-- in a reaper.defer loop with a progress window that offers cancel, and small REAPER helpers.
--
-- REAPER's Lua has no sockets, so every request goes through `grym call ADDRESS --args-file
-- F.json --out F.jsonl`, started with reaper.ExecProcess(cmd, -2) (no wait): it writes one JSON
-- line per event (sent, queued, progress, done, reply, error) and this library polls the file.
-- The scripts speak only the bridge's public OSC protocol (README, OSC reference).

local grym = {}

local lib_dir = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local json = dofile(lib_dir .. "json.lua")
grym.json = json

local SECTION = "grym"
local START_TIMEOUT_S = 20 -- no event from `grym call` in this long: it did not start
local DEFAULTS = {
  host = "", port = "", key = "", compose_style = "pop", fx_style = "", target = "", bars = "4",
  analysis_to = "none", grym = "",
}

-- settings ------------------------------------------------------------------------------------------

--- The config `grym install reaper` wrote next to the scripts (command, host, port), or {}.
function grym.install_config()
  local candidates = {
    lib_dir .. "../grym_config.lua",
    reaper.GetResourcePath() .. "/Scripts/grym/grym_config.lua",
  }
  for _, path in ipairs(candidates) do
    local chunk = loadfile(path)
    if chunk then
      local ok, config = pcall(chunk)
      if ok and type(config) == "table" then return config end
    end
  end
  return {}
end

--- One setting: the value saved by the Settings action, else the default.
function grym.setting(key)
  local value = reaper.GetExtState(SECTION, key)
  if value == nil or value == "" then return DEFAULTS[key] or "" end
  return value
end

function grym.set_setting(key, value, persist)
  reaper.SetExtState(SECTION, key, tostring(value), persist ~= false)
end

--- The words that start grym, the host and the port (Settings override the install config).
function grym.endpoint()
  local config = grym.install_config()
  local command = config.command
  local exe = grym.setting("grym")
  if exe ~= "" then command = { exe } end
  if type(command) ~= "table" or #command == 0 then command = { "grym" } end
  local host = grym.setting("host")
  if host == "" then host = config.host or "127.0.0.1" end
  local port = tonumber(grym.setting("port")) or tonumber(config.port) or 9130
  return command, host, math.floor(port)
end

-- processes -----------------------------------------------------------------------------------------

local function is_windows()
  return reaper.GetOS():find("Win") ~= nil
end

--- One command-line word, quoted for the platform's shell rules.
function grym.quote(word)
  word = tostring(word)
  if is_windows() then
    return '"' .. word:gsub('(\\*)"', '%1%1\\"'):gsub("(\\+)$", "%1%1") .. '"'
  end
  return "'" .. word:gsub("'", "'\\''") .. "'"
end

local function runs_dir()
  local dir = reaper.GetResourcePath() .. "/Scripts/grym/runs"
  reaper.RecursiveCreateDirectory(dir, 0)
  return dir
end

local counter = 0

--- Start `grym call` in the background; returns the path of its events file.
function grym.start_call(address, args)
  counter = counter + 1
  local stem = string.format("%s/run_%d_%d_%d", runs_dir(), os.time(), math.random(1, 1e9), counter)
  local args_file, out_file = stem .. ".json", stem .. ".jsonl"
  local fh = assert(io.open(args_file, "w"))
  fh:write(json.encode(json.array(args or {})))
  fh:close()
  local command, host, port = grym.endpoint()
  local words = {}
  for _, w in ipairs(command) do words[#words + 1] = grym.quote(w) end
  local cmd = table.concat(words, " ") .. " call " .. grym.quote(address) .. " --args-file " .. grym.quote(args_file)
      .. " --out " .. grym.quote(out_file) .. " --host " .. grym.quote(host) .. " --port " .. port
  reaper.ExecProcess(cmd, -2)
  return out_file, args_file, cmd
end

--- Complete lines of the events file after `seen` lines, decoded.
local function read_events(path, seen)
  local fh = io.open(path, "r")
  if not fh then return {}, seen end
  local text = fh:read("a") or ""
  fh:close()
  local events, n = {}, 0
  for line in text:gmatch("([^\n]*)\n") do
    n = n + 1
    if n > seen and line ~= "" then
      local ok, event = pcall(json.decode, line)
      events[#events + 1] = ok and event or { event = "error", code = "internal", message = "unreadable line: " .. line }
    end
  end
  return events, n
end

-- the progress window -------------------------------------------------------------------------------

local function draw(title, fraction, message)
  gfx.set(0.12, 0.12, 0.12)
  gfx.rect(0, 0, gfx.w, gfx.h, 1)
  gfx.set(0.9, 0.9, 0.9)
  gfx.x, gfx.y = 10, 8
  gfx.drawstr(title)
  gfx.x, gfx.y = 10, 28
  gfx.drawstr(message ~= "" and message or "working")
  gfx.set(0.3, 0.3, 0.3)
  gfx.rect(10, 50, gfx.w - 20, 12, 1)
  gfx.set(0.35, 0.7, 0.45)
  gfx.rect(10, 50, math.floor((gfx.w - 20) * math.max(0, math.min(1, fraction))), 12, 1)
  gfx.set(0.6, 0.6, 0.6)
  gfx.x, gfx.y = 10, 70
  gfx.drawstr("Esc or click: cancel")
  gfx.update()
end

-- running one request -------------------------------------------------------------------------------

--- Show a failure with the server's message (or what to do when grym is not reachable).
function grym.show_error(title, code, message)
  if code == "cancelled" then
    reaper.MB(title .. ": cancelled.", "grym", 0)
    return
  end
  local text = string.format("%s failed (%s):\n\n%s", title, code or "error", message or "")
  reaper.MB(text, "grym", 0)
end

--- Run one request in the background and call back when it ends; never blocks REAPER.
-- opts: title (shown), on_done(result, event), on_error(code, message) (default: show it),
-- window (false: no progress window, for quick requests).
function grym.run(address, args, opts)
  opts = opts or {}
  local title = opts.title or address
  local out_file, args_file, cmd = grym.start_call(address, args)
  local state = { seen = 0, job_id = nil, fraction = 0, message = "starting grym", started = reaper.time_precise(),
                  heard = false, cancel_asked = false, window = opts.window ~= false }
  if state.window then gfx.init("grym: " .. title, 420, 92) end

  local function finish()
    if state.window then gfx.quit() end
    os.remove(out_file)
    os.remove(args_file)
  end

  local function fail(code, message)
    finish()
    if opts.on_error then opts.on_error(code, message) else grym.show_error(title, code, message) end
  end

  local function ask_cancel()
    local answer = reaper.MB("Cancel " .. title .. "?", "grym", 4)
    if answer ~= 6 then
      if state.window then gfx.init("grym: " .. title, 420, 92) end
      return
    end
    state.cancel_asked = true
    if state.job_id then
      grym.start_call("/grym/job/cancel", { state.job_id })
      state.message = "cancelling"
    end
  end

  local function poll()
    local events
    events, state.seen = read_events(out_file, state.seen)
    for _, ev in ipairs(events) do
      state.heard = true
      if ev.event == "queued" then
        state.job_id = ev.job_id
        state.message = "queued"
        if state.cancel_asked then grym.start_call("/grym/job/cancel", { ev.job_id }) end
      elseif ev.event == "progress" then
        state.fraction, state.message = tonumber(ev.fraction) or 0, ev.message or ""
      elseif ev.event == "done" or ev.event == "reply" then
        finish()
        if opts.on_done then opts.on_done(ev.result, ev) end
        return
      elseif ev.event == "error" then
        fail(ev.code, ev.message)
        return
      end
    end
    if not state.heard and reaper.time_precise() - state.started > START_TIMEOUT_S then
      fail("not_started", "grym did not start. The command was:\n" .. cmd .. "\n\nRun `grym install reaper` again, "
        .. "or set the grym path in 'grym: Settings'.")
      return
    end
    if state.window then
      draw(title, state.fraction, state.message)
      local char = gfx.getchar()
      if (char == 27 or char == -1 or gfx.mouse_cap & 1 == 1) and not state.cancel_asked then
        if char == -1 then state.window_closed = true end
        ask_cancel()
      end
    end
    reaper.defer(poll)
  end

  reaper.defer(poll)
end

--- Run requests one after another ({address, args, title}); on_done gets the last result.
function grym.run_sequence(steps, on_done, i)
  i = i or 1
  local step = steps[i]
  grym.run(step[1], step[2], { title = step.title, window = step.window, on_done = function(result, ev)
    if i == #steps then
      if on_done then on_done(result, ev) end
    else
      grym.run_sequence(steps, on_done, i + 1)
    end
  end })
end

-- REAPER helpers ------------------------------------------------------------------------------------

--- The selected item, its active take and the take's audio file; or nil and why.
function grym.selected_take_file()
  local item = reaper.GetSelectedMediaItem(0, 0)
  if not item then return nil, "Select an audio item first." end
  local take = reaper.GetActiveTake(item)
  if not take then return nil, "The selected item has no take." end
  local source = reaper.GetMediaItemTake_Source(take)
  local path = source and reaper.GetMediaSourceFileName(source, "") or ""
  if path == "" then return nil, "The selected item's active take has no audio file (MIDI or empty)." end
  return path, item, take
end

--- The selected take's file, item and take; or nil after telling the user what to select.
function grym.require_selected_take(title)
  local path, item, take = grym.selected_take_file()
  if not path then reaper.MB(item, "grym: " .. title, 0) end
  return path, item, take
end

--- The project's tempo and time signature at the edit cursor.
function grym.tempo_and_meter()
  local cursor = reaper.GetCursorPosition()
  local num, denom, tempo = reaper.TimeMap_GetTimeSigAtTime(0, cursor)
  if not tempo or tempo <= 0 then tempo = reaper.Master_GetTempo() end
  return tempo, string.format("%d/%d", num or 4, denom or 4)
end

--- The track new material goes on: the selected track, else the first one.
function grym.target_track()
  return reaper.GetSelectedTrack(0, 0) or reaper.GetTrack(0, 0)
end

--- Insert a file on `track` at `position` (mode 0 of InsertMedia: the current track, at the cursor).
function grym.insert_at(path, track, position)
  reaper.Undo_BeginBlock()
  if track then reaper.SetOnlyTrackSelected(track) end
  reaper.SetEditCurPos(position, false, false)
  reaper.InsertMedia(path, 0)
  reaper.Undo_EndBlock("grym: insert " .. path:match("[^/\\]*$"), -1)
  reaper.UpdateArrange()
end

--- The key compose uses: the Settings key, else the last analysis's, else none (the bridge's default).
function grym.compose_key()
  local key = grym.setting("key")
  if key == "" then key = reaper.GetExtState(SECTION, "last_key") or "" end
  return key
end

--- Compose `kind` (chords, melody, bass, drums) at the edit cursor in the project's tempo and meter.
function grym.compose_at_cursor(kind)
  local track = grym.target_track()
  if not track then
    reaper.MB("Add a track first: the clip is inserted on the selected track.", "grym", 0)
    return
  end
  local cursor = reaper.GetCursorPosition()
  local tempo, meter = grym.tempo_and_meter()
  local args = { "bars", tonumber(grym.setting("bars")) or 4, "tempo", tempo + 0.0, "time_signature", meter,
                 "style", grym.setting("compose_style") }
  local key = grym.compose_key()
  if key ~= "" and kind ~= "drums" then
    args[#args + 1] = "key"
    args[#args + 1] = key
  end
  grym.run("/grym/compose/" .. kind, args, { title = "compose " .. kind, on_done = function(result)
    grym.insert_at(result.path, track, cursor)
  end })
end

--- Every file a result names under a "path"-like key (renders, clips), in order.
function grym.result_files(result, out)
  out = out or {}
  if type(result) ~= "table" then return out end
  for k, v in pairs(result) do
    if type(v) == "string" and (k == "path" or k == "b_path") and v:match("%.%w+$") then
      out[#out + 1] = v
    elseif type(v) == "table" then
      grym.result_files(v, out)
    end
  end
  return out
end

function grym.fmt(value, pattern, missing)
  if type(value) ~= "number" then return missing or "n/a" end
  return string.format(pattern, value)
end

return grym
