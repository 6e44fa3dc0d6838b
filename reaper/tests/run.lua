-- Runs the grym actions against the REAPER stand-in (reaper_standin.lua) and a real `grym serve`.
--
--   lua5.4 reaper/tests/run.lua            (pytest's tests/frontends/test_reaper_actions.py sets the env)
--
-- Environment: GRYM_TEST_COMMAND (the grym executable), GRYM_TEST_PORT (the server's OSC port),
-- GRYM_TEST_DEAD_PORT (a port nobody serves), GRYM_TEST_DIR (a scratch folder), GRYM_TEST_CLIP (a clip),
-- GRYM_TEST_LIBRARY (a folder with clip.wav and other.wav), GRYM_TEST_KEY and GRYM_TEST_TEMPO (what the first clip is),
-- GRYM_TEST_REPORT (a JSON file for pytest's own checks), GRYM_TEST_ONLY (scenario names, commas).
-- Prints one line per scenario and a closing "N passed, N failed"; exits 1 when any failed.

local here = debug.getinfo(1, "S").source:match("^@?(.*[/\\])") or "./"
local actions_dir = here .. "../grym/"
local standin = dofile(here .. "reaper_standin.lua")
local json = dofile(actions_dir .. "lib/json.lua")
local fx = dofile(actions_dir .. "lib/fx.lua")

local env = setmetatable({}, { __index = function(_, k)
  local v = os.getenv(k)
  if v == nil or v == "" then error("set " .. k .. " (pytest's test_reaper_actions.py does)", 0) end
  return v
end })

local report = {}
local scenarios, order = {}, {}
local function scenario(name, fn) scenarios[name] = fn; order[#order + 1] = name end

local function check(cond, what, ...)
  if not cond then error(string.format(what, ...), 0) end
end

local function joined(list, field)
  local out = {}
  for _, m in ipairs(list) do out[#out + 1] = field and m[field] or m end
  return table.concat(out, "\n---\n")
end

local seq = 0
--- A fresh stand-in with the install config written where `grym install reaper` puts it.
local function world_for(opts)
  seq = seq + 1
  opts = opts or {}
  local resource = env.GRYM_TEST_DIR .. "/reaper" .. seq
  os.execute("mkdir -p '" .. resource .. "/Scripts/grym'")
  local fh = assert(io.open(resource .. "/Scripts/grym/grym_config.lua", "w"))
  fh:write(string.format("return { command = { %q }, host = \"127.0.0.1\", port = %d }\n",
    env.GRYM_TEST_COMMAND, tonumber(opts.port or env.GRYM_TEST_PORT)))
  fh:close()
  opts.resource = resource
  local world = standin.new(opts)
  return world
end

local function run_action(world, file)
  dofile(actions_dir .. file)
  world.run_deferred(90)
end

--- A blocking `grym call` through ExecProcess with a timeout (how a script would ask a quick question).
local function call_now(world, address, ...)
  local words = { string.format("%q", env.GRYM_TEST_COMMAND), "call", address }
  for _, a in ipairs({ ... }) do words[#words + 1] = "'" .. tostring(a):gsub("'", "'\\''") .. "'" end
  words[#words + 1] = "--port " .. env.GRYM_TEST_PORT
  local out = world.reaper.ExecProcess(table.concat(words, " "), 60000)
  local last
  for line in out:gmatch("[^\n]+") do if line:sub(1, 1) == "{" then last = json.decode(line) end end
  return last
end

local function audio_track(world, clip)
  local track = world.add_track("audio")
  track.selected = true
  local item, take = world.add_item(track, clip or env.GRYM_TEST_CLIP, 0, 8)
  item.selected = true
  return track, item, take
end

-- scenarios -----------------------------------------------------------------------------------------

scenario("analyze_marker", function()
  local world = world_for()
  local _, _, take = audio_track(world)
  world.extstate.grym = { analysis_to = "marker" }
  run_action(world, "grym_analyze_selected_item.lua")
  check(#world.messages == 1, "expected one message, got %d: %s", #world.messages, joined(world.messages, "text"))
  local text = world.messages[1].text
  check(text:find("Key: " .. env.GRYM_TEST_KEY, 1, true), "the key shown is not %s:\n%s", env.GRYM_TEST_KEY, text)
  local tempo = tonumber(text:match("Tempo: ([%d.]+) BPM"))
  check(tempo and math.abs(tempo - tonumber(env.GRYM_TEST_TEMPO)) < 0.04 * tonumber(env.GRYM_TEST_TEMPO),
    "the tempo shown is not about %s:\n%s", env.GRYM_TEST_TEMPO, text)
  check(text:find("Loudness: %-?[%d.]+ LUFS integrated"), "no loudness shown:\n%s", text)
  check(text:find("True peak: %-?[%d.]+ dBTP"), "no true peak shown:\n%s", text)
  check(#take.markers == 1 and take.markers[1].name:find(env.GRYM_TEST_KEY, 1, true), "no take marker with the key")
  check(world.extstate.grym.last_key == env.GRYM_TEST_KEY, "the last analysis's key was not kept")
  check(#world.processes >= 1 and world.processes[1]:find(" call '/grym/analyze/file'", 1, true),
    "the action did not start grym call: %s", joined(world.processes))
  report.analyze_text = text
end)

scenario("analyze_take_name", function()
  local world = world_for()
  local _, _, take = audio_track(world)
  world.extstate.grym = { analysis_to = "name" }
  run_action(world, "grym_analyze_selected_item.lua")
  check(take.name:find("[" .. env.GRYM_TEST_KEY, 1, true), "the take name has no analysis: %q", take.name)
end)

scenario("analyze_nothing_selected", function()
  local world = world_for()
  world.add_track("empty")
  run_action(world, "grym_analyze_selected_item.lua")
  check(world.messages[1] and world.messages[1].text:find("Select an audio item"), "no clear message without an item")
  check(#world.processes == 0, "grym was called without an item")
end)

local function compose(kind, tempo, timesig, bars, key)
  local world = world_for({ tempo = tempo, timesig = timesig, cursor = 2.5 })
  local track = world.add_track("midi")
  track.selected = true
  world.extstate.grym = { bars = tostring(bars), key = key or "", compose_style = "lofi" }
  run_action(world, "grym_compose_" .. kind .. "_at_edit_cursor.lua")
  check(#world.messages == 0, "compose showed: %s", joined(world.messages, "text"))
  check(#world.inserted == 1, "expected one inserted file, got %d", #world.inserted)
  local ins = world.inserted[1]
  check(ins.file:match("%.mid$") and ins.mode == 0 and ins.cursor == 2.5, "not a .mid at the edit cursor: %s", ins.file)
  check(#track.items == 1 and track.items[1].position == 2.5, "the MIDI item is not on the selected track")
  report["compose_" .. kind] = { file = ins.file, tempo = tempo, timesig = timesig, bars = bars, key = key }
end

scenario("compose_chords", function() compose("chords", 97.0, { 3, 4 }, 4, "D minor") end)
scenario("compose_drums", function() compose("drums", 128.0, { 4, 4 }, 2) end)
scenario("compose_bass", function() compose("bass", 110.0, { 4, 4 }, 2, "E minor") end)
scenario("compose_melody", function() compose("melody", 90.0, { 6, 8 }, 2, "G major") end)

scenario("suggest_fx", function()
  local world = world_for()
  local track = audio_track(world)
  world.mb_answers = { 6 } -- "yes, add them"
  run_action(world, "grym_suggest_fx_for_selected_track.lua")
  check(#world.messages == 1 and world.messages[1].kind == 4, "expected one yes/no question: %s", joined(world.messages, "text"))
  check(world.messages[1].text:find("Why:\n%- "), "the reasons were not shown:\n%s", world.messages[1].text)
  check(#track.fx >= 1, "no plug-in was added")
  local fxs = {}
  for i, f in ipairs(track.fx) do
    local params = {}
    -- what the plug-in shows, as a number (the mapping's values are display values)
    for p, spec in ipairs(f.params) do params[spec.name] = fx.parse_display(spec.fmt(spec.curve(f.values[p]))) end
    local config = {}
    for k, v in pairs(f.config) do config[k] = v end
    fxs[i] = { name = f.name, params = params, config = config }
  end
  report.suggest = { fx = fxs, width = track.width, path = env.GRYM_TEST_CLIP }
end)

scenario("suggest_declined", function()
  local world = world_for()
  local track = audio_track(world)
  world.mb_answers = { 7 } -- "no"
  run_action(world, "grym_suggest_fx_for_selected_track.lua")
  check(#track.fx == 0, "plug-ins were added although the user said no")
end)

scenario("render_as_takes", function()
  local world = world_for()
  local _, item = audio_track(world)
  run_action(world, "grym_render_suggestion_as_new_take.lua")
  check(#world.messages == 0, "render showed: %s", joined(world.messages, "text"))
  check(#item.takes == 3, "expected the original and two new takes, got %d", #item.takes)
  check(item.takes[2].name == "grym render" and item.takes[3].name:find("^grym B %(loudness%-matched"),
    "take names: %s, %s", item.takes[2].name, item.takes[3].name)
  for i = 2, 3 do
    local fh = io.open(item.takes[i].source.file, "rb")
    check(fh, "take %d's file does not exist: %s", i, item.takes[i].source.file)
    fh:close()
  end
  report.render = { render = item.takes[2].source.file, matched = item.takes[3].source.file }
end)

scenario("generate_missing_weights", function()
  local world = world_for({ tempo = 90.0 })
  audio_track(world)
  world.inputs = { "dusty vinyl drums|2" }
  run_action(world, "grym_generate_at_edit_cursor.lua")
  check(#world.messages == 1, "expected one message: %s", joined(world.messages, "text"))
  local text = world.messages[1].text
  check(text:find("generate failed %(model_unavailable%)"), "not the model error:\n%s", text)
  check(text:find("grym models pull", 1, true), "the server's message (how to get weights) is not shown:\n%s", text)
  check(#world.inserted == 0, "something was inserted")
  report.generate_error = text
end)

scenario("server_not_running", function()
  local world = world_for({ port = env.GRYM_TEST_DEAD_PORT })
  audio_track(world)
  run_action(world, "grym_analyze_selected_item.lua")
  local text = (world.messages[1] or {}).text or ""
  check(text:find("not_running", 1, true) and text:find("grym serve", 1, true),
    "no clear message when the server is not running:\n%s", text)
end)

scenario("sync_project", function()
  local world = world_for({ tempo = 133.0, timesig = { 7, 8 }, srate = 44100 })
  world.extstate.grym = { key = "F# minor" }
  run_action(world, "grym_sync_project.lua")
  check(world.messages[1] and world.messages[1].text:find("133.00 BPM, 7/8, 44100 Hz, F# minor", 1, true),
    "sync summary: %s", joined(world.messages, "text"))
  local got = call_now(world, "/grym/session/get")
  check(got and got.result, "no session from the server")
  local s = got.result
  check(math.abs(s.tempo - 133) < 1e-6 and s.time_signature == "7/8" and s.sample_rate == 44100 and s.key == "F# minor"
    and s.project == "test.RPP", "the server's session is %s", json.encode(s))
end)

scenario("settings", function()
  local world = world_for()
  world.inputs = { "|99999||A minor|jazz|warm|club|8|marker", "|9130||A minor|jazz|warm|club|8|marker" }
  run_action(world, "grym_settings.lua")
  check(world.messages[1] and world.messages[1].text:find("Bridge port", 1, true), "a bad port was not refused")
  check(not (world.extstate.grym or {}).key, "settings were saved despite a bad value")
  run_action(world, "grym_settings.lua")
  local s = world.extstate.grym
  check(s.port == "9130" and s.key == "A minor" and s.compose_style == "jazz" and s.analysis_to == "marker",
    "settings not saved: %s", json.encode(s))
end)

scenario("find_similar", function()
  local world = world_for()
  local dir = env.GRYM_TEST_LIBRARY
  local added = call_now(world, "/grym/memory/add", dir)
  check(added and added.event == "done", "memory add failed: %s", json.encode(added or {}))
  audio_track(world, dir .. "/clip.wav")
  world.mb_answers = { 6 }
  run_action(world, "grym_find_similar_to_selected_item.lua")
  check(#world.console == 1 and world.console[1]:find("other.wav", 1, true), "no list of similar clips: %s",
    table.concat(world.console))
  check(#world.inserted == 1 and world.inserted[1].file:find("other.wav", 1, true), "the closest clip was not inserted")
end)

scenario("ask", function()
  local world = world_for()
  world.add_track("keys").selected = true
  world.inputs = { "write a bassline in F# minor at 124 bpm, 4 bars" }
  world.mb_answers = { 6 }
  run_action(world, "grym_ask.lua")
  check(#world.messages == 1, "expected one message: %s", joined(world.messages, "text"))
  check(#world.inserted == 1 and world.inserted[1].file:match("%.mid$"), "the bassline was not inserted: %s",
    world.messages[1].text)
end)

scenario("json", function()
  local v = json.decode('{"s": "a\\"b\\\\c\\u00e9\\ud83c\\udfb5", "n": [1, -2.5e3, true, false, null], "o": {}, "e": []}')
  check(v.s == 'a"b\\c\u{e9}\u{1f3b5}', "string escapes: %q", v.s)
  check(v.n[1] == 1 and v.n[2] == -2500 and v.n[3] == true and v.n[4] == false and v.n[5] == json.null, "array")
  check(json.encode(v.o) == "{}" and json.encode(v.e) == "[]", "empty object and array keep their kinds")
  local again = json.decode(json.encode(v))
  check(again.s == v.s and again.n[2] == -2500 and again.n[5] == json.null, "round trip")
  check(json.encode({ 3, 2.0, "x\n" }) == '[3,2.0,"x\\n"]', "encode: %s", json.encode({ 3, 2.0, "x\n" }))
  for _, bad in ipairs({ '{"a": 1,}', "[1 2]", '"open', "{'a': 1}", "" }) do
    check(not pcall(json.decode, bad), "accepted bad JSON %q", bad)
  end
end)

scenario("quoting", function()
  local world = world_for()
  local grym = dofile(actions_dir .. "lib/grym.lua")
  for _, word in ipairs({ "plain", "two words", "it's", 'say "hi"', "$HOME `id` \\ ;|&", "" }) do
    local out = world.reaper.ExecProcess("printf %s " .. grym.quote(word), 5000)
    check(out == "0\n" .. word, "the shell did not get %q back: %q", word, out)
  end
  world.os = "Win64" -- CommandLineToArgvW's rules: backslashes double only before a quote or the end
  check(grym.quote('say "hi"') == '"say \\"hi\\""', "windows quote: %s", grym.quote('say "hi"'))
  check(grym.quote("C:\\Music\\") == '"C:\\Music\\\\"', "windows trailing backslash: %s", grym.quote("C:\\Music\\"))
  check(grym.quote("C:\\a b\\c.wav") == '"C:\\a b\\c.wav"', "windows path: %s", grym.quote("C:\\a b\\c.wav"))
end)

scenario("cancel", function()
  local world = world_for({ tempo = 90.0 })
  audio_track(world)
  world.inputs = { "warm pad|2" }
  world.mb_answers = { 6 } -- "yes, cancel"
  world.cancel_when = function(_, text) return text:find("queued", 1, true) ~= nil end
  run_action(world, "grym_generate_at_edit_cursor.lua")
  check(#world.messages == 2 and world.messages[1].text:find("^Cancel generate%?"),
    "no cancel question: %s", joined(world.messages, "text"))
  check(world.messages[2].text:find("generate: cancelled.", 1, true), "not shown as cancelled: %s", world.messages[2].text)
  local cancels = 0
  for _, cmd in ipairs(world.processes) do if cmd:find("'/grym/job/cancel'", 1, true) then cancels = cancels + 1 end end
  check(cancels == 1, "expected one /grym/job/cancel call, got %d", cancels)
  check(#world.inserted == 0, "something was inserted")
end)

-- run -----------------------------------------------------------------------------------------------

local only = {}
for name in (os.getenv("GRYM_TEST_ONLY") or ""):gmatch("[^,%s]+") do only[name] = true end
local passed, failed = 0, 0
math.randomseed(os.time())
for _, name in ipairs(order) do
  if next(only) == nil and name ~= "cancel" or only[name] then
    local ok, err = pcall(scenarios[name])
    if ok then
      passed = passed + 1
      print("ok     " .. name)
    else
      failed = failed + 1
      print("FAILED " .. name .. ": " .. tostring(err))
    end
  end
end
local path = os.getenv("GRYM_TEST_REPORT")
if path and path ~= "" then
  local fh = assert(io.open(path, "w"))
  fh:write(json.encode(report))
  fh:close()
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
