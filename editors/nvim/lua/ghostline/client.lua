--- ghostline.client: starts one `ghostline lsp` per project root, tracks its status, sends requests.
local config = require("ghostline.config")

local M = {}

M.name = "ghostline"

--- Last `ghostline/status` per client id: { state = "loading"|"ready"|"error"|"disabled", message = string|nil }.
---@type table<integer, {state: string, message: string|nil, model: string|nil, device: string|nil}>
M.status_by_client = {}

--- Last error starting the server (binary missing, ...), shown by :checkhealth and `status()`.
---@type string|nil
M.start_error = nil

--- Latency of the last completed inlineCompletion request, in milliseconds.
---@type number|nil
M.last_latency_ms = nil

local has_011 = vim.fn.has("nvim-0.11") == 1

--- Calls a Client method the way this Neovim version wants (0.11 uses `client:method()`, 0.10 `client.method()`).
local function call(client, method, ...)
  if has_011 then return client[method](client, ...) end
  return client[method](...)
end

--- Sends a request; returns the request id (or nil when the client refused).
function M.request(client, method, params, handler, bufnr)
  local ok, request_id = call(client, "request", method, params, handler, bufnr)
  if ok then return request_id end
  return nil
end

function M.notify(client, method, params)
  return call(client, "notify", method, params)
end

function M.cancel_request(client, request_id)
  pcall(call, client, "cancel_request", request_id)
end

local function on_status(_, result, ctx)
  if type(result) ~= "table" then return end
  local previous = M.status_by_client[ctx.client_id]
  M.status_by_client[ctx.client_id] =
    { state = result.state, message = result.message, model = result.model, device = result.device,
      feedback = type(result.feedback) == "table" and result.feedback or nil }
  local feedback = M.status_by_client[ctx.client_id].feedback
  local previous_feedback = previous and previous.feedback
  if feedback and feedback.state == "off" and config.options.notify_errors
    and (not previous_feedback or previous_feedback.state ~= "off" or previous_feedback.message ~= feedback.message)
    and not (feedback.message or ""):match("turned off in the settings") then
    vim.notify("ghostline: " .. (feedback.message or "feedback recording is off"), vim.log.levels.WARN)
  end
  if result.state == "error" and config.options.notify_errors then
    if not previous or previous.state ~= "error" or previous.message ~= result.message then
      vim.notify("ghostline: " .. (result.message or "the server reported an error"), vim.log.levels.ERROR)
    end
  end
  vim.api.nvim_exec_autocmds("User", { pattern = "GhostlineStatus", modeline = false, data = result })
end

--- Client capabilities: the defaults plus LSP 3.18 inline completion.
local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  caps.textDocument.inlineCompletion = { dynamicRegistration = false }
  caps.workspace = caps.workspace or {}
  caps.workspace.didChangeConfiguration = { dynamicRegistration = false }
  return caps
end

--- The directory a buffer's server runs in: the nearest root marker, else the file's directory, else cwd.
---@param bufnr integer
---@return string
function M.root_dir(bufnr)
  local root = vim.fs.root(bufnr, config.options.root_markers)
  if root then return root end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name ~= "" then return vim.fs.dirname(name) end
  return vim.fn.getcwd()
end

--- Starts (or reuses) the server for this buffer's root and attaches the buffer. Returns the client id.
---@param bufnr integer
---@return integer|nil
function M.attach(bufnr)
  local cmd = config.cmd()
  if vim.fn.executable(cmd[1]) ~= 1 then
    local message = ("ghostline: server binary %q not found. Install it (cargo install --path server, or put"
      .. " `ghostline` on $PATH) or set `bin` in require('ghostline').setup()"):format(cmd[1])
    if M.start_error ~= message then
      M.start_error = message
      vim.notify(message, vim.log.levels.ERROR)
    end
    return nil
  end
  M.start_error = nil
  local settings = config.server_settings()
  local client_id = vim.lsp.start({
    name = M.name,
    cmd = cmd,
    root_dir = M.root_dir(bufnr),
    init_options = settings,
    settings = { ghostline = settings },
    capabilities = capabilities(),
    handlers = { ["ghostline/status"] = on_status },
    on_exit = function(code, signal, client_id)
      M.status_by_client[client_id] = nil
      if code ~= 0 and signal ~= 15 then
        vim.schedule(function()
          vim.notify(("ghostline: server exited with code %d (see :LspLog)"):format(code), vim.log.levels.WARN)
        end)
      end
    end,
  }, { bufnr = bufnr })
  return client_id
end

--- The ghostline client attached to a buffer, if any.
---@param bufnr integer
---@return vim.lsp.Client|nil
function M.get(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = M.name })[1]
end

--- All running ghostline clients.
function M.all()
  return vim.lsp.get_clients({ name = M.name })
end

--- Pushes the current server settings to every running server.
function M.push_settings()
  local settings = config.server_settings()
  for _, client in ipairs(M.all()) do
    client.settings = { ghostline = settings }
    M.notify(client, "workspace/didChangeConfiguration", { settings = { ghostline = settings } })
  end
end

--- A one-line status for statuslines: "ghostline: ready (120 ms)", "ghostline: loading", "ghostline: off".
---@param bufnr integer|nil
---@return string
function M.status_line(bufnr)
  if M.start_error then return "ghostline: not installed" end
  local client = M.get(bufnr or vim.api.nvim_get_current_buf())
  if not client then return "ghostline: off" end
  local status = M.status_by_client[client.id]
  local state = status and status.state or "starting"
  local feedback_off = status and status.feedback and status.feedback.state == "off" and ", feedback off" or ""
  if state == "ready" and M.last_latency_ms then
    return ("ghostline: ready (%d ms%s)"):format(M.last_latency_ms, feedback_off)
  end
  if feedback_off ~= "" then return ("ghostline: %s (feedback off)"):format(state) end
  return "ghostline: " .. state
end

return M
