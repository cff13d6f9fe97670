--- init.lua of the Neovim under test: loads the plugin from the repository and sets it up like a user would.
--- Environment: GHOSTLINE_PLUGIN_DIR (editors/nvim), GHOSTLINE_CMD (JSON array: the server command line).
vim.opt.runtimepath:prepend(assert(os.getenv("GHOSTLINE_PLUGIN_DIR"), "GHOSTLINE_PLUGIN_DIR is not set"))
vim.opt.swapfile = false
vim.opt.shortmess:append("I")
vim.opt.expandtab = true
vim.opt.shiftwidth = 4
vim.opt.autoindent = true
vim.cmd("filetype plugin indent on")
vim.cmd("syntax on")

-- A 256-colour grey for comments (and so for the ghost text, linked to Comment) so the .ansi screen captures show
-- the ghost text dimmed as in a user's terminal.
vim.o.termguicolors = false
vim.api.nvim_set_hl(0, "Comment", { ctermfg = 244, italic = true })

require("ghostline").setup({
  cmd = vim.json.decode((assert(os.getenv("GHOSTLINE_CMD"), "GHOSTLINE_CMD is not set"))),
  keymaps = true,
  debounce_ms = 30,
  server = { maxLines = 4, modelPath = (os.getenv("GHOSTLINE_TEST_MODEL_PATH") or "") ~= "" and os.getenv("GHOSTLINE_TEST_MODEL_PATH") or nil },
})
