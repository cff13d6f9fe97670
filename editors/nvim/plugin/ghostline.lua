--- ghostline plugin entry: defines the <Plug>(ghostline-…) insert-mode mappings; everything else waits for setup().
if vim.g.loaded_ghostline then return end
vim.g.loaded_ghostline = true

local function plug(name, method)
  vim.keymap.set("i", "<Plug>(ghostline-" .. name .. ")", function()
    local ghostline = require("ghostline")
    if ghostline.did_setup then ghostline[method]() end
  end, { silent = true, desc = "ghostline: " .. name })
end

plug("accept", "accept")
plug("accept-word", "accept_word")
plug("accept-line", "accept_line")
plug("next", "next")
plug("prev", "prev")
plug("dismiss", "dismiss")
plug("trigger", "trigger")
