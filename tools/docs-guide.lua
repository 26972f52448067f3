-- Pandoc filter: a guide of docs/*.md as an extra document of the docsite
-- (docs/docsite/rst/, antsibull-docs). Run by tools/docs with the metadata
-- `page` (the guide's name, e.g. testing) and `repository` (galaxy.yml's).
--
-- Each page and each heading gets an RST label with the prefix antsibull-docs
-- requires (ansible_collections.mptcp.linux.docsite.), named after the
-- heading's GitHub anchor, so that the links GitHub follows work in the site:
--   other.md, other.md#anchor, #anchor -> :ref: to that page or heading
--   ../roles/NAME/README.md            -> :ref: to the role's generated page
--   ../any/other/path                  -> the file on the repository's web page
local prefix = 'ansible_collections.mptcp.linux.docsite.'
local page, repository

local function label(name, anchor)
  return prefix .. name .. (anchor and anchor ~= '' and ('.' .. anchor) or '')
end

local function ref(content, target)
  local text = pandoc.utils.stringify(content):gsub('[`<>]', '')
  return pandoc.RawInline('rst', ':ref:`' .. text .. ' <' .. target .. '>`')
end

local function meta(m)
  page = pandoc.utils.stringify(m.page)
  repository = pandoc.utils.stringify(m.repository)
end

local first_header = true

local function header(el)
  -- Pandoc writes the identifier as the heading's label.
  if first_header then
    first_header = false
    el.identifier = label(page)
  else
    el.identifier = label(page, el.identifier)
  end
  return el
end

local function link(el)
  local target = el.target
  if target:match('^%a[%w+.-]*:') then
    return nil  -- http:, https:, mailto:
  end
  local name, anchor = target:match('^([%w_-]+)%.md#?(.*)$')
  if name then
    return ref(el.content, label(name, anchor))
  end
  anchor = target:match('^#(.+)$')
  if anchor then
    return ref(el.content, label(page, anchor))
  end
  local role = target:match('^%.%./roles/([%w_]+)/README%.md$')
  if role then
    return ref(el.content, 'ansible_collections.mptcp.linux.' .. role .. '_role')
  end
  local path = target:match('^%.%./(.+)$')
  if path then
    el.target = repository .. '/blob/main/' .. path
    return el
  end
  -- Another file beside the guides (a plot, a data file): in the repository.
  local file = target:match('^([%w_-][%w_.-]*)$')
  if file then
    el.target = repository .. '/blob/main/docs/' .. file
    return el
  end
  error('docs/' .. page .. '.md: no rule for the link target ' .. target)
end

-- An image beside the guides (a plot) is shown from the repository: the
-- docsite holds the guides' text only.
local function image(el)
  if not el.src:match('^%a[%w+.-]*:') then
    el.src = repository .. '/raw/main/docs/' .. el.src
  end
  return el
end

-- A fence without a language is plain text, not the site's default YAML.
local function code_block(el)
  if #el.classes == 0 then
    el.classes = { 'text' }
  end
  return el
end

return {
  { Meta = meta },
  { Header = header, Link = link, Image = image, CodeBlock = code_block },
}
