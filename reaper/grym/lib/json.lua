-- @noindex
-- JSON for the grym ReaScripts: decode what `grym call` writes, encode request arguments.
-- REAPER's Lua (5.3 in REAPER 6, 5.4 in REAPER 7) has no JSON library, and ReaScripts must not
-- depend on native extensions, so this is a small pure-Lua codec.
--
-- Decoding: objects and arrays become tables (arrays get the `json.array_mt` metatable so they
-- encode back as arrays even when empty); `null` becomes nil in objects and `json.null` in arrays.

local json = {}

json.null = setmetatable({}, { __tostring = function() return "null" end })
json.array_mt = { __jsontype = "array" }

-- decoding ------------------------------------------------------------------------------------------

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function decode_error(text, pos, what)
  error(string.format("bad JSON at character %d: %s (near %q)", pos, what, text:sub(pos, pos + 20)), 0)
end

local function skip(text, pos)
  return text:find("[^ \t\r\n]", pos) or #text + 1
end

local function utf8_char(code)
  if utf8 and utf8.char then return utf8.char(code) end
  return "?"
end

local decode_value

local function decode_string(text, pos)
  local parts, i = {}, pos + 1
  while true do
    local j = text:find('["\\]', i)
    if not j then decode_error(text, pos, "unterminated string") end
    parts[#parts + 1] = text:sub(i, j - 1)
    if text:sub(j, j) == '"' then return table.concat(parts), j + 1 end
    local c = text:sub(j + 1, j + 1)
    if c == "u" then
      local hex = text:sub(j + 2, j + 5)
      local code = tonumber(hex, 16)
      if not code then decode_error(text, j, "bad \\u escape") end
      local nexti = j + 6
      if code >= 0xD800 and code <= 0xDBFF and text:sub(nexti, nexti + 1) == "\\u" then
        local low = tonumber(text:sub(nexti + 2, nexti + 5), 16)
        if low and low >= 0xDC00 and low <= 0xDFFF then
          code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
          nexti = nexti + 6
        end
      end
      parts[#parts + 1] = utf8_char(code)
      i = nexti
    elseif escapes[c] then
      parts[#parts + 1] = escapes[c]
      i = j + 2
    else
      decode_error(text, j, "bad escape")
    end
  end
end

local function decode_array(text, pos)
  local out, n = setmetatable({}, json.array_mt), 0
  pos = skip(text, pos + 1)
  if text:sub(pos, pos) == "]" then return out, pos + 1 end
  while true do
    local value
    value, pos = decode_value(text, pos)
    n = n + 1
    out[n] = value == nil and json.null or value
    pos = skip(text, pos)
    local c = text:sub(pos, pos)
    if c == "]" then return out, pos + 1 end
    if c ~= "," then decode_error(text, pos, "expected , or ]") end
    pos = skip(text, pos + 1)
  end
end

local function decode_object(text, pos)
  local out = {}
  pos = skip(text, pos + 1)
  if text:sub(pos, pos) == "}" then return out, pos + 1 end
  while true do
    if text:sub(pos, pos) ~= '"' then decode_error(text, pos, "expected a key") end
    local key
    key, pos = decode_string(text, pos)
    pos = skip(text, pos)
    if text:sub(pos, pos) ~= ":" then decode_error(text, pos, "expected :") end
    local value
    value, pos = decode_value(text, skip(text, pos + 1))
    out[key] = value
    pos = skip(text, pos)
    local c = text:sub(pos, pos)
    if c == "}" then return out, pos + 1 end
    if c ~= "," then decode_error(text, pos, "expected , or }") end
    pos = skip(text, pos + 1)
  end
end

local literals = { ["true"] = true, ["false"] = false }

decode_value = function(text, pos)
  pos = skip(text, pos)
  local c = text:sub(pos, pos)
  if c == "{" then return decode_object(text, pos) end
  if c == "[" then return decode_array(text, pos) end
  if c == '"' then return decode_string(text, pos) end
  for word, value in pairs(literals) do
    if text:sub(pos, pos + #word - 1) == word then return value, pos + #word end
  end
  if text:sub(pos, pos + 3) == "null" then return nil, pos + 4 end
  local number = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if number and number ~= "" and number ~= "-" then
    local value = tonumber(number)
    if value == nil then decode_error(text, pos, "bad number") end
    return value, pos + #number
  end
  for word, value in pairs({ NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }) do
    if text:sub(pos, pos + #word - 1) == word then return value, pos + #word end
  end
  decode_error(text, pos, "unexpected character")
end

--- Decode one JSON document; raises an error naming the position on bad input.
function json.decode(text)
  local value, pos = decode_value(text, 1)
  pos = skip(text, pos)
  if pos <= #text then decode_error(text, pos, "trailing characters") end
  return value
end

-- encoding ------------------------------------------------------------------------------------------

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  local mt = getmetatable(t)
  if mt and mt.__jsontype == "array" then return true end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n > 0 and n == #t
end

local encode_value

local function encode_number(v)
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if math.type and math.type(v) == "integer" then return string.format("%d", v) end
  local s = string.format("%.17g", v)
  if not s:find("[.eE]") then s = s .. ".0" end -- stays a float on the other side
  return s
end

encode_value = function(v)
  local t = type(v)
  if v == nil or v == json.null then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then return encode_number(v) end
  if t == "string" then return encode_string(v) end
  if t == "table" then
    local parts = {}
    if is_array(v) then
      for i = 1, #v do parts[i] = encode_value(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys, by_name = {}, {}
    for k in pairs(v) do
      keys[#keys + 1] = tostring(k)
      by_name[tostring(k)] = k
    end
    table.sort(keys) -- a stable order: the same table always encodes the same way
    for _, name in ipairs(keys) do parts[#parts + 1] = encode_string(name) .. ":" .. encode_value(v[by_name[name]]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("cannot encode a " .. t .. " as JSON", 0)
end

--- Encode a Lua value (tables with the array metatable or 1..n keys become arrays).
function json.encode(value)
  return encode_value(value)
end

--- A table that encodes as a JSON array even when empty.
function json.array(t)
  return setmetatable(t or {}, json.array_mt)
end

return json
