--- ghostline.stats: `:GhostlineStats` — the server's `ghostline/stats` answer (the feedback store's numbers, the same
--- object `ghostline stats --json` prints, and this session's counters) in a scratch buffer; `q` closes it.
local client = require("ghostline.client")

local M = {}

M.buffer_name = "ghostline://stats"

local function percent(rate)
  if type(rate) ~= "number" then return "-" end
  return ("%.1f %%"):format(rate * 100)
end

local function ms(value)
  if type(value) ~= "number" then return "-" end
  return ("%d ms"):format(math.floor(value + 0.5))
end

local bars = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" }
local function sparkline(values, max)
  local out = {}
  for _, value in ipairs(values) do
    if type(value) ~= "number" then
      out[#out + 1] = " "
    else
      local level = max > 0 and math.max(0, math.min(1, value / max)) or 0
      out[#out + 1] = bars[math.floor(level * 7 + 0.5) + 1]
    end
  end
  return table.concat(out)
end

--- The lines of the stats view for a `ghostline/stats` result.
---@param stats table
---@return string[]
function M.format(stats)
  local lines = { "ghostline stats", "" }
  local feedback = type(stats.feedback) == "table" and stats.feedback or nil
  if not feedback then
    lines[#lines + 1] = "Feedback recording: unknown (the server sent no feedback status)"
  else
    lines[#lines + 1] = ("Feedback recording: %s — %s"):format(feedback.status.state, feedback.status.message)
    local report = type(feedback.report) == "table" and feedback.report or nil
    if not report then
      lines[#lines + 1] = "No stored numbers: " .. tostring(feedback.reportError or "no database")
    else
      vim.list_extend(lines, {
        "",
        "Stored suggestions (all time, this machine only):",
        "  shown: " .. report.shown,
        "  accepted: " .. report.accepted,
        "  partially accepted: " .. report.partially_accepted,
        "  rejected: " .. report.rejected,
        "  ignored: " .. report.ignored,
        "  undecided: " .. report.pending,
        "  acceptance rate: " .. percent(report.acceptance_rate),
        "  characters accepted: " .. report.chars_accepted,
        "  latency p50 / p95: " .. ms(report.latency_ms.p50) .. " / " .. ms(report.latency_ms.p95),
      })
      for _, part in ipairs({ { "By language:", report.by_language }, { "By model:", report.by_model } }) do
        if #part[2] > 0 then
          vim.list_extend(lines, { "", part[1] })
          for _, group in ipairs(part[2]) do
            lines[#lines + 1] = ("  %s: %d shown, %s accepted"):format(group.name, group.shown, percent(group.acceptance_rate))
          end
        end
      end
      local points = report.timeline.points
      if #points > 0 then
        local first = math.max(1, #points - 59)
        local rates, latencies, top = {}, {}, 0
        for i = first, #points do
          rates[#rates + 1] = points[i].acceptance_rate
          latencies[#latencies + 1] = points[i].latency_p50_ms
          if type(points[i].latency_p50_ms) == "number" then top = math.max(top, points[i].latency_p50_ms) end
        end
        vim.list_extend(lines, {
          "",
          ("Per %s, %s to %s:"):format(report.timeline.bucket, points[first].label, points[#points].label),
          "  acceptance  " .. sparkline(rates, 1) .. "  (0–100 %)",
          "  latency p50 " .. sparkline(latencies, top) .. ("  (0–%d ms)"):format(math.floor(top + 0.5)),
        })
      end
    end
  end
  vim.list_extend(lines, {
    "",
    "This session:",
    ("  requests: %d, cache hits: %d, last latency: %s"):format(stats.requests or 0, stats.cacheHits or 0,
      ms(stats.lastLatencyMs)),
    ("  shown: %d, accepted: %d, partially accepted: %d, rejected: %d"):format(stats.shown or 0, stats.accepted or 0,
      stats.partiallyAccepted or 0, stats.rejected or 0),
    "",
    "The same numbers: `ghostline stats` in a terminal (add --svg FILE for a chart). q closes this window.",
  })
  return lines
end

--- Puts `lines` in the stats buffer, shown in a split (reused when already open).
local function display(lines)
  local bufnr = vim.fn.bufnr(M.buffer_name)
  if bufnr == -1 then
    bufnr = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(bufnr, M.buffer_name)
    vim.bo[bufnr].bufhidden = "wipe"
    vim.bo[bufnr].filetype = "ghostlinestats"
    vim.keymap.set("n", "q", "<Cmd>close<CR>", { buffer = bufnr, nowait = true, desc = "ghostline: close the stats" })
  end
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  local window = vim.fn.bufwinid(bufnr)
  if window == -1 then
    vim.cmd("botright " .. math.min(#lines, 30) .. "split")
    vim.api.nvim_win_set_buf(0, bufnr)
  else
    vim.api.nvim_set_current_win(window)
  end
end

--- `:GhostlineStats`: asks the current buffer's server (or any running one) and shows the answer.
function M.show()
  local server = client.get(vim.api.nvim_get_current_buf()) or client.all()[1]
  if not server then
    vim.notify("ghostline: no server is running (open a file it attaches to)", vim.log.levels.WARN)
    return
  end
  client.request(server, "ghostline/stats", vim.empty_dict(), function(err, result)
    vim.schedule(function()
      if err or type(result) ~= "table" then
        vim.notify("ghostline: no stats from the server: " .. vim.inspect(err), vim.log.levels.WARN)
        return
      end
      display(M.format(result))
    end)
  end)
end

return M
