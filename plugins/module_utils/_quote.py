# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: write a value into a foreign format so that its consumer reads
back exactly that value, or refuse it.

One section per format, each with the renderer the roles use (the tests
read what it writes back with ports of the consumer's own reader,
tests/quote_consumers.py, and the integration tests with the real
consumer):

- systemd unit files: ``ExecStart=`` words, ``Environment=`` assignments,
  plain values such as ``Description=``, unit-name escaping of paths
  (systemd.syntax(7), systemd.service(5) "Command lines", systemd-escape(1));
- nginx configuration tokens, as ``ngx_conf_read_token()`` reads them;
- ``ip -batch`` words, as iproute2's ``getcmdline()`` and ``makeargs()``
  read them;
- Prometheus text exposition (format 0.0.4, what node_exporter's textfile
  collector reads): metric and label names, label values, HELP text;
- assignments in files that systemd reads as ``EnvironmentFile=`` and a
  shell sources, such as Debian's /etc/default/* (one reading both agree on);
- HTML text and attribute values, and Markdown table cells (the fleet
  report).

A renderer refuses a value only when the format cannot carry it; every
function raises QuoteError with the reason, and the caller adds the name of
the variable. docs/quoting.md lists the rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import unicodedata


class QuoteError(ValueError):
    pass


def _text(value):
    """A scalar as text: strings as they are, numbers as they print;
    anything else (None, a boolean, a list) is a mistake of the caller."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise QuoteError("is a %s, not a string" % type(value).__name__)
    return u"%s" % (value,)


def _no_nul(text):
    if "\x00" in text:
        raise QuoteError("contains a NUL character, which no configuration file can carry")


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeError:
        raise QuoteError("is not valid Unicode (a lone surrogate)")


def _utf8(text):
    _encodable(text)
    return text.encode("utf-8")


def _printable(char):
    """Whether a character is written as it is inside a quoted word
    (otherwise it is escaped): not a control, format, private-use or
    unassigned character, nor a line or paragraph separator."""
    return not unicodedata.category(char).startswith("C") and char not in "\u2028\u2029"


# ---------------------------------------------------------------- systemd
#
# A unit file is read line by line (conf-parser.c, read_line()): "\n", "\r"
# and NUL end a line, a line ending in an unescaped backslash continues on
# the next one (the backslash becomes a blank), "#" and ";" at the start of
# a line make it a comment, a line that is not valid UTF-8 is ignored, and
# the value of "Key=value" is stripped of surrounding blanks. systemd's
# UTF-8 check also refuses the noncharacters U+FDD0..U+FDEF and U+xFFFE,
# U+xFFFF of every plane. Specifiers ("%n", "%%") are resolved in almost
# every setting. ExecStart= and Environment= split the value into words
# (extract_first_word()): double or single quotes group a word, and C escapes
# ("\n", "\x41", "\u00e9", "\\", "\"") are resolved in it; "\xNN" and octal
# escapes give the raw byte, not a character. ExecStart= finally replaces
# "$NAME", "${NAME}" and "$$" with the environment, and a word that is a lone
# ";" separates two commands (config_parse_exec()).

SYSTEMD_BLANKS = " \t\n\r"
# read_line(f, LONG_LINE_MAX): the longest line systemd reads is 1 MiB - 1
# bytes; a rendered value leaves room for its key ("ExecStartPost=").
SYSTEMD_LINE_MAX = 1024 * 1024 - 1
SYSTEMD_VALUE_MAX = SYSTEMD_LINE_MAX - 64
_EXEC_PREFIXES = "@-:+!|"
_C_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r",
              "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}
_PATH_MAX = 4096  # with the final NUL
_NAME_MAX = 255
# The specifiers of unit files in systemd 252 and 257 (unit-printf.c and
# specifier.h); "%" before any other letter or digit fails the setting.
# %D (the shared data directory) is newer than 252, which refuses it
# ("Failed to resolve unit specifiers ... Invalid slot").
SYSTEMD_SPECIFIERS = "aAbBcCdEfgGhHiIjJlLmMnNopPqrRsStTuUvVwWyY"


def _systemd_noncharacter(char):
    """A code point that systemd's utf8_is_valid() refuses."""
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE or 0xD800 <= code <= 0xDFFF


def _no_systemd_noncharacter(text, where):
    for char in text:
        if _systemd_noncharacter(char):
            raise QuoteError("contains the Unicode noncharacter U+%04X, which systemd refuses as invalid UTF-8%s"
                             % (ord(char), where))


def _systemd_length(rendered):
    size = len(rendered.encode("utf-8"))
    if size > SYSTEMD_VALUE_MAX:
        raise QuoteError("is %d bytes long once written, more than a line of a unit file takes (%d)"
                         % (size, SYSTEMD_VALUE_MAX))
    return rendered


def _odd_trailing_backslashes(text):
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


_ESCAPED = dict(_C_ESCAPES)


def _systemd_escape_char(char):
    escaped = _ESCAPED.get(char)
    if escaped is None:
        # The bytes of the character: "\u" escapes refuse noncharacters
        # and "\U" refuses more, while byte escapes carry any UTF-8
        # sequence.
        escaped = char if _printable(char) else "".join("\\x%02x" % b for b in bytearray(char.encode("utf-8")))
        if len(_ESCAPED) < 4096:
            _ESCAPED[char] = escaped
    return escaped


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
    """An ExecStart= argument (not the program), read back by systemd as
    exactly ``word``."""
    word = _text(word)
    if word == ";":
        return "\\;"  # bare, a lone ";" separates commands
    if _PLAIN_EXEC_WORD.fullmatch(word):
        return word
    return systemd_quoted(word, expand_env=True)


def systemd_exec_argv(argv):
    """The value of ExecStart= that runs ``argv`` as it is: no shell, no
    environment expansion, no specifiers."""
    if isinstance(argv, (str, bytes)) or not isinstance(argv, (list, tuple)):
        raise QuoteError("is a %s, not a list of arguments" % type(argv).__name__)
    if not argv:
        raise QuoteError("is empty; give the program to run")
    program = _text(argv[0])
    _no_nul(program)
    _encodable(program)
    _check_program(program)
    # The program is the path systemd runs, which no "$" expansion
    # touches; _check_program() made sure argv[0] (the same text) is not
    # changed by it either.
    first = program if _PLAIN_EXEC_WORD.fullmatch(program) else systemd_quoted(program, expand_env=False)
    return _systemd_length(" ".join([first] + [systemd_exec_word(w) for w in argv[1:]]))


def _systemd_path_problem(path):
    """Why config_parse_exec() refuses the program ``path`` (bytes, its
    specifiers resolved), or None."""
    if not path:
        return "is empty"
    unsafe = [b for b in bytearray(path) if b < 0x20 or b in bytearray(b"\"'\\\x7f")]
    if unsafe:
        return "contains %r, which systemd does not accept in an executable path" % chr(unsafe[0])
    if path in (b".", b"..") or path.endswith((b"/", b"/.", b"/..")):
        return "names a directory"
    if not path.startswith(b"/"):
        if b"/" in path:
            return "is a relative path; give an absolute path or a bare command name"
        if len(path) > _NAME_MAX:
            return "is longer than %d bytes" % _NAME_MAX
        return None
    if any(len(part) > _NAME_MAX for part in path.split(b"/")):
        return "has a path component longer than %d bytes" % _NAME_MAX
    if len(path) >= _PATH_MAX:
        return "is %d bytes long, the longest path is %d" % (len(path), _PATH_MAX - 1)
    return None


def _check_program(program):
    """The program of an ExecStart= command, as config_parse_exec() accepts
    it. Its text is both the path systemd runs and argv[0]; only argv[0]
    goes through environment expansion, so a program that expansion would
    change ("$$", "${NAME}", a leading "$") cannot be written. ``program``
    may hold bytes that are not UTF-8 as lone surrogates (surrogateescape)."""
    if not program:
        raise QuoteError("starts with an empty program name")
    if program[0] in _EXEC_PREFIXES:
        raise QuoteError("the program %r starts with %r, which systemd reads as an ExecStart= prefix"
                         % (program, program[0]))
    if program == ";":
        raise QuoteError("the program is a lone ';', which systemd reads as a command separator")
    raw = program.encode("utf-8", "surrogateescape")
    problem = _systemd_path_problem(raw)
    if problem:
        raise QuoteError("the program %r %s" % (program, problem))
    if _replace_env(raw) != raw:
        raise QuoteError("the program %r contains '$' in a form systemd expands in argv[0] "
                         "but not in the path it runs" % program)


def systemd_env(name, value):
    """One Environment= assignment, read back as NAME=value."""
    name = _text(name)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise QuoteError("%r is not an environment variable name" % (name,))
    value = _text(value)
    _no_nul(value)
    _encodable(value)
    _no_systemd_noncharacter(value, " and ignores the assignment")
    return _systemd_length(systemd_quoted(u"%s=%s" % (name, value), expand_env=False))


def systemd_value(text):
    """A value systemd takes as the rest of the line (Description=, ...):
    only specifiers can be escaped there."""
    text = _text(text)
    _no_nul(text)
    _encodable(text)
    for char in "\n\r":
        if char in text:
            raise QuoteError("contains a line break (%r), which would end the line" % char)
    if text != text.strip(SYSTEMD_BLANKS):
        raise QuoteError("starts or ends with a blank, which systemd strips")
    if _odd_trailing_backslashes(text):
        raise QuoteError("ends with a backslash, which would join the next line to this one")
    _no_systemd_noncharacter(text, " and ignores the line")
    return _systemd_length(text.replace("%", "%%"))


def systemd_escape_path(path):
    """``systemd-escape --path PATH``: the unit-name form of a path, e.g. the
    device unit of an interface (sys-subsystem-net-devices-NAME.device).
    The path is simplified first (path_simplify(): repeated "/" and "."
    components go); what unit_name_path_escape() refuses is refused."""
    path = _text(path)
    _no_nul(path)
    raw = _utf8(path)
    parts = [p for p in raw.split(b"/") if p and p != b"."]
    if any(len(p) > _NAME_MAX for p in parts):
        raise QuoteError("%r has a component longer than %d bytes" % (path, _NAME_MAX))
    if b".." in parts:
        raise QuoteError("%r is not a normalized path (it has a '..' component)" % path)
    if not parts:
        if raw and not raw.startswith(b"/"):
            raise QuoteError("%r is not a normalized path" % path)
        return "-"
    simplified = (b"/" if raw.startswith(b"/") else b"") + b"/".join(parts)
    if len(simplified) >= _PATH_MAX:
        raise QuoteError("%r is %d bytes long, the longest path is %d" % (path, len(simplified), _PATH_MAX - 1))
    out = []
    for index, part in enumerate(parts):
        for position, byte in enumerate(bytearray(part)):
            char = chr(byte)
            if byte < 0x80 and (char.isalnum() or char in ":_" or (char == "." and (index or position))):
                out.append(char)
            else:
                out.append("\\x%02x" % byte)
        out.append("-")
    return "".join(out[:-1])


# Parsers that follow systemd's rules (extract-word.c, escape.c's
# cunescape_one(), load-fragment.c's config_parse_exec() and
# config_parse_environ(), specifier.c, env-util.c's replace_env_argv()).
# They work on the bytes systemd sees; a word that is not valid UTF-8 comes
# back with its stray bytes as lone surrogates (surrogateescape), so that it
# differs from any text.

_OCTAL = b"01234567"
_HEX = b"0123456789abcdefABCDEF"
_SIMPLE_UNESCAPES = {b"a": b"\a", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t",
                     b"v": b"\v", b"\\": b"\\", b'"': b'"', b"'": b"'", b"s": b" "}
_BLANK_BYTES = b" \t\n\r"


def _decode(raw):
    return raw.decode("utf-8", "surrogateescape")


def _cunescape_one(data, pos):
    """(bytes, new pos) for the C escape whose backslash is at pos-1."""
    if pos >= len(data):
        raise QuoteError("ends with an unfinished escape")
    char = data[pos:pos + 1]
    if char in _SIMPLE_UNESCAPES:
        return _SIMPLE_UNESCAPES[char], pos + 1
    if char == b"x":
        chunk = data[pos + 1:pos + 3]
        if len(chunk) != 2 or any(c not in _HEX for c in bytearray(chunk)) or int(chunk, 16) == 0:
            raise QuoteError("has an invalid \\x escape")
        return bytes(bytearray([int(chunk, 16)])), pos + 3
    for lead, width in ((b"u", 4), (b"U", 8)):
        if char == lead:
            chunk = data[pos + 1:pos + 1 + width]
            if len(chunk) != width or any(c not in _HEX for c in bytearray(chunk)):
                raise QuoteError("has an invalid \\%s escape" % lead.decode())
            code = int(chunk, 16)
            if code == 0 or (lead == b"U" and (code > 0x10FFFF or _systemd_noncharacter(chr(code)))):
                raise QuoteError("has an escape for a character systemd refuses")
            return chr(code).encode("utf-8", "surrogatepass"), pos + 1 + width
    if char in _OCTAL:
        chunk = data[pos:pos + 3]
        if len(chunk) != 3 or any(c not in _OCTAL for c in bytearray(chunk)):
            raise QuoteError("has an invalid octal escape")
        code = int(chunk, 8)
        if code == 0 or code > 255:
            raise QuoteError("has an invalid octal escape")
        return bytes(bytearray([code])), pos + 3
    raise QuoteError("has an unknown escape %r" % ("\\" + _decode(char)))


def _systemd_extract(data, pos):
    """extract_first_word(EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE) at ``pos``
    (a word start): (word bytes, position after it)."""
    word, quote, end = [], None, len(data)
    while pos < end:
        char = data[pos:pos + 1]
        if quote is None and char in _BLANK_BYTES:
            break
        if char == b"\\":
            unescaped, pos = _cunescape_one(data, pos + 1)
            word.append(unescaped)
            continue
        if quote is None and char in (b'"', b"'"):
            quote = char
        elif quote is not None and char == quote:
            quote = None
        else:
            word.append(char)
        pos += 1
    if quote is not None:
        raise QuoteError("has an unterminated %s quote" % _decode(quote))
    return b"".join(word), pos


def _skip_blanks(data, pos):
    while pos < len(data) and data[pos:pos + 1] in _BLANK_BYTES:
        pos += 1
    return pos


def _specifiers(raw):
    """specifier_printf() without a unit: "%%" is "%", a "%" before a
    letter or digit is a specifier (refused here), any other "%" stays."""
    out, pos = [], 0
    while pos < len(raw):
        char = raw[pos:pos + 1]
        if char == b"%" and pos + 1 < len(raw):
            nxt = raw[pos + 1:pos + 2]
            if nxt == b"%":
                out.append(b"%")
                pos += 2
                continue
            if nxt.isalnum():
                raise QuoteError("uses the specifier %r" % _decode(raw[pos:pos + 2]))
        out.append(char)
        pos += 1
    return b"".join(out)


def _known_specifiers(raw):
    """The word as it is, once its specifiers are known to systemd."""
    pos = 0
    while pos < len(raw):
        if raw[pos:pos + 1] == b"%" and pos + 1 < len(raw):
            nxt = raw[pos + 1:pos + 2]
            if nxt.isalnum() and nxt.decode() not in SYSTEMD_SPECIFIERS:
                raise QuoteError("uses %r, which is not a systemd specifier (write %%%% for a %%)"
                                 % _decode(raw[pos:pos + 2]))
            pos += 2
            continue
        pos += 1
    return raw


def _exec_words(value, resolve):
    """The argv of ExecStart=VALUE as config_parse_exec() builds it: the
    first word (a lone ";" there is a separator too) then the others, where
    a lone unquoted ";" separates commands (refused here) and a lone "\\;"
    is a literal ";". ``resolve`` handles the specifiers of each word."""
    data = _utf8(value)
    pos = _skip_blanks(data, 0)
    if pos >= len(data):
        return []
    first, pos = _systemd_extract(data, pos)
    if first == b";":
        raise QuoteError("starts with a lone ';', which systemd reads as a command separator")
    words = [resolve(first)]
    while True:
        pos = _skip_blanks(data, pos)
        if pos >= len(data):
            return words
        for raw, literal in ((b";", None), (b"\\;", b";")):
            stop = pos + len(raw)
            if data[pos:stop] == raw and (stop == len(data) or data[stop:stop + 1] in _BLANK_BYTES):
                if literal is None:
                    raise QuoteError("holds a lone ';', which systemd reads as the start of a second command")
                words.append(literal)
                pos = stop
                break
        else:
            word, pos = _systemd_extract(data, pos)
            words.append(resolve(word))


def _replace_env(word):
    """replace_env_argv() with an empty environment, for one word: a word
    "$NAME" disappears; in any other word, "${NAME}" is empty and "$$" is
    "$" (replace_env(), whose states these are: "${NAME:..." is not a
    variable, and an unterminated "${" keeps the rest as it is)."""
    if word[:1] == b"$" and word[1:2] not in (b"{", b"$"):
        return None
    if b"$" not in word:
        return word
    text, curly, variable = range(3)
    state, start, out = text, 0, []
    for pos in range(len(word)):
        char = word[pos:pos + 1]
        if state == text:
            if char == b"$":
                state = curly
        elif state == curly:
            if char == b"{":
                out.append(word[start:pos - 1])
                start, state = pos - 1, variable
            elif char == b"$":
                out.append(word[start:pos])
                start, state = pos + 1, text
            else:
                state = text
        elif char == b"}":
            start, state = pos + 1, text
        elif char == b":":
            state = text
    out.append(word[start:])
    return b"".join(out)


def systemd_exec_parse(value):
    """argv as systemd runs ExecStart=VALUE with an empty environment.
    Refused: what systemd refuses or warns about, a second command, a
    specifier, and a prefix (which this parser does not take apart)."""
    words = _exec_words(value, _specifiers)
    if words:
        if words[0][:1].decode("latin-1") in _EXEC_PREFIXES:
            raise QuoteError("starts with an ExecStart= prefix")
        problem = _systemd_path_problem(words[0])
        if problem:
            raise QuoteError("the program %r %s" % (_decode(words[0]), problem))
    argv = []
    for word in words:
        replaced = _replace_env(word)
        if replaced is not None:
            argv.append(_decode(replaced))
    return argv


def systemd_exec_string_problems(value):
    """The checked ExecStart= command line of a string: it is systemd syntax,
    written as it is, so specifiers and $VARIABLES keep their meaning; what
    would change the unit file, start a second command or make systemd
    ignore or warn about the line is refused."""
    value = _text(value)
    _no_nul(value)
    _encodable(value)
    stripped = value.strip(SYSTEMD_BLANKS)
    for char in "\n\r":
        if char in stripped:
            raise QuoteError("contains a line break (%r), which would end the line; give exec_start as a list "
                             "to pass it" % char)
    if _odd_trailing_backslashes(stripped):
        raise QuoteError("ends with a backslash, which would join the next line of the unit to this command")
    _no_systemd_noncharacter(stripped, " and ignores the line")
    words = _exec_words(stripped, _known_specifiers)  # resolving them is systemd's business here
    if not words:
        raise QuoteError("is empty; give the program to run")
    _check_program(_decode(words[0]))
    return _systemd_length(stripped)


# ---------------------------------------------------------------- nginx
#
# ngx_conf_read_token(): blanks (space, tab, CR, LF) separate words; ";"
# ends a directive, "{" and "}" open and close a block; "#" at the start of
# a word comments out the rest of the line; a word starting with a double or
# single quote runs to the matching unescaped quote, and must be followed by
# a blank, ";", "{" or ")"; a backslash makes the next character part of the
# word; "{" right after an unescaped "$" is part of the word ("${name}"). In
# every word "\\", "\"" and "\'" then stand for the character, and "\t",
# "\r", "\n" for the control characters; any other backslash stays.
# nginx reads its configuration through a 4096-byte buffer
# (NGX_CONF_BUFFER), and a word must fit in it together with the character
# after it: "too long parameter" otherwise.

NGINX_BLANKS = " \t\r\n"
NGINX_BUFFER = 4096
_NGINX_PLAIN = re.compile(r"[A-Za-z0-9_./:=@,+*~^%!?\[\]()&|<>-]+")


def _nginx_render(text):
    if _NGINX_PLAIN.fullmatch(text):
        return text
    # Tab, CR and LF escaped keep the word on one line.
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    body = body.replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")
    return '"%s"' % body


def nginx_word(text):
    """One nginx argument, read back by nginx's tokenizer as exactly ``text``
    ("$name" keeps its meaning: directives that take variables expand it)."""
    text = _text(text)
    _no_nul(text)
    _encodable(text)
    word = _nginx_render(text)
    quoted = word != text
    # What nginx holds in its buffer at once: the word without its opening
    # quote, and the blank read after it.
    span = len(word.encode("utf-8")) - quoted + 1
    if span >= NGINX_BUFFER:
        raise QuoteError("is %d bytes long once quoted, more than nginx reads as one word (%d)"
                         % (len(word.encode("utf-8")), NGINX_BUFFER - 2 + quoted))
    return word


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
        # A word ends at a blank, ";" or "{", except a "{" right after an
        # unescaped "$" ("${name}"); "}" and "#" inside a word are part of
        # it.
        start, variable = pos, False
        while pos < end:
            char = text[pos]
            if char == "{" and variable:
                pos += 1
                continue
            variable = False
            if char == "\\":
                pos += 2
                continue
            if char == "$":
                variable = True
            elif char in NGINX_BLANKS or char in ";{":
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
    text = _text(text)
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
# the first "#" on, even inside quotes, is a comment, and a backslash right
# before the line feed joins the next line. makeargs() then splits on
# blanks (space, tab, CR, LF); a word that starts with a double or single
# quote runs to the next such quote, with no escapes, and a line holds at
# most 99 words ("Too many arguments to command" ends the whole batch).

IP_BLANKS = " \t\r\n"
_IP_BLANK = re.compile("[ \t\r\n]")
IP_BATCH_MAX_WORDS = 99


def ip_batch_word(text):
    """One ``ip -batch`` argument, read back as exactly ``text``."""
    text = _text(text)
    _no_nul(text)
    _encodable(text)
    if "#" in text:
        raise QuoteError("contains '#', which ip -batch reads as the start of a comment, even in quotes")
    if "\n" in text:
        raise QuoteError("contains a line feed, which would end the ip -batch line")
    # A word ending in a backslash is quoted too: at the end of the line it
    # would join the next one.
    if text and not _IP_BLANK.search(text) and text[0] not in "\"'" and not text.endswith("\\"):
        return text
    for quote in "\"'":
        if quote not in text:
            return quote + text + quote
    raise QuoteError("contains both quote characters and needs quoting, which ip -batch cannot express")


def ip_batch_line(words):
    """One ``ip -batch`` line (without the line feed) that iproute2 reads as
    exactly ``words``."""
    if isinstance(words, (str, bytes)) or not isinstance(words, (list, tuple)):
        raise QuoteError("is a %s, not a list of words" % type(words).__name__)
    if len(words) > IP_BATCH_MAX_WORDS:
        raise QuoteError("has %d words; ip -batch takes at most %d on a line" % (len(words), IP_BATCH_MAX_WORDS))
    return " ".join(ip_batch_word(w) for w in words)


def ip_batch_split(line):
    """The argument vector iproute2 makes of one batch line (without its
    line feed)."""
    cut = line.find("#")
    if cut >= 0:
        line = line[:cut]
    elif line.endswith("\\"):
        raise QuoteError("ends with a backslash, which joins the next line to this one")
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
    if len(words) > IP_BATCH_MAX_WORDS:
        raise QuoteError("has %d words; ip -batch takes at most %d on a line" % (len(words), IP_BATCH_MAX_WORDS))
    return words


# ------------------------------------------------------ Prometheus text format
#
# The text exposition format 0.0.4 (prometheus/common expfmt, which
# node_exporter's textfile collector uses) is UTF-8. A label value is
# double-quoted; inside it the reader knows three escapes, backslash-backslash,
# backslash-quote and backslash-n, and refuses any other. A HELP text runs to
# the end of the line and knows two, backslash-backslash and backslash-n.
# Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
# [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__" (reserved).

PROMETHEUS_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
PROMETHEUS_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_PROMETHEUS_LABEL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n"}
_PROMETHEUS_HELP_ESCAPES = {"\\": "\\\\", "\n": "\\n"}


def prometheus_metric_name(name):
    """``name`` when it is a valid metric name, else QuoteError."""
    name = _text(name)
    if not PROMETHEUS_METRIC_NAME.match(name):
        raise QuoteError("%r is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)" % (name,))
    return name


def prometheus_label_name(name):
    """``name`` when it is a valid label name, else QuoteError."""
    name = _text(name)
    if not PROMETHEUS_LABEL_NAME.match(name) or name.startswith("__"):
        raise QuoteError("%r is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)" % (name,))
    return name


def prometheus_label_value(text):
    """A label value with its double quotes, read back as exactly ``text``."""
    text = _text(text)
    _encodable(text)
    return '"%s"' % "".join(_PROMETHEUS_LABEL_ESCAPES.get(char, char) for char in text)


def prometheus_help(text):
    """The text of a ``# HELP`` line (after the metric name), read back as
    exactly ``text``."""
    text = _text(text)
    _encodable(text)
    return "".join(_PROMETHEUS_HELP_ESCAPES.get(char, char) for char in text)


# ------------------------------------------------- /etc/default environment files
#
# Debian's /etc/default/NAME files are read twice: by systemd as the unit's
# EnvironmentFile= (systemd's env-file parser) and by the SysV init script,
# which sources them with /bin/sh. The two agree on a value written in single
# quotes (everything up to the next single quote, no escapes), and on
# double-quoted or bare text without backslashes, dollars, backquotes and
# shell syntax; they disagree on much else (escapes, comments after a value,
# line continuations). So values are written in single quotes, and read only
# when they have that shared form; anything else is refused, not guessed.

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ENV_SHARED_VALUE = re.compile(r"""(?:'[^']*'|"[^"\\$`]*"|[A-Za-z0-9_.,:/=+@%-]+)*[ \t]*\Z""")
_ENV_SEGMENT = re.compile(r"""'([^']*)'|"([^"\\$`]*)"|([A-Za-z0-9_.,:/=+@%-]+)""")


def environment_file_value(text):
    """A value for ``NAME=`` in such a file, read back as exactly ``text``
    by systemd and by sh."""
    text = _text(text)
    _no_nul(text)
    _encodable(text)
    if "'" in text:
        raise QuoteError("contains a single quote, which an environment file read by both systemd and sh cannot carry")
    if "\n" in text or "\r" in text:
        raise QuoteError("contains a line break, which would end the assignment")
    return "'%s'" % text


def environment_file_read(lines, name):
    """The value of the last ``name=`` assignment of ``lines`` (the file's
    lines), as systemd and sh both read it, and its line index; (None, None)
    without one. QuoteError when the assignment is not in the form both read
    alike."""
    if not _ENV_NAME.match(name):
        raise QuoteError("%r is not an environment variable name" % (name,))
    found = (None, None)
    for index, line in enumerate(lines):
        stripped = line.lstrip(" \t")
        if not stripped.startswith(name + "="):
            continue
        if index and lines[index - 1].endswith("\\"):
            raise QuoteError("line %d continues the line before it" % (index + 1))
        raw = stripped[len(name) + 1:]
        if not _ENV_SHARED_VALUE.match(raw):
            raise QuoteError("line %d: %s=%s is not in a form that systemd and sh read alike (single quotes, or double "
                             "quotes without \\, $ and `, and nothing after the value)" % (index + 1, name, raw))
        found = ("".join(a or b or c for a, b, c in _ENV_SEGMENT.findall(raw.rstrip(" \t"))), index)
    return found


# ---------------------------------------------------------------- HTML and Markdown
#
# The fleet report's two pages. In HTML text and in a double-quoted
# attribute value, &, <, >, " and ' are written as character references and
# everything else as it is; the page is UTF-8. The characters an HTML
# parser does not hand back as they were (NUL, the other C0 and C1 controls
# but tab and line feed, DEL, carriage return, noncharacters, lone
# surrogates) are refused. Values are first made visible with
# ``visible()``, which writes such characters as Python escapes.
#
# In a Markdown (CommonMark, GitHub's tables) table cell every ASCII
# punctuation character is backslash-escaped (CommonMark reads any of them
# so, and a cell's | only so); a cell holds no line break.

_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_MARKDOWN_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _html_bad(char):
    code = ord(char)
    if char in "\t\n":
        return False
    return (code < 0x20 or 0x7f <= code <= 0x9f or 0xd800 <= code <= 0xdfff
            or 0xfdd0 <= code <= 0xfdef or code & 0xfffe == 0xfffe)


def visible(value):
    """A scalar as text in which every character an HTML or Markdown reader
    would not hand back as it is (see above) is written as a Python escape
    (``\\x00``, ``\\u2028``): what the report shows of a value that carries
    one."""
    text = _text(value)
    out = []
    for char in text:
        code = ord(char)
        if _html_bad(char) or char in "\t\n\u2028\u2029":
            out.append("\\x%02x" % code if code < 0x100 else "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code)
        else:
            out.append(char)
    return "".join(out)


def html_text(value):
    """``value`` as HTML text or a double-quoted attribute value, read back
    by an HTML parser as exactly ``value``."""
    text = _text(value)
    for char in text:
        if _html_bad(char):
            raise QuoteError("contains %r, which an HTML page does not carry as it is" % (char,))
    _encodable(text)
    return "".join(_HTML_ESCAPES.get(char, char) for char in text)


def markdown_cell(value):
    """``value`` as the text of a Markdown table cell, read back as exactly
    ``value`` (its leading and trailing blanks aside, which a cell trims)."""
    text = _text(value)
    _no_nul(text)
    _encodable(text)
    for char in text:
        if char in "\r\n\u2028\u2029":
            raise QuoteError("contains a line break, which a Markdown table cell cannot carry")
    return "".join("\\" + char if char in _MARKDOWN_PUNCTUATION else char for char in text)
