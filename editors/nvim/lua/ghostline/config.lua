--- ghostline.config: the plugin's options, their defaults, validation, and the server settings object.
local M = {}

---@class ghostline.KeymapOptions
---@field accept string|false        accept the whole suggestion (falls back to the key itself when none is shown)
---@field accept_word string|false   accept the next word of the suggestion
---@field accept_line string|false   accept the rest of the suggestion's current line
---@field next string|false          show the next alternative
---@field prev string|false          show the previous alternative
---@field dismiss string|false       hide the suggestion and report it as rejected
---@field trigger string|false       request a suggestion now

---@class ghostline.ServerOptions  sent to the server as initializationOptions and workspace/didChangeConfiguration
---@field enable boolean
---@field debounceMs integer|nil     server-side debounce; the plugin debounces too (`debounce_ms`)
---@field maxLines integer|nil       longest suggestion, in lines
---@field device "auto"|"cpu"|"gpu"|nil
---@field modelPath string|nil       a model directory (config.json, model.safetensors, tokenizer.json); nil = embedded model
---@field logLevel "error"|"warn"|"info"|"debug"|"trace"|nil
---@field feedback boolean|nil      record shown/accepted/rejected suggestions in a local SQLite file (default true)
---@field feedbackPath string|nil   that file (absolute); nil = $XDG_DATA_HOME/ghostline/feedback.sqlite3
---@field feedbackRawPaths boolean|nil  store file paths too (default false: only a hash)
---@field adapt boolean|nil         adapt to the code you write/accept and remember rejections (default true)
---@field tunedWeights boolean|nil  use the workspace's tuned weights from `ghostline tune` when present (default true)

---@class ghostline.Options
M.defaults = {
  --- The server command. nil: `{ bin, "lsp" }` plus `--log-file log_file` when set.
  cmd = nil, ---@type string[]|nil
  --- The server binary: a path, or a name looked up in $PATH.
  bin = "ghostline",
  --- A file the server writes its log to (nil: the server's default, stderr, which Neovim's LSP log keeps).
  log_file = nil, ---@type string|nil
  --- Filetypes to attach to. Empty: every filetype not in `exclude_filetypes`.
  filetypes = {}, ---@type string[]
  exclude_filetypes = { "help", "gitcommit", "gitrebase", "netrw", "TelescopePrompt", "lazy", "mason", "" },
  --- Files that mark a project root; one server runs per root (the file's directory when none is found).
  root_markers = { ".git", "Cargo.toml", "package.json", "pyproject.toml", "go.mod", ".hg" },
  --- Request suggestions automatically while typing; false: only on `trigger`.
  auto_trigger = true,
  --- Milliseconds of quiet typing before a request is sent.
  debounce_ms = 75,
  --- Use Neovim 0.12's built-in `vim.lsp.inline_completion` instead of the plugin's own requests and ghost
  --- text (no partial accept, no reject reports there). Ignored on Neovim < 0.12.
  use_builtin = false,
  --- Highlight group of the ghost text (linked to Comment unless already defined).
  hl_group = "GhostlineSuggestion",
  --- Insert-mode keymaps. false: none (use the `<Plug>(ghostline-…)` mappings yourself). true: the defaults
  --- below. A table: overrides per action (false disables one). Keys that are already mapped are left alone
  --- unless `force_keymaps` is set.
  keymaps = false, ---@type boolean|ghostline.KeymapOptions
  force_keymaps = false,
  --- Settings sent to the server.
  server = {
    enable = true,
    maxLines = 8,
    device = "auto",
    modelPath = nil,
    logLevel = "info",
  },
  --- Show `ghostline/status` errors with vim.notify.
  notify_errors = true,
}

--- The keys `keymaps = true` maps (the same as copilot.vim's where they exist).
M.default_keymaps = {
  accept = "<Tab>",
  accept_word = "<M-Right>",
  accept_line = "<M-C-Right>",
  next = "<M-]>",
  prev = "<M-[>",
  dismiss = "<C-]>",
  trigger = "<M-\\>",
}

---@type ghostline.Options
M.options = vim.deepcopy(M.defaults)

--- Merges user options over the defaults and validates them; raises a readable error on bad values.
---@param user table|nil
---@return ghostline.Options
function M.resolve(user)
  local options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), user or {})
  local function check(name, value, expected)
    if type(value) ~= expected then
      error(("ghostline.setup: option %q must be a %s, got %s"):format(name, expected, type(value)), 0)
    end
  end
  check("bin", options.bin, "string")
  check("filetypes", options.filetypes, "table")
  check("exclude_filetypes", options.exclude_filetypes, "table")
  check("root_markers", options.root_markers, "table")
  check("auto_trigger", options.auto_trigger, "boolean")
  check("debounce_ms", options.debounce_ms, "number")
  check("server", options.server, "table")
  if options.cmd ~= nil then check("cmd", options.cmd, "table") end
  local device = options.server.device
  if device ~= nil and device ~= "auto" and device ~= "cpu" and device ~= "gpu" then
    error(("ghostline.setup: server.device must be auto, cpu or gpu, got %q"):format(tostring(device)), 0)
  end
  if options.keymaps == true then
    options.keymaps = vim.deepcopy(M.default_keymaps)
  elseif type(options.keymaps) == "table" then
    options.keymaps = vim.tbl_extend("force", vim.deepcopy(M.default_keymaps), options.keymaps)
  elseif options.keymaps ~= false then
    error("ghostline.setup: keymaps must be a boolean or a table", 0)
  end
  return options
end

--- The server command line for the current options.
---@return string[]
function M.cmd()
  local options = M.options
  if options.cmd then return options.cmd end
  local cmd = { options.bin, "lsp" }
  if options.log_file then vim.list_extend(cmd, { "--log-file", options.log_file }) end
  return cmd
end

--- The settings object the server receives (nil values dropped).
---@return table
function M.server_settings()
  local settings = {}
  for key, value in pairs(M.options.server) do
    if value ~= nil and value ~= vim.NIL then settings[key] = value end
  end
  return settings
end

--- Whether the plugin should attach to a buffer of this filetype.
---@param filetype string
function M.filetype_enabled(filetype)
  local options = M.options
  if #options.filetypes > 0 then return vim.tbl_contains(options.filetypes, filetype) end
  return not vim.tbl_contains(options.exclude_filetypes, filetype)
end

return M
