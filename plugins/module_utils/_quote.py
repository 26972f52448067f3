# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: write a value into a foreign format so that its consumer reads
back exactly that value, or refuse it.

One section per format, each with the renderer the roles use and a parser
that follows the consumer's own rules (the tests render, parse back and
compare; the integration tests check the parsers against the real consumer):

- systemd unit files: ``ExecStart=`` words, ``Environment=`` assignments,
  plain values such as ``Description=``, unit-name escaping of paths
  (systemd.syntax(7), systemd.service(5) "Command lines", systemd-escape(1));
- nginx configuration tokens, as ``ngx_conf_read_token()`` reads them;
- ``ip -batch`` words, as iproute2's ``getcmdline()`` and ``makeargs()``
  read them.

Every function raises QuoteError with the reason; the caller adds the name
of the variable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import unicodedata


class QuoteError(ValueError):
    pass


def _no_nul(text):
    if "\x00" in text:
        raise QuoteError("contains a NUL character, which no configuration file can carry")


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeError:
        raise QuoteError("is not valid Unicode (a lone surrogate)")


def _printable(char):
    return not unicodedata.category(char).startswith("C") and char not in "\u2028\u2029"


# ---------------------------------------------------------------- systemd
#
# A unit file is read line by line: "\n", "\r" and NUL end a line, a line
# ending in a backslash continues on the next one, "#" and ";" at the start
# of a line make it a comment, and the value of "Key=value" is stripped of
# surrounding blanks. Specifiers ("%n", "%%") are resolved in almost every
# setting. ExecStart= and Environment= then split the value into words:
# double or single quotes group a word, and C escapes ("\n", "\x41",
# "\u00e9", "\\", "\"") are resolved in it. ExecStart= finally replaces
# "$NAME", "${NAME}" and "$$" with the environment, and a word that is a lone
# ";" separates two commands.

SYSTEMD_BLANKS = " \t\n\r"
_EXEC_PREFIXES = "@-:+!|"
_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r",
              "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def _systemd_escape_char(char):
    if char in _C_ESCAPES:
        return _C_ESCAPES[char]
    if _printable(char):
        return char
    code = ord(char)
    if code < 0x100:
        return "\\x%02x" % code
    if code < 0x10000:
        return "\\u%04x" % code
    return "\\U%08x" % code


def systemd_quoted(text, expand_env):
    """One double-quoted word for ExecStart= (``expand_env``) or
    Environment=: specifiers, "$" (ExecStart only), quotes, backslashes and
    control characters are escaped, so systemd's word splitting gives back
    ``text``."""
    _no_nul(text)
    _encodable(text)
    body = "".join(_systemd_escape_char(c) for c in text).replace("%", "%%")
    if expand_env:
        body = body.replace("$", "$$")
    return '"%s"' % body


_PLAIN_EXEC_WORD = re.compile(r"[A-Za-z0-9_./,+=@^~-]+")


def systemd_exec_word(word):
    """An ExecStart= argument, read back by systemd as exactly ``word``."""
    word = u"%s" % (word,)
    if word == ";":
        return "\\;"  # a lone ";", even quoted, separates commands
    if _PLAIN_EXEC_WORD.fullmatch(word):
        return word
    return systemd_quoted(word, expand_env=True)


def systemd_exec_argv(argv):
    """The value of ExecStart= that runs ``argv`` as it is: no shell, no
    environment expansion, no specifiers."""
    if not argv:
        raise QuoteError("is empty; give the program to run")
    program = u"%s" % (argv[0],)
    _check_program(program)
    return " ".join(systemd_exec_word(w) for w in argv)


def _check_program(program):
    if not program:
        raise QuoteError("starts with an empty program name")
    if program[0] in _EXEC_PREFIXES:
        raise QuoteError("the program %r starts with %r, which systemd reads as an ExecStart= prefix"
                         % (program, program[0]))
    if "/" in program and not program.startswith("/"):
        raise QuoteError("the program %r is a relative path; give an absolute path or a bare command name" % program)


def systemd_env(name, value):
    """One Environment= assignment, read back as NAME=value."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or ""):
        raise QuoteError("%r is not an environment variable name" % (name,))
    return systemd_quoted(u"%s=%s" % (name, value), expand_env=False)


def systemd_value(text):
    """A value systemd takes as the rest of the line (Description=, ...):
    only specifiers can be escaped there."""
    text = u"%s" % (text,)
    _no_nul(text)
    _encodable(text)
    bad = [c for c in text if not _printable(c)]
    if bad:
        raise QuoteError("contains the control character %r, which would end or change the line" % bad[0])
    if text != text.strip(SYSTEMD_BLANKS):
        raise QuoteError("starts or ends with a blank, which systemd strips")
    if text.endswith("\\"):
        raise QuoteError("ends with a backslash, which would join the next line to this one")
    return text.replace("%", "%%")


def systemd_escape_path(path):
    """``systemd-escape --path PATH``: the unit-name form of a path, e.g. the
    device unit of an interface (sys-subsystem-net-devices-NAME.device)."""
    path = u"%s" % (path,)
    _no_nul(path)
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "-"
    for part in parts:
        if part in (".", ".."):
            raise QuoteError("%r is not a normalized path" % path)
    out = []
    for index, part in enumerate(parts):
        for position, char in enumerate(part):
            if char.isascii() and (char.isalnum() or char in ":_") or (char == "." and (index or position)):
                out.append(char)
            else:
                out.extend("\\x%02x" % b for b in char.encode("utf-8"))
        out.append("-")
    return "".join(out[:-1])


# Parsers that follow systemd's rules (fs/extract-word.c, cunescape()):
# the tests check the renderers against them, and the VM tests check them
# against systemd.

_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"
_SIMPLE_UNESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                     "\\": "\\", '"': '"', "'": "'", "s": " "}


def _cunescape_one(text, pos):
    """(text, new pos) for the C escape whose backslash is at pos-1."""
    if pos >= len(text):
        raise QuoteError("ends with an unfinished escape")
    char = text[pos]
    if char in _SIMPLE_UNESCAPES:
        return _SIMPLE_UNESCAPES[char], pos + 1
    for lead, width in (("x", 2), ("u", 4), ("U", 8)):
        if char == lead:
            chunk = text[pos + 1:pos + 1 + width]
            if len(chunk) != width or any(c not in _HEX for c in chunk):
                raise QuoteError("has an invalid \\%s escape" % lead)
            code = int(chunk, 16)
            if code == 0 or code > 0x10FFFF:
                raise QuoteError("has an escape for a character systemd refuses")
            return chr(code), pos + 1 + width
    if char in _OCTAL:
        chunk = text[pos:pos + 3]
        if len(chunk) != 3 or any(c not in _OCTAL for c in chunk) or int(chunk, 8) == 0:
            raise QuoteError("has an invalid octal escape")
        return chr(int(chunk, 8)), pos + 3
    raise QuoteError("has an unknown escape \\%s" % char)


def _systemd_extract(value, pos):
    """extract_first_word(EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE) at ``pos``
    (a word start): (word, position after it)."""
    word, quote, end = [], None, len(value)
    while pos < end:
        char = value[pos]
        if quote is None and char in SYSTEMD_BLANKS:
            break
        if char == "\\":
            unescaped, pos = _cunescape_one(value, pos + 1)
            word.append(unescaped)
            continue
        if quote is None and char in "\"'":
            quote = char
        elif quote is not None and char == quote:
            quote = None
        else:
            word.append(char)
        pos += 1
    if quote is not None:
        raise QuoteError("has an unterminated %s quote" % quote)
    return "".join(word), pos


def _systemd_words(value, exec_rules=False):
    """(raw, word) for each word of a value; raw is the text as written.
    With ``exec_rules`` (config_parse_exec), a lone unquoted ";" is yielded
    as it is and a lone "\\;" as the literal ";", before any unescaping."""
    pos, end = 0, len(value)
    while True:
        while pos < end and value[pos] in SYSTEMD_BLANKS:
            pos += 1
        if pos >= end:
            return
        start = pos
        for raw in (";", "\\;"):
            stop = pos + len(raw)
            if exec_rules and value[pos:stop] == raw and (stop == end or value[stop] in SYSTEMD_BLANKS):
                pos = stop
                yield raw, ";"
                break
        else:
            word, pos = _systemd_extract(value, pos)
            yield value[start:pos], word


def systemd_split(value):
    """The words Environment= and similar settings read from a value."""
    return [systemd_specifiers(word) for raw, word in _systemd_words(value)]


def systemd_specifiers(value):
    """Resolve "%%" as systemd does; any other specifier is refused here."""
    out, pos = [], 0
    while pos < len(value):
        char = value[pos]
        if char == "%":
            if value[pos + 1:pos + 2] != "%":
                raise QuoteError("uses the specifier %r" % value[pos:pos + 2])
            pos += 2
            out.append("%")
            continue
        out.append(char)
        pos += 1
    return "".join(out)


def _exec_words(value, specifiers):
    """ExecStart= words: a lone unquoted ";" separates commands (refused
    here), a lone "\\;" is a literal ";" (config_parse_exec)."""
    words = []
    for raw, word in _systemd_words(value, exec_rules=True):
        if raw == ";":
            raise QuoteError("holds a lone ';', which systemd reads as the start of a second command")
        words.append(word if raw == "\\;" else specifiers(word))
    return words


def systemd_exec_parse(value):
    """argv as systemd runs ExecStart=VALUE with an empty environment
    ("$$" is "$")."""
    return [w.replace("$$", "$") for w in _exec_words(value, systemd_specifiers)]


def systemd_env_parse(value):
    """The assignments systemd reads from Environment=VALUE."""
    return systemd_split(value)


def systemd_exec_string_problems(value):
    """The checked ExecStart= command line of a string: it is systemd syntax,
    written as it is, so specifiers and $VARIABLES keep their meaning; what
    would change the unit file or start a second command is refused."""
    value = u"%s" % (value,)
    _no_nul(value)
    bad = [c for c in value if not _printable(c)]
    if bad:
        raise QuoteError("contains the control character %r; give exec_start as a list to pass it" % bad[0])
    stripped = value.strip(SYSTEMD_BLANKS)
    if stripped.endswith("\\"):
        raise QuoteError("ends with a backslash, which would join the next line of the unit to this command")
    words = _exec_words(stripped, lambda word: word)  # specifiers are systemd's business here
    if not words:
        raise QuoteError("is empty; give the program to run")
    _check_program(words[0])
    return stripped


# ---------------------------------------------------------------- nginx
#
# ngx_conf_read_token(): blanks (space, tab, CR, LF) separate words; ";"
# ends a directive, "{" and "}" open and close a block; "#" at the start of
# a word comments out the rest of the line; a word starting with a double or
# single quote runs to the matching unescaped quote, and must be followed by
# a blank, ";" or "{"; a backslash makes the next character part of the
# word. In every word "\\", "\"" and "\'" then stand for the character, and
# "\t", "\r", "\n" for the control characters; any other backslash stays.

NGINX_BLANKS = " \t\r\n"
_NGINX_PLAIN = re.compile(r"[A-Za-z0-9_./:=@,+*~^%!?\[\]()&|<>-]+")


def nginx_word(text):
    """One nginx argument, read back by nginx's tokenizer as exactly ``text``
    ("$name" keeps its meaning: directives that take variables expand it)."""
    text = u"%s" % (text,)
    _no_nul(text)
    _encodable(text)
    if _NGINX_PLAIN.fullmatch(text):
        return text
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    body = body.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")
    return '"%s"' % body


def _nginx_unescape(raw):
    out, pos = [], 0
    while pos < len(raw):
        char = raw[pos]
        if char == "\\" and pos + 1 < len(raw):
            nxt = raw[pos + 1]
            if nxt in "\"'\\":
                out.append(nxt)
                pos += 2
                continue
            if nxt in "trn":
                out.append({"t": "\t", "r": "\r", "n": "\n"}[nxt])
                pos += 2
                continue
        out.append(char)
        pos += 1
    return "".join(out)


def nginx_lex(text):
    """Tokens and structure of nginx configuration text: a list of
    (kind, value) with kind "word", ";", "{", "}" or "comment"."""
    tokens = []
    pos, end = 0, len(text)
    while pos < end:
        char = text[pos]
        if char in NGINX_BLANKS:
            pos += 1
            continue
        if char in ";{}":
            tokens.append((char, char))
            pos += 1
            continue
        if char == "#":
            stop = text.find("\n", pos)
            stop = end if stop < 0 else stop
            tokens.append(("comment", text[pos:stop]))
            pos = stop
            continue
        if char in "\"'":
            quote, start = char, pos + 1
            pos = start
            while pos < end and text[pos] != quote:
                pos += 2 if text[pos] == "\\" else 1
            if pos >= end:
                raise QuoteError("has an unterminated %s quote" % quote)
            tokens.append(("word", _nginx_unescape(text[start:pos])))
            pos += 1
            if pos < end and text[pos] not in NGINX_BLANKS + ";{)":
                raise QuoteError("has %r right after a closing quote, which nginx refuses" % text[pos])
            continue
        # A word ends at a blank, ";" or "{" ("${" is a variable, not a
        # block); "}" and "#" inside a word are part of it.
        start = pos
        while pos < end:
            char = text[pos]
            if char == "\\":
                pos += 2
                continue
            if char in NGINX_BLANKS or char == ";" or (char == "{" and text[pos - 1:pos] != "$"):
                break
            pos += 1
        if pos > end:
            raise QuoteError("ends with a backslash, which would escape what follows it")
        tokens.append(("word", _nginx_unescape(text[start:pos])))
    return tokens


def nginx_arguments(text):
    """The words of a string of nginx arguments (a directive without its
    ";", a location match, a return value), or QuoteError when the string
    holds more than words: a ";", "{" or "}" that would end or open a block,
    or a "#" that would comment out the rest of the line."""
    text = u"%s" % (text,)
    _no_nul(text)
    _encodable(text)
    words = []
    for kind, value in nginx_lex(text):
        if kind == "comment":
            raise QuoteError("has %r, which starts an nginx comment and hides the rest of the line "
                             "(quote the word to keep the #)" % value)
        if kind != "word":
            raise QuoteError("has %r outside quotes, which ends or opens an nginx block or directive "
                             "(quote the word to keep it)" % value)
        words.append(value)
    return words


def nginx_directive(text):
    """A directive string (words, no final ";") rewritten with each word
    quoted for nginx, so that it is one directive however it was written."""
    words = nginx_arguments(text)
    if not words:
        raise QuoteError("is empty")
    return " ".join(nginx_word(w) for w in words)


# ---------------------------------------------------------------- ip -batch
#
# iproute2 reads a batch file line by line (getcmdline): everything from
# the first "#" on, even inside quotes, is a comment, and a backslash before
# the end of a line joins the next one. makeargs() then splits on blanks; a
# word that starts with a double or single quote runs to the next such
# quote, with no escapes.

IP_BLANKS = " \t\r\n"


def ip_batch_word(text):
    """One ``ip -batch`` argument, read back as exactly ``text``."""
    text = u"%s" % (text,)
    _no_nul(text)
    _encodable(text)
    if "#" in text:
        raise QuoteError("contains '#', which ip -batch reads as the start of a comment, even in quotes")
    if "\n" in text or "\r" in text:
        raise QuoteError("contains a line break, which would split the ip -batch line")
    if text.endswith("\\"):
        raise QuoteError("ends with a backslash, which ip -batch reads as a line continuation")
    if text and not any(c in IP_BLANKS for c in text) and text[0] not in "\"'":
        return text
    for quote in "\"'":
        if quote not in text:
            return quote + text + quote
    raise QuoteError("contains both quote characters and needs quoting, which ip -batch cannot express")


def ip_batch_line(words):
    return " ".join(ip_batch_word(w) for w in words)


def ip_batch_split(line):
    """The argument vector iproute2 makes of one batch line."""
    cut = line.find("#")
    if cut >= 0:
        line = line[:cut]
    words, pos, end = [], 0, len(line)
    while pos < end:
        while pos < end and line[pos] in IP_BLANKS:
            pos += 1
        if pos >= end:
            break
        if line[pos] in "\"'":
            quote = line[pos]
            stop = line.find(quote, pos + 1)
            if stop < 0:
                raise QuoteError("unterminated quoted string")
            words.append(line[pos + 1:stop])
            pos = stop + 1
        else:
            stop = pos
            while stop < end and line[stop] not in IP_BLANKS:
                stop += 1
            words.append(line[pos:stop])
            pos = stop + 1
    return words
