--- ghostline.health: `:checkhealth ghostline` — Neovim version, server binary, running servers, model status.
local M = {}

function M.check()
  local health = vim.health
  local config = require("ghostline.config")
  local client = require("ghostline.client")
  local ghostline = require("ghostline")

  health.start("ghostline: Neovim")
  if vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.10 or newer is required (found " .. tostring(vim.version()) .. ")")
  end
  if vim.lsp.inline_completion then
    health.info("vim.lsp.inline_completion is available; use_builtin = " .. tostring(config.options.use_builtin))
  end
  if not ghostline.did_setup then
    health.warn("require('ghostline').setup() has not been called", { "Call it from your config (see docs/editors.md)" })
  end

  health.start("ghostline: server binary")
  local cmd = config.cmd()
  local path = vim.fn.exepath(cmd[1])
  if path == "" then
    health.error(("%q not found"):format(cmd[1]), {
      "Build and install it: cargo install --path server (from the ghostline repository)",
      "or set bin = '/path/to/ghostline' in require('ghostline').setup()",
    })
  else
    local result = vim.system({ path, "--version" }, { text = true }):wait(5000)
    if result.code == 0 then
      health.ok(("%s (%s)"):format(vim.trim(result.stdout or ""), path))
    else
      health.warn(("%s --version failed (exit %s): %s"):format(path, tostring(result.code), result.stderr or ""))
    end
  end
  health.info("command: " .. table.concat(cmd, " "))

  health.start("ghostline: servers")
  local clients = client.all()
  if #clients == 0 then
    health.info("no ghostline server is running (open a file of an enabled filetype to start one)")
  end
  for _, c in ipairs(clients) do
    local status = client.status_by_client[c.id]
    local line = ("client %d, root %s: "):format(c.id, c.root_dir or c.config.root_dir or "?")
    if not status then
      health.warn(line .. "running, no ghostline/status received yet")
    elseif status.state == "ready" then
      local model = status.model and (" " .. status.model .. (status.device and (" on " .. status.device) or "")) or ""
      health.ok(line .. "model loaded" .. model .. (status.message and (" — " .. status.message) or ""))
    elseif status.state == "loading" then
      health.info(line .. "model loading" .. (status.message and (" — " .. status.message) or ""))
    elseif status.state == "disabled" then
      health.info(line .. "disabled")
    else
      health.error(line .. (status.message or "error"))
    end
    local provider = c.server_capabilities and c.server_capabilities.inlineCompletionProvider
    if not provider then health.warn(line .. "the server did not announce inlineCompletionProvider") end
  end
  if client.start_error then health.error(client.start_error) end
end

return M
