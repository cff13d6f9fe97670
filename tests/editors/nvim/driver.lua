--- driver.lua: end-to-end test of the Neovim plugin. Run with `nvim -l`; it drives another Neovim (a real TUI in
--- tmux, or a headless one) over its RPC socket: types, waits for ghost text from the server, accepts by word and
--- whole, dismisses, and checks each step in the buffer, on the screen (tmux capture-pane) and in the server log.
--- :GhostlineStats runs before typing and at the end: the stored accepted / rejected counts it shows went up.
---
--- Environment: NVIM_SOCKET (the editor's --listen address), GHOSTLINE_LOG_FILE (the server's log file),
--- ARTIFACTS (folder for screen captures), TMUX_TARGET (tmux session, optional), TYPED (keys to type, optional),
--- READY_TIMEOUT_MS, SUGGESTION_TIMEOUT_MS, AUTO_WAIT_MS, REQUIRE_AUTOMATIC (1: no trigger-key fallback).
local socket = assert(os.getenv("NVIM_SOCKET"), "NVIM_SOCKET is not set")
local log_file = assert(os.getenv("GHOSTLINE_LOG_FILE"), "GHOSTLINE_LOG_FILE is not set")
local artifacts = os.getenv("ARTIFACTS") or "."
local tmux_target = os.getenv("TMUX_TARGET")
local ready_timeout = tonumber(os.getenv("READY_TIMEOUT_MS") or "180000")
local suggestion_timeout = tonumber(os.getenv("SUGGESTION_TIMEOUT_MS") or "60000")
local auto_wait = tonumber(os.getenv("AUTO_WAIT_MS") or "8000")

local passed, failed = 0, 0
local function out(line) io.stdout:write(line .. "\n") io.stdout:flush() end

local channel
vim.wait(15000, function()
  local ok, chan = pcall(vim.fn.sockconnect, "pipe", socket, { rpc = true })
  if ok and chan > 0 then channel = chan end
  return channel ~= nil
end, 100)
if not channel then
  out("not ok - connect to the editor at " .. socket)
  out("nvim: 0 passed, 1 failed")
  os.exit(1)
end

local function lua(code, ...) return vim.rpcrequest(channel, "nvim_exec_lua", code, { ... }) end
local function input(keys) vim.rpcrequest(channel, "nvim_input", keys) end

-- The socket opens before the editor has run its init.lua: wait for the plugin to be set up.
local set_up = vim.wait(30000, function()
  local ok, done = pcall(lua, "return package.loaded.ghostline ~= nil and package.loaded.ghostline.did_setup == true")
  return ok and done
end, 100)
if not set_up then
  out("not ok - the editor loads the plugin and runs setup()")
  out("nvim: 0 passed, 1 failed")
  os.exit(1)
end

--- The editor's view: buffer text, cursor, the suggestion and the ghostline extmarks.
local function snapshot()
  return lua([[
    local ghostline = require("ghostline")
    local ns = require("ghostline.suggestion").namespace
    local cursor = vim.api.nvim_win_get_cursor(0)
    local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
    local before = vim.api.nvim_buf_get_text(0, 0, 0, cursor[1] - 1, cursor[2], {})
    return {
      text = table.concat(lines, "\n"), before_cursor = table.concat(before, "\n"),
      row = cursor[1] - 1, col = cursor[2], mode = vim.api.nvim_get_mode().mode,
      current = ghostline.current() or vim.NIL, status = ghostline.status(),
      marks = vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true }),
    }
  ]])
end

local function check(name, condition, detail)
  if condition then
    passed = passed + 1
    out("ok - " .. name)
  else
    failed = failed + 1
    out("not ok - " .. name .. (detail and (": " .. detail) or ""))
  end
  return condition
end

--- Saves the tmux screen as text (NAME) and with its colours as ANSI escapes (NAME.ansi, view with `cat`).
local function capture(name)
  if not tmux_target then return nil end
  local screen
  for _, variant in ipairs({ { "", {} }, { ".ansi", { "-e" } } }) do
    local cmd = vim.list_extend({ "tmux", "capture-pane", "-p", "-t", tmux_target }, variant[2])
    local text = vim.system(cmd, { text = true }):wait().stdout or ""
    screen = screen or text
    local file = io.open(artifacts .. "/" .. name .. variant[1], "w")
    if file then
      file:write(text)
      file:close()
    end
  end
  return screen
end

--- Feedback events the server logged: list of { event = "accept", id = "..." , line = "..." }.
local function server_events()
  local events = {}
  local file = io.open(log_file, "r")
  if not file then return events end
  for line in file:lines() do
    local event, id = line:match("event=([%w_]+)%s+id=([^%s,]+)")
    if event then events[#events + 1] = { event = event, id = id:gsub('^"', ""):gsub('"$', ""), line = line } end
  end
  file:close()
  return events
end

local function wait_event(event, id, timeout)
  local found
  vim.wait(timeout or 10000, function()
    for _, e in ipairs(server_events()) do
      if e.event == event and e.id == tostring(id) then found = e end
    end
    return found ~= nil
  end, 100)
  return found
end

--- Waits for a suggestion (other than `not_id`): first one requested automatically while typing; when none comes
--- within AUTO_WAIT_MS (the server may hold back automatic suggestions it is unsure of), asks with the trigger key.
local function wait_suggestion(not_id)
  local state
  local function arrived()
    state = snapshot()
    return state.current ~= vim.NIL and tostring(state.current.id) ~= tostring(not_id)
  end
  if os.getenv("REQUIRE_AUTOMATIC") == "1" then
    vim.wait(suggestion_timeout, arrived, 50)
  elseif not vim.wait(auto_wait, arrived, 50) then
    out("# no automatic suggestion within " .. auto_wait .. " ms: pressing the trigger key <M-\\>")
    input("<M-\\>")
    vim.wait(suggestion_timeout, arrived, 50)
  end
  return state.current ~= vim.NIL and state or nil
end

--- Independent statement of "a word" for the accept-word check: blanks + word characters, or blanks + punctuation,
--- or a line break with the next line's indentation.
local function expected_word(ghost)
  return ghost:match("^\r?\n[ \t]*") or ghost:match("^[ \t]*[%w_\128-\255]+") or ghost:match("^[ \t]*[^%w_%s\128-\255]+")
    or ghost:match("^[ \t]+") or ghost
end

local function visible_lines(ghost)
  local lines = {}
  for line in (ghost .. "\n"):gmatch("([^\n]*)\n") do
    local trimmed = vim.trim(line)
    if #trimmed >= 1 then lines[#lines + 1] = trimmed end
  end
  return lines
end

--- Runs :GhostlineStats (in normal mode), waits for its window, captures the screen, reads the stored counts it
--- shows, closes the window with `q`. Returns { accepted = n, rejected = n } (nil values when not shown) and the text.
local function stats_view(capture_name)
  lua([[vim.cmd("GhostlineStats")]])
  local text
  vim.wait(15000, function()
    text = lua([[
      local bufnr = vim.fn.bufnr("ghostline://stats")
      if bufnr == -1 then return "" end
      return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
    ]])
    return type(text) == "string" and text:find("Stored suggestions", 1, true) ~= nil
  end, 100)
  if type(text) ~= "string" then text = "" end
  capture(capture_name)
  lua([[
    local window = vim.fn.bufwinid("ghostline://stats")
    if window ~= -1 then vim.api.nvim_set_current_win(window) end
  ]])
  input("q")
  vim.wait(3000, function() return lua([[return vim.fn.bufnr("ghostline://stats") == -1]]) end, 50)
  return { accepted = tonumber(text:match("\n  accepted: (%d+)")), rejected = tonumber(text:match("\n  rejected: (%d+)")) }, text
end

-- 1. The server starts and reports the model loaded.
local state
vim.wait(ready_timeout, function()
  state = snapshot()
  return state.status:match("ready") ~= nil or state.status:match("error") ~= nil
end, 200)
check("server reports ready (" .. state.status .. ")", state.status:match("ready") ~= nil)

-- 2. :checkhealth ghostline finds the binary and the loaded model.
local health = lua([[
  vim.cmd("checkhealth ghostline")
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
  vim.cmd("tabclose")
  return text
]])
local health_file = io.open(artifacts .. "/nvim-checkhealth.txt", "w")
if health_file then health_file:write(health) health_file:close() end
check(":checkhealth ghostline: binary found", health:match("OK ghostline %d+%.%d+") ~= nil, health)
check(":checkhealth ghostline: model loaded", health:match("OK[^\n]*model loaded") ~= nil)

-- 2b. :GhostlineStats shows the feedback store's numbers.
local stats_before, stats_text = stats_view("nvim-stats-before.txt")
check(":GhostlineStats shows the stored counts", stats_before.accepted ~= nil and stats_before.rejected ~= nil, stats_text)
check(":GhostlineStats says feedback recording is on", stats_text:find("Feedback recording: on", 1, true) ~= nil, stats_text)

-- 3. Typing shows ghost text: an extmark with the suggestion, on screen, and reported as shown.
input(os.getenv("TYPED") or "9GA<CR>let product = ")
state = wait_suggestion(nil)
if not check("ghost text appears after typing", state ~= nil, vim.inspect(snapshot())) then
  out("nvim: " .. passed .. " passed, " .. failed .. " failed")
  os.exit(1)
end
local ghost, id = state.current.text, state.current.id
out("# suggestion " .. tostring(id) .. ": " .. vim.inspect(ghost))
local mark = state.marks[1] and state.marks[1][4] or {}
local inline = mark.virt_text and mark.virt_text[1] and mark.virt_text[1][1] or ""
local first_line = ghost:match("^[^\n]*")
check("extmark at the cursor", state.marks[1] ~= nil and state.marks[1][2] == state.row and state.marks[1][3] == state.col,
  vim.inspect(state.marks))
-- Neovim shows control characters as ^X, so compare text only when the suggestion is printable (a sane model's is).
local printable = not ghost:find("[%z\1-\8\11-\31\127]")
if printable then
  check("inline virt_text shows the first line", first_line == "" or first_line:find(vim.trim(inline), 1, true) ~= nil,
    vim.inspect(inline))
else
  out("# the suggestion has control characters: skipping the text comparisons on the extmark and the screen")
end
local _, newlines = ghost:gsub("\n", "")
check("virt_lines show the other lines", #(mark.virt_lines or {}) == newlines, vim.inspect(mark.virt_lines))
local screen = capture("nvim-ghost-text.txt")
if screen and printable then
  local visible = visible_lines(ghost)
  local all_found = #visible > 0
  -- Neovim wraps a long suggestion over several screen rows: look for it in the rows joined.
  -- tmux drops the trailing blanks of each row, so a space where a row wraps is lost: compare
  -- without whitespace.
  local joined = (screen:gsub("%s", ""))
  for _, line in ipairs(visible) do
    all_found = all_found and joined:find((line:gsub("%s", "")), 1, true) ~= nil
  end
  check("tmux screen shows the ghost text", all_found, screen)
end
check("server logged the show", wait_event("show", id) ~= nil)

-- 4. Accept word: the next word lands in the buffer, the rest stays as ghost text, the server hears the partial accept.
local word = expected_word(ghost)
local before = state
input("<M-Right>")
vim.wait(5000, function() state = snapshot() return state.text ~= before.text end, 20)
local expected_prefix = before.before_cursor .. word
check("accept word inserts " .. vim.inspect(word), state.text:sub(1, #expected_prefix) == expected_prefix
  and state.before_cursor == expected_prefix, vim.inspect({ got = state.before_cursor, want = expected_prefix }))
if word ~= ghost then
  check("rest of the suggestion still shown", state.current ~= vim.NIL and state.current.text == ghost:sub(#word + 1),
    vim.inspect(state.current))
  check("server logged the partial accept", wait_event("partial_accept", id) ~= nil)
end

-- 5. Accept (Tab): the whole remaining suggestion lands in the buffer and the accept reaches the server.
state = snapshot()
if state.current ~= vim.NIL then
  before = state
  local rest = state.current.text
  input("<Tab>")
  vim.wait(5000, function() state = snapshot() return state.text ~= before.text end, 20)
  local want = before.before_cursor .. rest
  check("Tab accepts the suggestion", state.text:sub(1, #want) == want, vim.inspect({ got = state.text, want = want }))
end
check("server logged the accept", wait_event("accept", id) ~= nil, log_file)
capture("nvim-after-accept.txt")

-- 6. Dismiss (<C-]>): the ghost text goes, the buffer stays, the reject reaches the server.
input("<CR>")
state = wait_suggestion(id)
if check("a new suggestion appears after Enter", state ~= nil) then
  -- Alternatives: <M-]> shows the next one and reports it as shown.
  if state.current.count >= 2 then
    local first_id = state.current.id
    input("<M-]>")
    vim.wait(3000, function() state = snapshot() return state.current ~= vim.NIL and state.current.index == 2 end, 20)
    check("<M-]> shows the next alternative", state.current ~= vim.NIL and state.current.index == 2
      and state.current.id ~= first_id, vim.inspect(state.current))
    if state.current ~= vim.NIL then check("server logged the alternative's show", wait_event("show", state.current.id) ~= nil) end
  else
    out("# one suggestion only: no alternatives to cycle")
  end
  before = state
  input("<C-]>")
  vim.wait(3000, function() state = snapshot() return #state.marks == 0 end, 20)
  check("dismiss clears the ghost text", #state.marks == 0 and state.current == vim.NIL)
  check("dismiss leaves the buffer alone", state.text == before.text)
  check("server logged the reject", wait_event("reject", before.current.id) ~= nil)

  -- 7. Leaving insert mode rejects too.
  input("x")
  local next_state = wait_suggestion(before.current.id)
  if check("a suggestion appears after typing again", next_state ~= nil) then
    -- Typing the suggestion's next character keeps it (minus that character) instead of asking again.
    local next_char = next_state.current.text:match("^[%w%p]")
    if next_char then
      input(next_char == "<" and "<lt>" or next_char)
      local typed_through
      vim.wait(3000, function() typed_through = snapshot() return typed_through.text ~= next_state.text end, 20)
      check("typing the ghost text's next character keeps the same suggestion", typed_through.current ~= vim.NIL
        and typed_through.current.id == next_state.current.id
        and typed_through.current.text == next_state.current.text:sub(2), vim.inspect(typed_through.current))
    end
    input("<Esc>")
    check("Escape rejects the suggestion", wait_event("reject", next_state.current.id) ~= nil)
    state = snapshot()
    check("Escape clears the ghost text", #state.marks == 0)
  end
end

-- 8. :GhostlineStats again (normal mode): the accept of step 5 and the rejects of steps 6-7 are counted.
input("<Esc>")
local stats_after, stats_after_text = stats_view("nvim-stats-after.txt")
out("# stats: accepted " .. tostring(stats_before.accepted) .. " -> " .. tostring(stats_after.accepted)
  .. ", rejected " .. tostring(stats_before.rejected) .. " -> " .. tostring(stats_after.rejected))
check(":GhostlineStats counts the accept", stats_before.accepted ~= nil and stats_after.accepted == stats_before.accepted + 1,
  stats_after_text)
check(":GhostlineStats counts the rejects", stats_before.rejected ~= nil and stats_after.rejected ~= nil
  and stats_after.rejected > stats_before.rejected, stats_after_text)

pcall(vim.rpcnotify, channel, "nvim_command", "qa!")
out("nvim: " .. passed .. " passed, " .. failed .. " failed")
os.exit(failed == 0 and 0 or 1)
