-- @noindex
-- Put a grym REAPER mapping (the `daw` part of /grym/fx/suggest ... map reaper, or /grym/fx/map)
-- onto a track as REAPER's stock plug-ins.
--
-- The mapping gives each device's parameters in the units the plug-in displays (Hz, dB, ms, octaves).
-- REAPER sets parameters normalized (0..1) along curves that differ per plug-in, so each value is
-- found by bisection over TrackFX_FormatParamValueNormalized (which formats a normalized value
-- without setting it) and then set with TrackFX_SetParamNormalized. ReaEQ band types are set with
-- TrackFX_SetNamedConfigParm("BANDTYPEn"); ReaEQ's parameters come in threes per band
-- (frequency, gain, bandwidth).

local fx = {}

-- FX names to try with TrackFX_AddByName, per device in the mapping.
local ADD_NAMES = {
  ["ReaEQ"] = { "ReaEQ (Cockos)", "ReaEQ" },
  ["ReaComp"] = { "ReaComp (Cockos)", "ReaComp" },
  ["ReaLimit"] = { "ReaLimit (Cockos)", "ReaLimit" },
  ["ReaVerbate"] = { "ReaVerbate (Cockos)", "ReaVerbate" },
  ["ReaDelay"] = { "ReaDelay (Cockos)", "ReaDelay" },
  ["JS: Volume Adjustment"] = { "JS: Volume Adjustment", "JS:Utility/volume" },
}

-- Other names REAPER's plug-ins use for a mapped parameter.
local ALIASES = {
  ["Threshold"] = { "Thresh" },
  ["Adjustment"] = { "Adjustment (dB)" },
  ["Length (time)"] = { "1: Length (time)", "Length" },
  ["Feedback"] = { "1: Feedback" },
  ["Room size"] = { "Roomsize" },
  ["Stereo width"] = { "Width" },
  ["True peak"] = { "Truepeak", "True Peak" },
}

-- ReaEQ band types as TrackFX_SetNamedConfigParm's BANDTYPE values.
local REAEQ_TYPES = { ["Low Shelf"] = "0", ["High Shelf"] = "1", ["Low Pass"] = "3", ["High Pass"] = "4", ["Band"] = "8" }

--- The number in a formatted parameter value ("-24.0 dB", "1.20k", "-inf"), or nil.
function fx.parse_display(text)
  if type(text) ~= "string" then return nil end
  local lower = text:lower()
  if lower:find("%-inf") then return -math.huge end
  if lower:find("^%s*%+?inf") then return math.huge end
  local number, suffix = lower:match("([-+]?%d*%.?%d+)%s*(%a*)")
  local value = tonumber(number)
  if not value then return nil end
  if suffix:sub(1, 1) == "k" then value = value * 1000 end
  return value
end

local function display_at(track, index, param, norm)
  local ok, text = reaper.TrackFX_FormatParamValueNormalized(track, index, param, norm, "")
  if not ok then return nil end
  return fx.parse_display(text)
end

--- Set a parameter to the normalized value whose display reads `target`; returns what it shows.
function fx.set_display_value(track, index, param, target)
  local lo, hi = 0.0, 1.0
  local vlo, vhi = display_at(track, index, param, lo), display_at(track, index, param, hi)
  if vlo == nil or vhi == nil or vlo == vhi then return nil, "its display is not a number" end
  local rising = vhi > vlo
  for _ = 1, 40 do
    local mid = (lo + hi) / 2
    local v = display_at(track, index, param, mid)
    if v == nil then return nil, "its display is not a number" end
    if (v < target) == rising then lo = mid else hi = mid end
  end
  -- lo and hi now straddle the target; displays are rounded, so keep the side that reads closer
  local dlo, dhi = display_at(track, index, param, lo), display_at(track, index, param, hi)
  local norm = (dlo and dhi and math.abs(dlo - target) < math.abs(dhi - target)) and lo or hi
  reaper.TrackFX_SetParamNormalized(track, index, param, norm)
  local _, shown = reaper.TrackFX_GetFormattedParamValue(track, index, param, "")
  return shown, nil, norm
end

local function clean(name)
  return name:lower():gsub("^%d+:%s*", ""):gsub("%s*%b()%s*$", "")
end

--- The index of the parameter called `name` (or one of its aliases), or nil.
function fx.find_param(track, index, name)
  local wanted = { name:lower() }
  for _, alias in ipairs(ALIASES[name] or {}) do wanted[#wanted + 1] = alias:lower() end
  local count = reaper.TrackFX_GetNumParams(track, index)
  for pass = 1, 2 do
    for p = 0, count - 1 do
      local _, pname = reaper.TrackFX_GetParamName(track, index, p, "")
      for _, w in ipairs(wanted) do
        if (pass == 1 and pname:lower() == w) or (pass == 2 and clean(pname) == clean(w)) then return p end
      end
    end
  end
  return nil
end

local function add(track, device)
  for _, name in ipairs(ADD_NAMES[device] or { device }) do
    local index = reaper.TrackFX_AddByName(track, name, false, -1)
    if index >= 0 then return index end
  end
  return nil
end

local function set_param(track, index, param, value, report, label)
  if type(value) == "boolean" then
    reaper.TrackFX_SetParamNormalized(track, index, param, value and 1 or 0)
    report[#report + 1] = string.format("  %s: %s", label, value and "on" or "off")
    return
  end
  local shown, why = fx.set_display_value(track, index, param, tonumber(value) or 0)
  report[#report + 1] = shown and string.format("  %s: %s", label, shown) or string.format("  %s: not set (%s)", label, why)
end

-- ReaEQ: bands "Band N Type/Frequency/Gain/Bandwidth", spread over as many ReaEQs as needed.
local function apply_reaeq(track, params, report)
  local bands, order = {}, {}
  for _, p in ipairs(params) do
    local n, what = p.name:match("^Band (%d+) (.+)$")
    n = tonumber(n)
    if n then
      if not bands[n] then bands[n] = {}; order[#order + 1] = n end
      bands[n][what] = p.value
    end
  end
  table.sort(order)
  local index, slot, per = nil, 0, 0
  for _, n in ipairs(order) do
    if index == nil or slot >= per then
      index = add(track, "ReaEQ")
      if not index then report[#report + 1] = "ReaEQ: not available"; return end
      report[#report + 1] = "ReaEQ"
      per, slot = 0, 0
      while reaper.TrackFX_GetNamedConfigParm(track, index, "BANDTYPE" .. per) do per = per + 1 end
      for b = 0, per - 1 do reaper.TrackFX_SetNamedConfigParm(track, index, "BANDENABLED" .. b, "0") end
    end
    local band = bands[n]
    reaper.TrackFX_SetNamedConfigParm(track, index, "BANDTYPE" .. slot, REAEQ_TYPES[band.Type] or "8")
    reaper.TrackFX_SetNamedConfigParm(track, index, "BANDENABLED" .. slot, "1")
    report[#report + 1] = string.format("  band %d: %s", slot + 1, band.Type or "Band")
    if band.Frequency then set_param(track, index, slot * 3, band.Frequency, report, "frequency") end
    if band.Gain then set_param(track, index, slot * 3 + 1, band.Gain, report, "gain") end
    if band.Bandwidth then set_param(track, index, slot * 3 + 2, band.Bandwidth, report, "bandwidth") end
    slot = slot + 1
  end
end

--- Add the mapping's devices to `track`; returns the lines of a report (what was set, what was not).
function fx.apply(track, mapping)
  local report = {}
  reaper.Undo_BeginBlock()
  for _, device in ipairs(mapping.devices or {}) do
    local name = device.device
    if name == "ReaEQ" then
      apply_reaeq(track, device.params or {}, report)
    elseif name == "Track width" then
      local width = (device.params[1] or {}).value or 100
      reaper.SetMediaTrackInfo_Value(track, "D_WIDTH", width / 100)
      report[#report + 1] = string.format("Track width: %g %%", width)
    elseif name == "FX chain wet" or name == nil then
      report[#report + 1] = string.format("%s: not added (%s)", device.source or "?", device.note or "no stock plug-in")
    else
      local index = add(track, name)
      if not index then
        report[#report + 1] = name .. ": could not be added (is it installed?)"
      else
        report[#report + 1] = name
        for _, p in ipairs(device.params or {}) do
          local param
          if p.name == "FX Wet" then
            param = reaper.TrackFX_GetParamFromIdent and reaper.TrackFX_GetParamFromIdent(track, index, ":wet")
            if not param or param < 0 then param = fx.find_param(track, index, "Wet") end
          else
            param = fx.find_param(track, index, p.name)
          end
          if param then
            set_param(track, index, param, p.value, report, p.name)
          else
            report[#report + 1] = string.format("  %s: no such parameter", p.name)
          end
        end
      end
    end
  end
  reaper.Undo_EndBlock("grym: add suggested FX", -1)
  return report
end

return fx
