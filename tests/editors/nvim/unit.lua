--- unit.lua: table tests of the Neovim plugin's pure parts (position units, word/line chunks, option checks).
--- Run: nvim --clean --headless -l tests/editors/nvim/unit.lua editors/nvim
local plugin_dir = assert(arg[1], "usage: nvim -l unit.lua PLUGIN_DIR")
vim.opt.runtimepath:prepend(plugin_dir)
local text = require("ghostline.text")
local config = require("ghostline.config")

local passed, failed = 0, 0
local function eq(name, got, want)
  if vim.deep_equal(got, want) then
    passed = passed + 1
    io.stdout:write("ok - " .. name .. "\n")
  else
    failed = failed + 1
    io.stdout:write(("not ok - %s: got %s, want %s\n"):format(name, vim.inspect(got), vim.inspect(want)))
  end
end

-- LSP character offsets to byte columns: ASCII, 2-byte é, 3-byte 中, 4-byte 😀 (two UTF-16 units).
local line = "aé中😀b"
eq("byte_col utf-16 ascii", text.byte_col(line, 1, "utf-16"), 1)
eq("byte_col utf-16 after é", text.byte_col(line, 2, "utf-16"), 3)
eq("byte_col utf-16 after 中", text.byte_col(line, 3, "utf-16"), 6)
eq("byte_col utf-16 after 😀 (surrogate pair)", text.byte_col(line, 5, "utf-16"), 10)
eq("byte_col utf-32 after 😀", text.byte_col(line, 4, "utf-32"), 10)
eq("byte_col utf-8", text.byte_col(line, 3, "utf-8"), 3)
eq("byte_col clamps past the end", text.byte_col(line, 4294967295, "utf-16"), #line)
eq("units utf-16", text.units(line, "utf-16"), 6)
eq("units utf-32", text.units(line, "utf-32"), 5)
eq("units utf-8", text.units(line, "utf-8"), #line)

eq("advance same line", { text.advance(2, 4, "abc") }, { 2, 7 })
eq("advance over lines", { text.advance(2, 4, "ab\ncd\nxyz") }, { 4, 3 })

eq("next_word identifier", text.next_word("foo_bar(x)"), "foo_bar")
eq("next_word leading blanks", text.next_word("  + b"), "  +")
eq("next_word punctuation run", text.next_word("();\n}"), "();")
eq("next_word newline takes the indentation", text.next_word("\n    let x"), "\n    ")
eq("next_word non-ASCII letters stay whole", text.next_word("café + 1"), "café")
eq("next_line rest of line", text.next_line("a + b\n}"), "a + b")
eq("next_line at a line break", text.next_line("\n    x = 1\n}"), "\n    x = 1")

eq("expand_tabs", text.expand_tabs("\tx\ty", 4, 0), "    x   y")
eq("expand_tabs from a column", text.expand_tabs("\tx", 4, 2), "  x")

local ok, err = pcall(config.resolve, { server = { device = "tpu" } })
eq("bad device is refused", ok == false and err:match("device") ~= nil, true)
eq("keymaps = true gives the defaults", config.resolve({ keymaps = true }).keymaps.accept, "<Tab>")
eq("keymaps table overrides one key", config.resolve({ keymaps = { accept = "<C-l>" } }).keymaps.accept_word, "<M-Right>")
eq("keymaps off by default", config.resolve({}).keymaps, false)
config.options = config.resolve({ bin = "/opt/ghostline", log_file = "/tmp/g.log" })
eq("cmd from bin and log_file", config.cmd(), { "/opt/ghostline", "lsp", "--log-file", "/tmp/g.log" })
config.options = config.resolve({ filetypes = { "rust" } })
eq("filetypes allow-list", { config.filetype_enabled("rust"), config.filetype_enabled("lua") }, { true, false })

-- A missing server binary is reported (notification, status line, :checkhealth), not silently ignored.
local notified = {}
vim.notify = function(message) notified[#notified + 1] = message end
local ghostline = require("ghostline")
ghostline.setup({ bin = "/nonexistent/ghostline" })
vim.cmd("edit " .. vim.fn.tempname() .. ".rs")
vim.bo.filetype = "rust"
eq("missing server: user is notified", (notified[1] or ""):match("not found") ~= nil, true)
eq("missing server: status line", ghostline.status(), "ghostline: not installed")
vim.cmd("checkhealth ghostline")
io.stdout:write("\n") -- after checkhealth's progress message
local health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
eq("missing server: :checkhealth reports an error", health:match("ERROR[^\n]*/nonexistent/ghostline[^\n]*not found") ~= nil, true)

io.stdout:write(("nvim-unit: %d passed, %d failed\n"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
