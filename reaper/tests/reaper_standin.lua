-- A STAND-IN FOR REAPER, for running the grym actions under plain lua5.4 / lua5.3 in tests.
--
-- It stands in for REAPER's ReaScript API (the global `reaper` table) and its gfx window API
-- (the global `gfx` table), as documented at https://www.reaper.fm/sdk/reascript/reascripthelp.html.
-- It models only the calls the grym actions use, with the documented arguments and return
-- values, on a small in-memory project (tracks, items, takes, take markers, FX with parameters,
-- ExtState). It is not REAPER: dialogs answer from scripted replies, the defer loop is driven by
-- the test runner, and the stock plug-ins' parameter curves are plausible stand-ins for REAPER's
-- own (their names and display units follow REAPER's, the exact curves need a real REAPER).
-- ExecProcess is real: it runs the command through the shell, so `grym call` really talks to a
-- real `grym serve`.

local standin = {}

local function log_curve(min, max)
  return function(n) return min * (max / min) ^ n end
end
local function lin_curve(min, max)
  return function(n) return min + (max - min) * n end
end
local function db_amp_curve(min_db, max_db) -- amplitude-linear knob shown in dB (REAPER's gain knobs)
  local lo, hi = 10 ^ (min_db / 20), 10 ^ (max_db / 20)
  return function(n)
    local amp = lo + (hi - lo) * n
    return 20 * math.log(amp, 10)
  end
end

local function param(name, curve, fmt, default)
  return { name = name, curve = curve, fmt = fmt, default = default or 0.5 }
end

-- Stock plug-ins: REAPER's names; parameter curves are stand-ins (see above).
local function catalog()
  local freq = function(v) return v >= 1000 and string.format("%.3fk", v / 1000) or string.format("%.1f", v) end
  local db = function(v) return v == -math.huge and "-inf" or string.format("%.1f dB", v) end
  local plain = function(unit) return function(v) return string.format("%.2f%s", v, unit) end end
  local reaeq = { full = "VST: ReaEQ (Cockos)", params = {}, config = {} }
  local names = { "Low Shelf", "Band", "Band 2", "High Shelf" }
  for b, n in ipairs(names) do
    table.insert(reaeq.params, param("Freq-" .. n, log_curve(20, 24000), freq))
    table.insert(reaeq.params, param("Gain-" .. n, lin_curve(-24, 24), db))
    table.insert(reaeq.params, param("BW-" .. n, lin_curve(0.01, 4), plain(" oct")))
    reaeq.config["BANDTYPE" .. (b - 1)] = ({ "0", "8", "8", "1" })[b]
    reaeq.config["BANDENABLED" .. (b - 1)] = "1"
  end
  table.insert(reaeq.params, param("Gain", lin_curve(-24, 24), db))
  return {
    ["ReaEQ (Cockos)"] = reaeq,
    ["ReaComp (Cockos)"] = { full = "VST: ReaComp (Cockos)", params = {
      param("Thresh", db_amp_curve(-60, 0), db), param("Ratio", log_curve(1, 100), plain(":1")),
      param("Attack", lin_curve(0, 500), plain(" ms")), param("Release", lin_curve(0, 5000), plain(" ms")),
      param("Pre-comp", lin_curve(0, 250), plain(" ms")) } },
    ["ReaLimit (Cockos)"] = { full = "VST: ReaLimit (Cockos)", params = {
      param("Threshold", lin_curve(-60, 0), db), param("Ceiling", lin_curve(-20, 0), db),
      param("Release", lin_curve(0, 1000), plain(" ms")), param("True peak", lin_curve(0, 1), plain("")) } },
    ["ReaVerbate (Cockos)"] = { full = "VST: ReaVerbate (Cockos)", params = {
      param("Wet", db_amp_curve(-90, 12), db), param("Dry", db_amp_curve(-90, 12), db),
      param("Room size", lin_curve(0, 1), plain("")), param("Dampening", lin_curve(0, 1), plain("")),
      param("Stereo Width", lin_curve(0, 1), plain("")) } },
    ["ReaDelay (Cockos)"] = { full = "VST: ReaDelay (Cockos)", params = {
      param("Wet", db_amp_curve(-90, 12), db), param("Dry", db_amp_curve(-90, 12), db),
      param("1: Length (time)", lin_curve(0, 4000), plain(" ms")), param("1: Feedback", db_amp_curve(-90, 6), db) } },
    ["JS: Volume Adjustment"] = { full = "JS: Volume Adjustment", params = {
      param("Adjustment (dB)", lin_curve(-150, 24), plain(" dB")),
      param("Max Volume (dB)", lin_curve(-150, 24), plain(" dB")) } },
  }
end

--- A fresh stand-in: installs the globals `reaper` and `gfx`; returns the world to script and inspect.
function standin.new(opts)
  opts = opts or {}
  local world = {
    resource = opts.resource, os = opts.os or "Other", tempo = opts.tempo or 120.0,
    timesig = opts.timesig or { 4, 4 }, cursor = opts.cursor or 0.0, srate = opts.srate or 48000,
    project_name = opts.project_name or "test.RPP",
    tracks = {}, extstate = {}, messages = {}, console = {}, inserted = {}, processes = {},
    mb_answers = {}, inputs = {}, deferred = {}, gfx_log = {}, undo = {},
    cancel_when = nil, -- function(world) -> true to "press Esc" in the progress window
  }
  local plugins = catalog()
  local clock0 = os.time()
  local tick = 0.0

  function world.add_track(name)
    local track = { kind = "track", name = name or "", items = {}, fx = {}, width = 1.0, selected = false }
    world.tracks[#world.tracks + 1] = track
    return track
  end

  function world.add_item(track, file, position, length)
    local item = { kind = "item", track = track, position = position or 0, length = length or 1,
                   takes = {}, active = 0, selected = false }
    local take = { kind = "take", item = item, name = file and file:match("[^/]*$") or "", markers = {},
                   source = { file = file or "" }, startoffs = 0 }
    item.takes[1], item.active = take, 1
    track.items[#track.items + 1] = item
    return item, take
  end

  local function selected_tracks()
    local out = {}
    for _, t in ipairs(world.tracks) do if t.selected then out[#out + 1] = t end end
    return out
  end
  local function selected_items()
    local out = {}
    for _, t in ipairs(world.tracks) do
      for _, it in ipairs(t.items) do if it.selected then out[#out + 1] = it end end
    end
    return out
  end

  local r = {}
  -- resources, OS, time
  function r.GetResourcePath() return world.resource end
  function r.GetOS() return world.os end
  function r.GetAppVersion() return "7.0/standin" end
  function r.time_precise() tick = tick + 0.001; return os.time() - clock0 + tick end
  function r.RecursiveCreateDirectory(path) os.execute("mkdir -p '" .. path:gsub("'", "'\\''") .. "'"); return 1 end
  -- processes: REAPER's ExecProcess(cmd, timeoutmsec); -1/-2 start without waiting and return ""
  function r.ExecProcess(cmd, timeout)
    world.processes[#world.processes + 1] = cmd
    if timeout == -1 or timeout == -2 then
      os.execute(cmd .. " >/dev/null 2>&1 &")
      return ""
    end
    local fh = io.popen(cmd .. " 2>&1")
    local out = fh:read("a")
    local _, _, code = fh:close()
    return tostring(code or 0) .. "\n" .. out
  end
  -- the defer loop: the runner calls world.run_deferred
  function r.defer(fn) world.deferred[#world.deferred + 1] = fn end
  function r.atexit(fn) world.atexit = fn end
  -- dialogs
  function r.MB(text, title, kind)
    world.messages[#world.messages + 1] = { text = text, title = title, kind = kind }
    local answer = table.remove(world.mb_answers, 1)
    if answer then return answer end
    return (kind == 4 or kind == 3) and 7 or 1 -- unscripted yes/no questions: "no"
  end
  r.ShowMessageBox = r.MB
  function r.ShowConsoleMsg(text) world.console[#world.console + 1] = text end
  function r.ClearConsole() world.console = {} end
  function r.GetUserInputs(title, n, captions, defaults)
    world.last_inputs = { title = title, n = n, captions = captions, defaults = defaults }
    local answer = table.remove(world.inputs, 1)
    if answer == nil then return false, defaults end
    return true, answer
  end
  -- ExtState
  function r.GetExtState(section, key) return (world.extstate[section] or {})[key] or "" end
  function r.SetExtState(section, key, value)
    world.extstate[section] = world.extstate[section] or {}
    world.extstate[section][key] = value
  end
  function r.HasExtState(section, key) return (world.extstate[section] or {})[key] ~= nil end
  function r.DeleteExtState(section, key) if world.extstate[section] then world.extstate[section][key] = nil end end
  -- project
  function r.Master_GetTempo() return world.tempo end
  function r.TimeMap_GetTimeSigAtTime() return world.timesig[1], world.timesig[2], world.tempo end
  function r.GetCursorPosition() return world.cursor end
  function r.SetEditCurPos(t) world.cursor = t end
  function r.GetProjectName() return world.project_name end
  function r.GetSetProjectInfo(_, key) if key == "PROJECT_SRATE" then return world.srate end return 0 end
  function r.Undo_BeginBlock() world.undo[#world.undo + 1] = "begin" end
  function r.Undo_EndBlock(desc) world.undo[#world.undo + 1] = desc end
  function r.UpdateArrange() end
  function r.PreventUIRefresh() end
  -- tracks
  function r.CountTracks() return #world.tracks end
  function r.GetTrack(_, i) return world.tracks[i + 1] end
  function r.CountSelectedTracks() return #selected_tracks() end
  function r.GetSelectedTrack(_, i) return selected_tracks()[i + 1] end
  function r.SetOnlyTrackSelected(track) for _, t in ipairs(world.tracks) do t.selected = (t == track) end end
  function r.GetMediaTrackInfo_Value(track, key) if key == "D_WIDTH" then return track.width end return 0 end
  function r.SetMediaTrackInfo_Value(track, key, value) if key == "D_WIDTH" then track.width = value end return true end
  function r.CountTrackMediaItems(track) return #track.items end
  function r.GetTrackMediaItem(track, i) return track.items[i + 1] end
  -- items and takes
  function r.CountSelectedMediaItems() return #selected_items() end
  function r.GetSelectedMediaItem(_, i) return selected_items()[i + 1] end
  function r.IsMediaItemSelected(item) return item.selected end
  function r.SetMediaItemSelected(item, sel) item.selected = sel end
  function r.SelectAllMediaItems(_, sel) for _, it in ipairs(selected_items()) do it.selected = sel end end
  function r.GetMediaItem_Track(item) return item.track end
  function r.GetMediaItemInfo_Value(item, key)
    if key == "D_POSITION" then return item.position elseif key == "D_LENGTH" then return item.length end
    return 0
  end
  function r.GetActiveTake(item) return item.takes[item.active] end
  function r.CountTakes(item) return #item.takes end
  function r.GetMediaItemTake_Source(take) return take.source end
  function r.GetMediaSourceFileName(source) return source.file end
  function r.GetMediaItemTakeInfo_Value(take, key) if key == "D_STARTOFFS" then return take.startoffs end return 0 end
  function r.GetSetMediaItemTakeInfo_String(take, key, value, set)
    if key ~= "P_NAME" then return false, "" end
    if set then take.name = value end
    return true, take.name
  end
  function r.SetTakeMarker(take, idx, name, srcpos)
    if idx < 0 then idx = #take.markers end
    take.markers[idx + 1] = { name = name, pos = srcpos }
    return idx
  end
  -- InsertMedia(file, mode): 0 adds an item on the selected track at the edit cursor, 3 adds a take
  -- to each selected item (and makes it active).
  function r.InsertMedia(file, mode)
    world.inserted[#world.inserted + 1] = { file = file, mode = mode, cursor = world.cursor }
    if mode == 3 then
      for _, it in ipairs(selected_items()) do
        it.takes[#it.takes + 1] = { kind = "take", item = it, name = file:match("[^/]*$"), markers = {},
                                    source = { file = file }, startoffs = 0 }
        it.active = #it.takes
      end
    else
      local track = selected_tracks()[1]
      if not track then return 0 end
      world.add_item(track, file, world.cursor, 1)
    end
    return 1
  end
  -- FX
  local function fx_of(track, index) return track.fx[index + 1] end
  function r.TrackFX_AddByName(track, name, _, instantiate)
    local spec = plugins[name]
    if not spec then return -1 end
    if instantiate == -1 or instantiate == 1 then
      local inst = { name = name, full = spec.full, params = {}, values = {}, config = {} }
      for i, p in ipairs(spec.params) do inst.params[i] = p; inst.values[i] = p.default end
      -- REAPER appends Bypass, Wet and Delta to every plug-in's parameters
      for _, extra in ipairs({ { "Bypass", 0 }, { "Wet", 1 }, { "Delta", 0 } }) do
        local percent = function(v) return string.format("%.1f%%", v * 100) end
        inst.params[#inst.params + 1] = param(extra[1], lin_curve(0, 1), percent)
        inst.values[#inst.params] = extra[2]
      end
      for k, v in pairs(spec.config or {}) do inst.config[k] = v end
      track.fx[#track.fx + 1] = inst
      return #track.fx - 1
    end
    for i, f in ipairs(track.fx) do if f.name == name then return i - 1 end end
    return -1
  end
  function r.TrackFX_GetCount(track) return #track.fx end
  function r.TrackFX_GetFXName(track, index) local f = fx_of(track, index); return f ~= nil, f and f.full or "" end
  function r.TrackFX_GetNumParams(track, index) return #fx_of(track, index).params end
  function r.TrackFX_GetParamName(track, index, p)
    local f = fx_of(track, index)
    local spec = f and f.params[p + 1]
    return spec ~= nil, spec and spec.name or ""
  end
  function r.TrackFX_GetParamFromIdent(track, index, ident)
    if ident == ":wet" then
      local f = fx_of(track, index)
      return #f.params - 2 -- Wet (0-based), before Delta
    end
    return -1
  end
  function r.TrackFX_GetParamNormalized(track, index, p) return fx_of(track, index).values[p + 1] end
  function r.TrackFX_SetParamNormalized(track, index, p, value)
    local f = fx_of(track, index)
    if not f or not f.params[p + 1] then return false end
    f.values[p + 1] = math.max(0, math.min(1, value))
    return true
  end
  function r.TrackFX_FormatParamValueNormalized(track, index, p, value)
    local f = fx_of(track, index)
    local spec = f and f.params[p + 1]
    if not spec then return false, "" end
    return true, spec.fmt(spec.curve(value))
  end
  function r.TrackFX_GetFormattedParamValue(track, index, p)
    local f = fx_of(track, index)
    return r.TrackFX_FormatParamValueNormalized(track, index, p, f.values[p + 1])
  end
  function r.TrackFX_GetNamedConfigParm(track, index, key)
    local value = fx_of(track, index).config[key]
    return value ~= nil, value or ""
  end
  function r.TrackFX_SetNamedConfigParm(track, index, key, value)
    local f = fx_of(track, index)
    if f.config[key] == nil then return false end
    f.config[key] = value
    return true
  end

  -- gfx: a window that records what is drawn; getchar answers 27 (Esc) when cancel_when says so
  local g = { w = 420, h = 92, x = 0, y = 0, mouse_cap = 0, open = false }
  function g.init(title) g.open = true; world.gfx_log[#world.gfx_log + 1] = "init " .. title end
  function g.quit() g.open = false end
  function g.set() end
  function g.rect() end
  function g.update() end
  function g.drawstr(text) world.gfx_text = (world.gfx_text or "") .. text .. "\n" end
  function g.getchar()
    if not g.open then return -1 end
    local text = world.gfx_text or ""
    world.gfx_log[#world.gfx_log + 1] = text
    world.gfx_text = ""
    if world.cancel_when and world.cancel_when(world, text) then
      world.cancel_when = nil
      return 27
    end
    return 0
  end

  _G.reaper, _G.gfx = r, g
  world.reaper, world.gfx = r, g

  --- Run deferred functions, the way REAPER calls them on its timer, until none is left.
  function world.run_deferred(timeout_s)
    local deadline = os.time() + (timeout_s or 60)
    while #world.deferred > 0 do
      if os.time() > deadline then error("the defer loop did not end within " .. timeout_s .. " s", 0) end
      local batch = world.deferred
      world.deferred = {}
      for _, fn in ipairs(batch) do fn() end
      os.execute("sleep 0.03")
    end
  end

  --- The display value of a parameter of FX `index` on `track`, found by name.
  function world.fx_display(track, index, pname)
    local f = track.fx[index + 1]
    for i, p in ipairs(f.params) do
      if p.name == pname then return p.fmt(p.curve(f.values[i])), p.curve(f.values[i]) end
    end
    return nil
  end

  return world
end

return standin
