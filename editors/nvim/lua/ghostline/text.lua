--- ghostline.text: pure helpers for positions and text (LSP position units, word/line chunks); no editor state.
local M = {}

--- Length in bytes of the UTF-8 sequence starting with byte `b`.
local function sequence_length(b)
  if b < 0x80 then return 1 elseif b < 0xE0 then return 2 elseif b < 0xF0 then return 3 end
  return 4
end

--- Converts an LSP `character` offset on `line` to a 0-based byte column, clamped to the line's end.
---@param line string
---@param character integer
---@param encoding "utf-8"|"utf-16"|"utf-32"
---@return integer
function M.byte_col(line, character, encoding)
  if encoding == "utf-8" then return math.min(character, #line) end
  local units, i = 0, 1
  while i <= #line and units < character do
    local length = sequence_length(line:byte(i))
    units = units + ((encoding == "utf-16" and length == 4) and 2 or 1)
    i = i + length
  end
  return math.min(i - 1, #line)
end

--- Number of `encoding` code units in `text`.
---@param text string
---@param encoding "utf-8"|"utf-16"|"utf-32"
---@return integer
function M.units(text, encoding)
  if encoding == "utf-8" then return #text end
  local units, i = 0, 1
  while i <= #text do
    local length = sequence_length(text:byte(i))
    units = units + ((encoding == "utf-16" and length == 4) and 2 or 1)
    i = i + length
  end
  return units
end

--- The position reached by starting at (row, col) and writing `text` (0-based rows, byte columns).
---@return integer, integer
function M.advance(row, col, text)
  local lines = vim.split(text, "\n", { plain = true })
  if #lines == 1 then return row, col + #text end
  return row + #lines - 1, #lines[#lines]
end

--- The next word of a suggestion: leading blanks plus one run of word characters, or of punctuation; a
--- leading newline (with the next line's indentation) counts as one word.
---@param text string
---@return string
function M.next_word(text)
  local newline = text:match("^\r?\n[ \t]*")
  if newline then return newline end
  return text:match("^[ \t]*[%w_\128-\255]+") or text:match("^[ \t]*[^%w_%s\128-\255]+") or text:match("^[ \t]+") or text
end

--- The rest of the suggestion's current line, or (when it starts with a line break) that break plus the next line.
---@param text string
---@return string
function M.next_line(text)
  local first = text:match("^[^\n]*")
  if first ~= "" then return first end
  local newline_and_line = text:match("^\n[^\n]*")
  return newline_and_line or text
end

--- Replaces tabs with spaces so virtual text lines up ('tabstop' wide, counted from `start_col` cells).
---@param text string
---@param tabstop integer
---@param start_col integer
---@return string
function M.expand_tabs(text, tabstop, start_col)
  if not text:find("\t", 1, true) then return text end
  local out, col = {}, start_col
  for char in text:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
    if char == "\t" then
      local width = tabstop - (col % tabstop)
      out[#out + 1] = string.rep(" ", width)
      col = col + width
    else
      out[#out + 1] = char
      col = col + 1
    end
  end
  return table.concat(out)
end

return M
