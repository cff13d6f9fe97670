--- ghostline.suggestion: requests inline completions, draws them as ghost text, accepts/dismisses them and
--- reports show / accept / partial accept / reject to the server.
---
--- Invariant: at most one suggestion is shown, in the current buffer, at the cursor (`state.row`, `state.col`),
--- and `state.tick` is the buffer's changedtick the suggestion was drawn for.
local client_mod = require("ghostline.client")
local config = require("ghostline.config")
local text = require("ghostline.text")

local M = {}

M.namespace = vim.api.nvim_create_namespace("ghostline")

---@class ghostline.Item
---@field raw table        the InlineCompletionItem as the server sent it
---@field id any           the suggestion id (the first argument of item.command), or nil
---@field insert_text string
---@field accepted string  the part of insert_text already in the buffer (typed or accepted)
---@field remaining string the part still shown as ghost text
---@field tail string      buffer text right of the cursor that the item's range replaces (auto-closed brackets)

---@class ghostline.State
---@field bufnr integer
---@field client_id integer
---@field row integer      0-based
---@field col integer      0-based byte column
---@field tick integer
---@field items ghostline.Item[]
---@field index integer
---@field shown table<any, boolean>   ids reported with didShowCompletion
---@field partially_accepted boolean
---@type ghostline.State|nil
local state = nil

--- The request in flight; `tick`/`bufnr` say which text it was sent for.
local pending = { client = nil, request_id = nil, seq = 0, tick = nil, bufnr = nil }
local debounce_timer = nil
M.enabled = true

local function cursor()
  local position = vim.api.nvim_win_get_cursor(0)
  return position[1] - 1, position[2]
end

local function in_insert_mode()
  local mode = vim.api.nvim_get_mode().mode
  return mode:sub(1, 1) == "i" or mode:sub(1, 1) == "R"
end

--- Text of the buffer between two 0-based (row, byte col) positions.
local function buffer_text(bufnr, start_row, start_col, end_row, end_col)
  if end_row < start_row or (end_row == start_row and end_col <= start_col) then return "" end
  local ok, lines = pcall(vim.api.nvim_buf_get_text, bufnr, start_row, start_col, end_row, end_col, {})
  return ok and table.concat(lines, "\n") or ""
end

local function cancel_pending()
  if pending.client and pending.request_id then client_mod.cancel_request(pending.client, pending.request_id) end
  pending.client, pending.request_id = nil, nil
end

local function clear_extmarks(bufnr)
  if bufnr and vim.api.nvim_buf_is_valid(bufnr) then vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1) end
end

local function current_item()
  return state and state.items[state.index] or nil
end

local function state_client()
  return state and vim.lsp.get_client_by_id(state.client_id) or nil
end

--- Draws the current item as ghost text: its first line inline at the cursor, the rest as virtual lines.
local function render()
  if not state then return end
  clear_extmarks(state.bufnr)
  local item = current_item()
  if not item then return end
  local shown = item.remaining
  -- Text the item's range replaces right of the cursor (say an auto-closed ")") is already on screen.
  if item.tail ~= "" and shown:sub(-#item.tail) == item.tail then shown = shown:sub(1, #shown - #item.tail) end
  if shown == "" then return end
  local tabstop = vim.bo[state.bufnr].tabstop
  local lines = vim.split(shown, "\n", { plain = true })
  local hl = config.options.hl_group
  local first_col = vim.fn.strdisplaywidth(buffer_text(state.bufnr, state.row, 0, state.row, state.col))
  local extmark = { virt_text_pos = "inline", hl_mode = "combine", priority = 200 }
  if lines[1] ~= "" then extmark.virt_text = { { text.expand_tabs(lines[1], tabstop, first_col), hl } } end
  if #lines > 1 then
    extmark.virt_lines = {}
    for index = 2, #lines do
      extmark.virt_lines[#extmark.virt_lines + 1] = { { text.expand_tabs(lines[index], tabstop, 0), hl } }
    end
  end
  vim.api.nvim_buf_set_extmark(state.bufnr, M.namespace, state.row, state.col, extmark)
  if item.id ~= nil and not state.shown[item.id] then
    state.shown[item.id] = true
    local client = state_client()
    if client then client_mod.notify(client, "textDocument/didShowCompletion", { item = item.raw }) end
  end
end

--- Forgets the suggestion; when `reject` is set and it was shown and not (partly) accepted, tells the server.
---@param reject boolean
local function clear(reject)
  if not state then return end
  local old = state
  state = nil
  clear_extmarks(old.bufnr)
  if reject and not old.partially_accepted then
    local client = vim.lsp.get_client_by_id(old.client_id)
    if client then
      for id in pairs(old.shown) do client_mod.notify(client, "ghostline/reject", { id = id }) end
    end
  end
end

--- Turns the server's items into `ghostline.Item`s relative to the cursor; drops items that do not agree with
--- the text already typed in their range.
local function normalize(bufnr, row, col, result, encoding)
  local raw_items = result and (result.items or result) or {}
  local items = {}
  for _, raw in ipairs(raw_items) do
    local insert_text = raw.insertText
    if type(insert_text) == "table" then insert_text = insert_text.value end
    if type(insert_text) == "string" and insert_text ~= "" then
      local typed, tail = "", ""
      if raw.range then
        local start_line = vim.api.nvim_buf_get_lines(bufnr, raw.range.start.line, raw.range.start.line + 1, false)[1] or ""
        local end_line = vim.api.nvim_buf_get_lines(bufnr, raw.range["end"].line, raw.range["end"].line + 1, false)[1] or ""
        local start_row, start_col = raw.range.start.line, text.byte_col(start_line, raw.range.start.character, encoding)
        local end_row, end_col = raw.range["end"].line, text.byte_col(end_line, raw.range["end"].character, encoding)
        typed = buffer_text(bufnr, start_row, start_col, row, col)
        tail = buffer_text(bufnr, row, col, end_row, end_col)
      end
      if insert_text:sub(1, #typed) == typed and #insert_text > #typed then
        local id = raw.command and raw.command.arguments and raw.command.arguments[1]
        items[#items + 1] = {
          raw = raw, id = id, insert_text = insert_text, accepted = typed,
          remaining = insert_text:sub(#typed + 1), tail = tail,
        }
      end
    end
  end
  return items
end

--- Sends textDocument/inlineCompletion for the cursor now; shows the answer if nothing changed meanwhile.
---@param trigger_kind integer 1 = invoked, 2 = automatic
function M.request(trigger_kind)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_mod.get(bufnr)
  if not client or not M.enabled or not config.options.server.enable then return end
  cancel_pending()
  local row, col = cursor()
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local encoding = client.offset_encoding or "utf-16"
  local params = vim.lsp.util.make_position_params(0, encoding)
  params.context = { triggerKind = trigger_kind }
  pending.seq = pending.seq + 1
  local seq, started = pending.seq, vim.uv.hrtime()
  local request_id = client_mod.request(client, "textDocument/inlineCompletion", params, function(err, result)
    if seq ~= pending.seq then return end
    pending.client, pending.request_id = nil, nil
    client_mod.last_latency_ms = math.floor((vim.uv.hrtime() - started) / 1e6)
    if err then
      if err.code ~= -32800 then vim.lsp.log.warn("ghostline inlineCompletion: " .. vim.inspect(err)) end
      return
    end
    if vim.api.nvim_get_current_buf() ~= bufnr or not in_insert_mode()
      or vim.api.nvim_buf_get_changedtick(bufnr) ~= tick then
      return
    end
    local now_row, now_col = cursor()
    if now_row ~= row or now_col ~= col then return end
    local items = normalize(bufnr, row, col, result, encoding)
    clear(true)
    if #items == 0 then return end
    state = { bufnr = bufnr, client_id = client.id, row = row, col = col, tick = tick, items = items, index = 1,
      shown = {}, partially_accepted = false }
    render()
    vim.api.nvim_exec_autocmds("User", { pattern = "GhostlineSuggestion", modeline = false })
  end, bufnr)
  pending.client, pending.request_id, pending.tick, pending.bufnr = client, request_id, tick, bufnr
end

--- Requests a suggestion after `debounce_ms` of quiet.
function M.schedule_request()
  if not config.options.auto_trigger or not M.enabled then return end
  if not debounce_timer then debounce_timer = vim.uv.new_timer() end
  debounce_timer:stop()
  debounce_timer:start(config.options.debounce_ms, 0, vim.schedule_wrap(function()
    if in_insert_mode() then M.request(2) end
  end))
end

--- Whether a suggestion is shown now.
function M.visible()
  return state ~= nil and state.bufnr == vim.api.nvim_get_current_buf() and current_item() ~= nil
end

--- The current suggestion (for statuslines and tests): { text = remaining ghost text, id, index, count }.
function M.current()
  local item = current_item()
  if not item then return nil end
  return { text = item.remaining, id = item.id, index = state.index, count = #state.items, insert_text = item.insert_text }
end

--- Writes `chunk` at the cursor (replacing `replace_tail` text right of it) and moves the cursor after it.
local function insert_at_cursor(chunk, replace_tail)
  local end_row, end_col = state.row, state.col
  if replace_tail ~= "" then end_row, end_col = text.advance(state.row, state.col, replace_tail) end
  vim.api.nvim_buf_set_text(state.bufnr, state.row, state.col, end_row, end_col, vim.split(chunk, "\n", { plain = true }))
  local new_row, new_col = text.advance(state.row, state.col, chunk)
  vim.api.nvim_win_set_cursor(0, { new_row + 1, new_col })
  return new_row, new_col
end

--- Accepts the whole current suggestion and runs its command (which tells the server).
function M.accept()
  local item = current_item()
  if not item or not M.visible() then return false end
  local client = state_client()
  insert_at_cursor(item.remaining, item.tail)
  state.partially_accepted = true -- accepted: never reported as rejected
  local command = item.raw.command
  clear(false)
  if client and command then
    client_mod.request(client, "workspace/executeCommand", { command = command.command, arguments = command.arguments },
      function() end)
  end
  return true
end

--- Accepts the first `chunk_of(remaining)` of the suggestion and keeps showing the rest.
local function accept_partial(chunk_of)
  local item = current_item()
  if not item or not M.visible() then return false end
  local chunk = chunk_of(item.remaining)
  if chunk == "" then return false end
  if chunk == item.remaining or item.remaining:sub(#chunk + 1) == item.tail then return M.accept() end
  local client = state_client()
  local row, col = insert_at_cursor(chunk, "")
  item.accepted = item.accepted .. chunk
  item.remaining = item.remaining:sub(#chunk + 1)
  state.row, state.col = row, col
  state.tick = vim.api.nvim_buf_get_changedtick(state.bufnr)
  state.partially_accepted = true
  -- Other alternatives no longer start at the cursor.
  state.items, state.index = { item }, 1
  if client then
    client_mod.notify(client, "textDocument/didPartiallyAcceptCompletion", {
      item = item.raw, acceptedLength = text.units(item.accepted, client.offset_encoding or "utf-16"),
    })
  end
  render()
  return true
end

function M.accept_word() return accept_partial(text.next_word) end

function M.accept_line() return accept_partial(text.next_line) end

--- Shows the next (`step` = 1) or previous (-1) alternative; asks the server for alternatives when only one is known.
function M.cycle(step)
  if not M.visible() then
    M.request(1)
    return
  end
  if #state.items < 2 then return end
  state.index = (state.index - 1 + step) % #state.items + 1
  render()
end

--- Hides the suggestion and reports it as rejected.
function M.dismiss()
  local was_visible = M.visible()
  if debounce_timer then debounce_timer:stop() end
  cancel_pending()
  clear(true)
  return was_visible
end

--- TextChangedI: keeps the suggestion while the user types what it shows; otherwise rejects it and asks again.
function M.on_text_changed()
  local bufnr = vim.api.nvim_get_current_buf()
  if state and state.bufnr == bufnr then
    if vim.api.nvim_buf_get_changedtick(bufnr) == state.tick then return end -- our own edit
    local row, col = cursor()
    local item = current_item()
    if item and row == state.row and col > state.col then
      local typed = buffer_text(bufnr, state.row, state.col, row, col)
      if item.remaining:sub(1, #typed) == typed and #typed < #item.remaining then
        item.accepted = item.accepted .. typed
        item.remaining = item.remaining:sub(#typed + 1)
        state.items, state.index = { item }, 1
        state.row, state.col, state.tick = row, col, vim.api.nvim_buf_get_changedtick(bufnr)
        render()
        return
      end
    end
    clear(true)
  end
  -- TextChangedI comes late (after the typeahead is consumed): a request already sent for this very text, such
  -- as one from the trigger key, stays.
  if pending.request_id and pending.bufnr == bufnr and pending.tick == vim.api.nvim_buf_get_changedtick(bufnr) then
    return
  end
  cancel_pending()
  if client_mod.get(bufnr) then M.schedule_request() end
end

--- CursorMovedI: moving away from the suggestion (without typing) dismisses it.
function M.on_cursor_moved()
  if not state then return end
  if vim.api.nvim_buf_get_changedtick(state.bufnr) ~= state.tick then return end -- TextChangedI decides
  local row, col = cursor()
  if state.bufnr ~= vim.api.nvim_get_current_buf() or row ~= state.row or col ~= state.col then M.dismiss() end
end

--- InsertLeave / BufLeave: dismiss.
function M.on_leave()
  if debounce_timer then debounce_timer:stop() end
  cancel_pending()
  clear(true)
end

return M
