--- ghostline: local inline code suggestions (ghost text) from the `ghostline lsp` server.
---
--- Usage: require("ghostline").setup({ keymaps = true }) — see :help ghostline and docs/editors.md.
local config = require("ghostline.config")
local client = require("ghostline.client")
local suggestion = require("ghostline.suggestion")

local M = {}

local group = nil
local has_builtin = vim.lsp.inline_completion ~= nil and vim.fn.has("nvim-0.12") == 1

--- Whether Neovim 0.12's built-in inline completion drives the suggestions.
function M.uses_builtin()
  return config.options.use_builtin and has_builtin
end

local function should_attach(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= "" then return false end
  return config.filetype_enabled(vim.bo[bufnr].filetype)
end

local function attach(bufnr)
  if not should_attach(bufnr) then return end
  local client_id = client.attach(bufnr)
  if client_id and M.uses_builtin() then
    pcall(vim.lsp.inline_completion.enable, true, { bufnr = bufnr, client_id = client_id })
  end
end

--- Runs `builtin_fn` with Neovim 0.12's inline completion when it drives suggestions, else `own_fn`.
local function dispatch(own_fn, builtin_fn)
  return function()
    if M.uses_builtin() then
      if builtin_fn then return builtin_fn() end
      return false
    end
    return own_fn()
  end
end

M.accept = dispatch(suggestion.accept, function() return vim.lsp.inline_completion.get() end)
M.accept_word = dispatch(suggestion.accept_word)
M.accept_line = dispatch(suggestion.accept_line)
M.next = dispatch(function() return suggestion.cycle(1) end,
  function() return vim.lsp.inline_completion.select({ count = 1 }) end)
M.prev = dispatch(function() return suggestion.cycle(-1) end,
  function() return vim.lsp.inline_completion.select({ count = -1 }) end)
M.dismiss = dispatch(suggestion.dismiss)
M.trigger = dispatch(function() return suggestion.request(1) end)
M.visible = suggestion.visible
M.current = suggestion.current

--- A short status for statuslines, e.g. "ghostline: ready (85 ms)".
function M.status() return client.status_line() end

--- Turns automatic suggestions on or off (all buffers); returns the new state.
function M.toggle(enable)
  if enable == nil then enable = not suggestion.enabled end
  suggestion.enabled = enable
  if not enable then suggestion.dismiss() end
  if M.uses_builtin() then pcall(vim.lsp.inline_completion.enable, enable) end
  vim.notify("ghostline: suggestions " .. (enable and "on" or "off"), vim.log.levels.INFO)
  return enable
end

--- Changes server settings at run time (sent with workspace/didChangeConfiguration, no restart).
---@param settings ghostline.ServerOptions
function M.configure_server(settings)
  config.options.server = vim.tbl_extend("force", config.options.server, settings)
  client.push_settings()
end

--- Runs what `lhs` did before ghostline mapped it (an existing mapping, else the key itself).
local function fallback_for(lhs, existing)
  local keys = vim.api.nvim_replace_termcodes(lhs, true, false, true)
  if not existing or not existing.lhs then
    return function() vim.api.nvim_feedkeys(keys, "n", false) end
  end
  local mode = existing.noremap == 1 and "n" or "m"
  return function()
    local rhs = existing.rhs
    if existing.callback then rhs = existing.callback() end
    if existing.expr == 1 and not existing.callback then rhs = vim.api.nvim_eval(existing.rhs) end
    if type(rhs) ~= "string" or rhs == "" then return end
    if existing.expr ~= 1 or existing.replace_keycodes == 1 or not existing.callback then
      rhs = vim.api.nvim_replace_termcodes(rhs, true, false, true)
    end
    vim.api.nvim_feedkeys(rhs, mode, false)
  end
end

--- Maps `lhs` in insert mode to `action`; when there is no suggestion to act on, the key does what it did before.
--- Mappings the user made are left alone (with a warning) unless `force_keymaps`; Neovim's own defaults (such as
--- 0.11's snippet <Tab>) are kept as the fallback.
local function map_key(lhs, action, plug)
  if not lhs then return end
  local existing = vim.fn.maparg(lhs, "i", false, true)
  if not existing.lhs or (existing.desc or ""):match("^ghostline") then existing = nil end
  local builtin_default = existing and (existing.desc or ""):match("^vim%.") ~= nil
  if existing and not builtin_default and not config.options.force_keymaps then
    vim.schedule(function()
      vim.notify(("ghostline: %s is already mapped in insert mode; map <Plug>(ghostline-%s) yourself or set"
        .. " force_keymaps = true"):format(lhs, plug), vim.log.levels.WARN)
    end)
    return
  end
  local fallback = fallback_for(lhs, existing)
  vim.keymap.set("i", lhs, function()
    if not action() then fallback() end
  end, { desc = "ghostline: " .. plug, silent = true })
end

local function set_keymaps()
  local keymaps = config.options.keymaps
  if not keymaps then return end
  map_key(keymaps.accept, M.accept, "accept")
  map_key(keymaps.accept_word, M.accept_word, "accept-word")
  map_key(keymaps.accept_line, M.accept_line, "accept-line")
  map_key(keymaps.next, function() M.next() return true end, "next")
  map_key(keymaps.prev, function() M.prev() return true end, "prev")
  map_key(keymaps.dismiss, M.dismiss, "dismiss")
  map_key(keymaps.trigger, function() M.trigger() return true end, "trigger")
end

local function command(opts)
  local sub = opts.fargs[1] or "status"
  if sub == "status" then
    vim.notify(M.status(), vim.log.levels.INFO)
  elseif sub == "toggle" then
    M.toggle()
  elseif sub == "enable" or sub == "disable" then
    M.toggle(sub == "enable")
  elseif sub == "trigger" then
    M.trigger()
  elseif sub == "log" then
    vim.cmd.edit(config.options.log_file or vim.lsp.get_log_path())
  elseif sub == "stats" then
    require("ghostline.stats").show()
  elseif sub == "restart" then
    for _, c in ipairs(client.all()) do vim.lsp.stop_client(c.id) end
    vim.defer_fn(function() attach(vim.api.nvim_get_current_buf()) end, 200)
  else
    vim.notify("ghostline: unknown subcommand " .. sub, vim.log.levels.ERROR)
  end
end

--- Configures the plugin (see docs/editors.md for every option). Safe to call again to change options.
---@param user_options ghostline.Options|table|nil
function M.setup(user_options)
  config.options = config.resolve(user_options)
  vim.api.nvim_set_hl(0, config.options.hl_group, { link = "Comment", default = true })
  group = vim.api.nvim_create_augroup("ghostline", { clear = true })
  vim.api.nvim_create_autocmd({ "FileType", "BufEnter" }, {
    group = group,
    callback = function(args) attach(args.buf) end,
  })
  if not M.uses_builtin() then
    vim.api.nvim_create_autocmd("TextChangedI", { group = group, callback = suggestion.on_text_changed })
    vim.api.nvim_create_autocmd("CursorMovedI", { group = group, callback = suggestion.on_cursor_moved })
    vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, { group = group, callback = suggestion.on_leave })
  end
  vim.api.nvim_create_user_command("Ghostline", command, {
    nargs = "?",
    complete = function() return { "status", "toggle", "enable", "disable", "trigger", "log", "stats", "restart" } end,
    desc = "ghostline: status | toggle | enable | disable | trigger | log | stats | restart",
  })
  vim.api.nvim_create_user_command("GhostlineStats", function() require("ghostline.stats").show() end, {
    desc = "ghostline: show the feedback store's numbers (acceptance, latency) and this session's counters",
  })
  set_keymaps()
  client.push_settings()
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then attach(bufnr) end
  end
  M.did_setup = true
end

return M
