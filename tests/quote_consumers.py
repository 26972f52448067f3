# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reference readers for the quoting tests: the parts of systemd, nginx and
iproute2 that read the files plugins/module_utils/_quote.py writes, ported
statement by statement from their C sources so that the property tests
compare the renderers with the consumers' own logic, not with _quote's
parsers. They work on bytes, as the C code does.

- systemd 252 (Debian 12) and 257 (Debian 13), which agree on all of it:
  src/basic/fileio.c read_line_full(), src/shared/conf-parser.c
  config_parse() and parse_line(), src/basic/extract-word.c
  extract_first_word(), src/basic/escape.c cunescape_one(),
  src/basic/utf8.c utf8_is_valid(), src/core/load-fragment.c
  config_parse_exec() and config_parse_environ(), src/shared/specifier.c
  specifier_printf(), src/basic/env-util.c replace_env_argv(),
  src/basic/unit-name.c unit_name_path_escape() with path-util.c's
  path_simplify() and path_is_normalized();
- nginx (1.22 to 1.29): src/core/ngx_conf_file.c ngx_conf_read_token()
  with its 4096-byte buffer, and the block structure of ngx_conf_parse();
- iproute2 (6.1 to 6.18): lib/utils.c getcmdline() and makeargs();
- Prometheus text exposition format 0.0.4 as prometheus/common's
  expfmt/text_parse.go (TextParser, which node_exporter's textfile
  collector uses) reads it: its states for comments, HELP/TYPE, metric
  names, label pairs and values, with their escapes.

Where the C code walks a run of ordinary characters one at a time, the
ports copy the run at once (a regular expression finds its end); the
decisions are the C code's. The integration tests
(tests/integration/test_quote_consumers.py) check the renderers against
the real programs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


class Refused(Exception):
    """The consumer refuses the input (an error, not a warning)."""


# ---------------------------------------------------------------- systemd

WHITESPACE = b" \t\n\r"
COMMENTS = b"#;"
QUOTES = b"\"'"
LONG_LINE_MAX = 1024 * 1024
PATH_MAX = 4096
NAME_MAX = 255
UTF8_BOM = b"\xef\xbb\xbf"
ALNUM = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ENV_NAME_CHARS = ALNUM + b"_"

EXTRACT_RELAX = 1
EXTRACT_CUNESCAPE = 2
EXTRACT_UNESCAPE_RELAX = 4
EXTRACT_UNQUOTE = 8


def _byte(data, i):
    """data[i] as a one-byte string, b"" past the end (the C string's NUL)."""
    return data[i:i + 1]


def unichar_is_valid(code):
    if code >= 0x110000:
        return False
    if (code & 0xFFFFF800) == 0xD800:
        return False
    if 0xFDD0 <= code <= 0xFDEF:
        return False
    if (code & 0xFFFE) == 0xFFFE:
        return False
    return True


# The characters unichar_is_valid() refuses that a Python string can hold.
_NONCHARACTERS = re.compile(u"[\ufdd0-\ufdef%s]" % "".join(
    u"%s%s" % (chr(plane << 16 | 0xFFFE), chr(plane << 16 | 0xFFFF)) for plane in range(17)))


def utf8_is_valid(data):
    """systemd's utf8_is_valid(): well-formed UTF-8 (no overlong forms, no
    encoded surrogates, nothing above U+10FFFF; Python's strict decoder
    checks these) whose characters all pass unichar_is_valid()."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not _NONCHARACTERS.search(text)


_EOL = re.compile(b"[\n\r\0]")


def read_lines(data):
    """read_line_full() over a whole file: "\\n", "\\r", "\\0" and their
    combinations end a line; a line of LONG_LINE_MAX bytes or more fails
    the file (-ENOBUFS)."""
    lines, pos, end = [], 0, len(data)
    eol_bits = {b"\n": 1, b"\r": 2, b"\0": 4}
    while pos < end:
        found = _EOL.search(data, pos)
        stop = found.start() if found else end
        if stop - pos >= LONG_LINE_MAX:
            raise Refused("Line too long")
        line, pos, previous = data[pos:stop], stop, 0
        while pos < end:
            eol = eol_bits.get(_byte(data, pos), 0)
            if not eol or previous & 4 or previous & eol:
                break
            previous |= eol
            pos += 1
        lines.append(line)
    return lines


def strstrip(data):
    return data.strip(WHITESPACE)


def parse_unit(data):
    """config_parse() of a unit file: (assignments, warnings), each
    assignment (section, key, value) with the value as handed to the
    setting's parser."""
    assignments, warnings = [], []
    section, continuation, bom_seen = None, None, False
    for buf in read_lines(data) + [None]:
        if buf is None:
            if continuation is None:
                break
            p = continuation
        else:
            text = buf.lstrip(WHITESPACE)
            if text and text[:1] in COMMENTS:
                continue
            text = buf
            if not bom_seen and buf.startswith(UTF8_BOM):
                text = buf[len(UTF8_BOM):]
                bom_seen = True
            if continuation is not None:
                if len(continuation) + len(text) > LONG_LINE_MAX:
                    raise Refused("Continuation line too long")
                continuation += text
                p = continuation
            else:
                p = text
            # The loop over p that pairs each backslash with the next
            # character ends "escaped" exactly when p ends in an odd run of
            # backslashes.
            escaped = (len(p) - len(p.rstrip(b"\\"))) % 2 == 1
            if escaped:
                p = p[:-1] + b" "
                continuation = p
                continue
        continuation = None
        text = strstrip(p)
        if not text or text[:1] == b"\n":
            continue
        if not utf8_is_valid(text):
            warnings.append("invalid UTF-8, ignoring line")
            continue
        if text[:1] == b"[":
            if text[-1:] != b"]":
                raise Refused("Invalid section header")
            section = text[1:-1].decode()
            continue
        if section is None:
            warnings.append("Assignment outside of section. Ignoring.")
            continue
        key, eq, value = text.partition(b"=")
        if not eq:
            warnings.append("Missing '=', ignoring line.")
            continue
        if not key:
            warnings.append("Missing key name before '=', ignoring line.")
            continue
        assignments.append((section, strstrip(key).decode(), strstrip(value)))
    return assignments, warnings


def cunescape_one(data, pos):
    """cunescape_one(p, SIZE_MAX, ...) at data[pos:]: (consumed, bytes) or
    None for an invalid sequence. \\x and octal give a raw byte
    (eight_bit), \\u and \\U the character in UTF-8."""
    c = _byte(data, pos)
    simple = {b"a": b"\a", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v",
              b"\\": b"\\", b'"': b'"', b"'": b"'", b"s": b" "}
    if c and c in simple:
        return 1, simple[c]
    if c in (b"x", b"u", b"U"):
        width = {b"x": 2, b"u": 4, b"U": 8}[c]
        digits = data[pos + 1:pos + 1 + width]
        if not _HEX_DIGITS.fullmatch(digits) or len(digits) != width:
            return None
        code = int(digits, 16)
        if code == 0 or (c == b"U" and not unichar_is_valid(code)):
            return None
        if c == b"x":
            return 3, bytes(bytearray([code]))
        return 1 + width, chr(code).encode("utf-8", "surrogatepass")
    if c and c in b"01234567":
        digits = data[pos:pos + 3]
        if not _OCTAL_DIGITS.fullmatch(digits):
            return None
        code = int(digits, 8)
        if code == 0 or code > 255:
            return None
        return 3, bytes(bytearray([code]))
    return None


_HEX_DIGITS = re.compile(b"[0-9a-fA-F]*")
_OCTAL_DIGITS = re.compile(b"[0-7]{3}")
# Runs extract_first_word() copies one character at a time.
_UNQUOTED_RUN = re.compile(b"[^\"'\\\\ \t\n\r]+")
_QUOTED_RUN = {b'"': re.compile(b'[^"\\\\]+'), b"'": re.compile(b"[^'\\\\]+")}


def extract_first_word(data, pos, flags):
    """extract_first_word(&p, &ret, NULL, flags) with WHITESPACE as the
    separators: (word, new pos) with new pos None at the end of the string
    and word None when there is no word; raises Refused for -EINVAL."""
    if pos is None:
        return None, None
    end = len(data)
    while True:
        c = _byte(data, pos)
        if not c:
            return None, None
        if c not in WHITESPACE:
            break
        pos += 1
    s = bytearray()
    quote, backslash = b"", False
    while True:
        c = _byte(data, pos)
        if backslash:
            if not c:
                if flags & EXTRACT_UNESCAPE_RELAX and (not quote or flags & EXTRACT_RELAX):
                    s += b"\\"
                    return bytes(s), None
                if flags & EXTRACT_RELAX:
                    return bytes(s), None
                raise Refused("EINVAL: trailing backslash")
            if flags & EXTRACT_CUNESCAPE:
                escape = cunescape_one(data, pos)
                if escape is not None:
                    pos += escape[0] - 1
                    s += escape[1]
                elif flags & EXTRACT_UNESCAPE_RELAX:
                    s += b"\\" + c
                else:
                    raise Refused("EINVAL: invalid escape")
            else:
                s += c
            backslash = False
            pos += 1
        elif quote:
            while True:
                c = _byte(data, pos)
                if not c:
                    if flags & EXTRACT_RELAX:
                        return bytes(s), None
                    raise Refused("EINVAL: unbalanced quotes")
                if c == quote:
                    quote = b""
                    pos += 1
                    break
                if c == b"\\":
                    backslash = True
                    pos += 1
                    break
                run = _QUOTED_RUN[quote].match(data, pos)
                s += run.group()
                pos = run.end()
        else:
            while True:
                c = _byte(data, pos)
                if not c:
                    return bytes(s), None
                if c in QUOTES and flags & EXTRACT_UNQUOTE:
                    quote = c
                    pos += 1
                    break
                if c == b"\\":
                    backslash = True
                    pos += 1
                    break
                if c in WHITESPACE:
                    while True:
                        pos += 1
                        c = _byte(data, pos)
                        if not c:
                            return bytes(s), None
                        if c not in WHITESPACE:
                            return bytes(s), pos
                run = _UNQUOTED_RUN.match(data, pos)
                if run is None:  # a quote, without EXTRACT_UNQUOTE
                    s += c
                    pos += 1
                else:
                    s += run.group()
                    pos = run.end()
        if pos >= end and not backslash and not quote:
            return bytes(s), None


def extract_first_word_and_warn(data, pos, flags, warnings):
    try:
        return extract_first_word(data, pos, flags)
    except Refused:
        word, new = extract_first_word(data, pos, flags | EXTRACT_UNESCAPE_RELAX)
        warnings.append("Ignoring unknown escape sequences: %r" % word)
        return word, new


# Specifiers a unit resolves (unit-printf.c and specifier.h of 252 and 257);
# the tests never expect one, so each one resolves to a marker.
UNIT_SPECIFIERS = b"aAbBcCdEfgGhHiIjJlLmMnNopPqrRsStTuUvVwWyY"


def specifier_printf(text, max_length=LONG_LINE_MAX):
    if b"%" not in text:
        if len(text) > max_length:
            raise Refused("ENAMETOOLONG")
        return text
    out, percent = bytearray(), False
    for i in range(len(text)):
        c = _byte(text, i)
        if percent:
            percent = False
            if c == b"%":
                out += b"%"
            elif c in UNIT_SPECIFIERS:
                out += b"<specifier %" + c + b">"
            elif c in ALNUM + b"%":
                raise Refused("EBADSLT: unknown specifier %" + c.decode())
            else:
                out += b"%" + c
        elif c == b"%":
            percent = True
        else:
            out += c
        if len(out) > max_length:
            raise Refused("ENAMETOOLONG")
    if percent:
        out += b"%"
    return bytes(out)


def string_is_safe(p):
    return not any(0 < b < 0x20 or b in bytearray(QUOTES + b"\\\x7f") for b in bytearray(p))


def path_is_valid(p):
    """path_is_valid_full(p, accept_dot_dot=true)."""
    if not p:
        return False
    parts = [part for part in p.split(b"/") if part]
    return all(len(part) <= NAME_MAX for part in parts) and len(p) < PATH_MAX


def filename_is_valid(p):
    return bool(p) and p not in (b".", b"..") and b"/" not in p and len(p) <= NAME_MAX


def path_implies_directory(p):
    """The union of 252 (ends in "/") and 257 (also ".", "..", "/.", "/..")."""
    return p in (b".", b"..") or p.endswith((b"/", b"/.", b"/.."))


def config_parse_exec(rvalue, warnings, separators=None):
    """config_parse_exec(): the commands of one ExecStart= value, each
    (flags, path, argv) with argv as systemd stores it, before environment
    expansion. Raises Refused where systemd fails the unit (-ENOEXEC) and
    returns the commands parsed so far where it ignores the rest. Each lone
    ";" read as a separator is appended to ``separators``."""
    separators = [] if separators is None else separators
    commands = []
    p = 0
    semicolon = True
    while semicolon:
        semicolon = False
        firstword, p = extract_first_word_and_warn(rvalue, p, EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE, warnings)
        if firstword is None:
            return commands
        if firstword == b";":
            separators.append(";")
            semicolon = True
            continue
        f, flags, separate_argv0 = firstword, set(), False
        while f:
            c = f[:1]
            if c == b"-" and "ignore" not in flags:
                flags.add("ignore")
            elif c == b"@" and not separate_argv0:
                separate_argv0 = True
                flags.add("separate-argv0")
            elif c == b":" and "no-env-expand" not in flags:
                flags.add("no-env-expand")
            elif c == b"+" and not flags & {"privileged", "no-setuid", "ambient"}:
                flags.add("privileged")
            elif c == b"!" and not flags & {"privileged", "no-setuid", "ambient"}:
                flags.add("no-setuid")
            elif c == b"!" and not flags & {"privileged", "ambient"}:
                flags.discard("no-setuid")
                flags.add("ambient")
            else:
                break
            f = f[1:]
        path = specifier_printf(f, PATH_MAX)
        if not path:
            raise Refused("Empty path in command line")
        if not string_is_safe(path):
            raise Refused("Executable path contains special characters")
        if path_implies_directory(path):
            raise Refused("Executable path specifies a directory")
        if not (path_is_valid(path) if path.startswith(b"/") else filename_is_valid(path)):
            raise Refused("Neither a valid executable name nor an absolute path")
        argv = [] if separate_argv0 else [path]
        while p is not None and p < len(rvalue):
            rest = rvalue[p:]
            if rest[:1] == b";" and (len(rest) == 1 or rest[1:2] in WHITESPACE):
                p += 1
                while _byte(rvalue, p) and _byte(rvalue, p) in WHITESPACE:
                    p += 1
                separators.append(";")
                semicolon = True
                break
            if rest[:2] == b"\\;" and (len(rest) == 2 or rest[2:3] in WHITESPACE):
                p += 2
                while _byte(rvalue, p) and _byte(rvalue, p) in WHITESPACE:
                    p += 1
                argv.append(b";")
                continue
            word, p = extract_first_word_and_warn(rvalue, p, EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE, warnings)
            if word is None:
                break
            argv.append(specifier_printf(word))
        if not argv:
            raise Refused("Empty executable name or zeroeth argument")
        commands.append((flags, path, argv))
    return commands


def env_assignment_is_valid(assignment):
    name, eq, value = assignment.partition(b"=")
    return (bool(eq) and bool(name) and name[:1] not in b"0123456789"
            and all(b in bytearray(ENV_NAME_CHARS) for b in bytearray(name)) and utf8_is_valid(value))


def config_parse_environ(rvalue, env, warnings):
    """config_parse_environ(): adds the assignments of one Environment=
    value to ``env`` (a list of b"NAME=value", a later NAME replacing an
    earlier one)."""
    if not rvalue:
        del env[:]
        return env
    p = 0
    while True:
        try:
            word, p = extract_first_word(rvalue, p, EXTRACT_CUNESCAPE | EXTRACT_UNQUOTE)
        except Refused:
            warnings.append("Invalid syntax, ignoring")
            return env
        if word is None:
            return env
        try:
            resolved = specifier_printf(word)
        except Refused:
            warnings.append("Failed to resolve specifiers, ignoring")
            continue
        if not env_assignment_is_valid(resolved):
            warnings.append("Invalid environment assignment, ignoring")
            continue
        name = resolved.partition(b"=")[0]
        env[:] = [e for e in env if e.partition(b"=")[0] != name] + [resolved]


def unit_environment(data):
    """The environment the Environment= settings of a unit file (bytes)
    give its service: config_parse() then config_parse_environ() on each,
    as the unit loader calls them. Returns (env, warnings)."""
    assignments, warnings = parse_unit(data)
    env = []
    for _section, key, value in assignments:
        if key == "Environment":
            config_parse_environ(value, env, warnings)
    return env, warnings


def _env_get(env, name):
    for assignment in env:
        key, equals, value = assignment.partition(b"=")
        if equals and key == name:
            return value
    return None


def replace_env(text, env):
    """replace_env_full(format, SIZE_MAX, env, flags=0): "${NAME}" and "$$";
    "${NAME:-x}" is not supported without REPLACE_ENV_ALLOW_EXTENDED and
    stays as written."""
    if b"$" not in text:
        return text
    WORD, CURLY, VARIABLE = range(3)
    state, word, out = WORD, 0, bytearray()
    for e in range(len(text)):
        c = _byte(text, e)
        if state == WORD:
            if c == b"$":
                state = CURLY
        elif state == CURLY:
            if c == b"{":
                out += text[word:e - 1]
                word = e - 1
                state = VARIABLE
            elif c == b"$":
                out += text[word:e]
                word = e + 1
                state = WORD
            else:
                state = WORD
        elif state == VARIABLE:
            if c == b"}":
                out += _env_get(env, text[word + 2:e]) or b""
                word = e + 1
                state = WORD
            elif c == b":":
                state = WORD
    out += text[word:]
    return bytes(out)


def replace_env_argv(argv, env):
    result = []
    for word in argv:
        if word[:1] == b"$" and word[1:2] not in (b"{", b"$"):
            value = _env_get(env, word[1:])
            if value is not None:
                p = 0
                while True:
                    part, p = extract_first_word(value, p, EXTRACT_RELAX | EXTRACT_UNQUOTE)
                    if part is None:
                        break
                    result.append(part)
            continue
        result.append(replace_env(word, env))
    return result


def path_simplify(p):
    """path_simplify(): repeated and trailing "/" and "." components go; a
    relative path that is only dots becomes "."."""
    absolute = p.startswith(b"/")
    parts = [part for part in p.split(b"/") if part and part != b"."]
    if any(len(part) > NAME_MAX for part in parts):
        # path_find_first_component() fails: the rest is kept as it is
        # and path_is_normalized() refuses the result anyway.
        return None
    out = (b"/" if absolute else b"") + b"/".join(parts)
    if not out and p:
        out = b"."
    return out


def unit_name_path_escape(path):
    """unit_name_path_escape(), which systemd-escape --path prints."""
    p = path_simplify(path)
    if p is None:
        raise Refused("EINVAL: component too long")
    if p in (b"", b"/"):
        return b"-"
    parts = p.split(b"/")
    if p == b"." or b".." in parts or len(p) >= PATH_MAX:
        raise Refused("EINVAL: not a normalized path")
    f = p.strip(b"/")
    out = bytearray()
    if f[:1] == b".":
        out += b"\\x2e"
        f = f[1:]
    valid = ALNUM + b":-_.\\"
    for b in bytearray(f):
        if b == ord("/"):
            out += b"-"
        elif b in (ord("-"), ord("\\")) or b not in bytearray(valid):
            out += ("\\x%02x" % b).encode()
        else:
            out.append(b)
    return bytes(out)


# ---------------------------------------------------------------- nginx

NGX_CONF_BUFFER = 4096
NGX_BLANKS = b" \t\r\n"


def _ngx_unescape(raw):
    """The copy loop at the end of ngx_conf_read_token()."""
    out, src = bytearray(), 0
    while src < len(raw):
        if raw[src:src + 1] == b"\\":
            nxt = raw[src + 1:src + 2]
            if nxt in (b'"', b"'", b"\\") and nxt:
                src += 1
            elif nxt in (b"t", b"r", b"n") and nxt:
                out += {b"t": b"\t", b"r": b"\r", b"n": b"\n"}[nxt]
                src += 2
                continue
        out += raw[src:src + 1]
        src += 1
    return bytes(out)


class NginxConf(object):
    """ngx_conf_parse() of a file: nested [(args, block or None)], where
    args is the list of words (bytes) and block the directives inside
    "{...}". Raises Refused with nginx's message."""

    def __init__(self, data, buffer_size=NGX_CONF_BUFFER):
        self.comments = 0  # how many "#" comments nginx skipped
        self.data = data
        self.size = buffer_size
        self.buf = bytearray(buffer_size)
        self.pos = self.last = self.offset = 0

    def parse(self):
        stack = [[]]
        while True:
            rc, args = self.read_token()
            if rc == "done":
                if len(stack) > 1:
                    raise Refused('unexpected end of file, expecting "}"')
                return stack[0]
            if rc == "block_done":
                if len(stack) == 1:
                    raise Refused('unexpected "}"')
                stack.pop()
            elif rc == "ok":
                stack[-1].append((args, None))
            else:
                block = []
                stack[-1].append((args, block))
                stack.append(block)

    def read_token(self):
        found = need_space = sharp_comment = variable = quoted = s_quoted = d_quoted = False
        last_space = True
        args = []
        start = self.pos
        while True:
            if self.pos >= self.last:
                if self.offset >= len(self.data):
                    if args or not last_space:
                        raise Refused('unexpected end of file, expecting ";" or "}"')
                    return "done", args
                length = self.pos - start
                if length == self.size:
                    if d_quoted or s_quoted:
                        raise Refused("too long parameter, probably missing terminating quote")
                    raise Refused("too long parameter started")
                self.buf[0:length] = self.buf[start:start + length]
                size = min(len(self.data) - self.offset, self.size - length)
                self.buf[length:length + size] = self.data[self.offset:self.offset + size]
                self.offset += size
                self.pos, self.last, start = length, length + size, 0
            ch = self.buf[self.pos:self.pos + 1]
            self.pos += 1
            if ch == b"\n" and sharp_comment:
                sharp_comment = False
            if sharp_comment:
                continue
            if quoted:
                quoted = False
                continue
            if need_space:
                if ch in NGX_BLANKS:
                    last_space, need_space = True, False
                    continue
                if ch == b";":
                    return "ok", args
                if ch == b"{":
                    return "block", args
                if ch == b")":
                    last_space, need_space = True, False
                else:
                    raise Refused('unexpected "%s"' % ch.decode("latin-1"))
            if last_space:
                start = self.pos - 1
                if ch in NGX_BLANKS:
                    continue
                if ch in (b";", b"{"):
                    if not args:
                        raise Refused('unexpected "%s"' % ch.decode())
                    return ("block" if ch == b"{" else "ok"), args
                if ch == b"}":
                    if args:
                        raise Refused('unexpected "}"')
                    return "block_done", args
                last_space = False
                if ch == b"#":
                    sharp_comment, last_space = True, True
                    self.comments += 1
                elif ch == b"\\":
                    quoted = True
                elif ch == b'"':
                    start += 1
                    d_quoted = True
                elif ch == b"'":
                    start += 1
                    s_quoted = True
                elif ch == b"$":
                    variable = True
                continue
            if ch == b"{" and variable:
                continue
            variable = False
            if ch == b"\\":
                quoted = True
                continue
            if ch == b"$":
                variable = True
                continue
            if d_quoted:
                if ch == b'"':
                    d_quoted, need_space, found = False, True, True
            elif s_quoted:
                if ch == b"'":
                    s_quoted, need_space, found = False, True, True
            elif ch in NGX_BLANKS or ch in (b";", b"{"):
                last_space = found = True
            if found:
                args.append(_ngx_unescape(bytes(self.buf[start:self.pos - 1])))
                if ch == b";":
                    return "ok", args
                if ch == b"{":
                    return "block", args
                found = False


# ---------------------------------------------------------------- iproute2

IP_WS = b" \t\r\n"


def _c_string(line):
    """What the C string functions see of a line that holds a NUL."""
    cut = line.find(b"\0")
    return line if cut < 0 else line[:cut]


def _cut_comment(line):
    cut = line.find(b"#")
    return line if cut < 0 else line[:cut]


_IP_SPACES = re.compile(b"[ \t\r\n]*")
_IP_WORD = re.compile(b"[^ \t\r\n]*")


def makeargs(line, maxargs=100):
    argv, pos, end = [], 0, len(line)
    while pos < end:
        pos = _IP_SPACES.match(line, pos).end()  # strspn(cp, ws)
        if pos >= end:
            break
        if len(argv) >= maxargs - 1:
            raise Refused("Too many arguments to command")
        if line[pos:pos + 1] in (b"'", b'"'):
            quote = line[pos:pos + 1]
            pos += 1
            stop = line.find(quote, pos)
            if stop < 0:
                raise Refused("Unterminated quoted string")
            argv.append(line[pos:stop])
            pos = stop + 1
        else:
            stop = _IP_WORD.match(line, pos).end()  # strcspn(cp, ws)
            argv.append(line[pos:stop])
            if stop >= end:
                break
            pos = stop + 1
    return argv


def ip_batch(data):
    """The commands (argument vectors, bytes) ``ip -batch`` runs from a
    file: getcmdline() then makeargs() per line, blank lines skipped."""
    lines, pos = [], 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        stop = len(data) if nl < 0 else nl + 1
        lines.append(data[pos:stop])
        pos = stop
    commands, it = [], iter(lines)
    for line in it:
        line = _cut_comment(_c_string(line))
        while b"\\\n" in line:
            cut = line.find(b"\\\n")
            try:
                line1 = next(it)
            except StopIteration:
                raise Refused("Missing continuation line")
            line = line[:cut] + _cut_comment(_c_string(line1))
        argv = makeargs(line)
        if argv:
            commands.append(argv)
    return commands


# ---------------------------------------------------------------- Prometheus

PROM_BLANKS = b" \t"
_PROM_METRIC_START = re.compile(rb"[a-zA-Z_:]")
_PROM_METRIC_CHARS = re.compile(rb"[a-zA-Z0-9_:]*")
_PROM_LABEL_START = re.compile(rb"[a-zA-Z_]")
_PROM_LABEL_CHARS = re.compile(rb"[a-zA-Z0-9_]*")
_PROM_TYPES = (b"counter", b"gauge", b"histogram", b"summary", b"untyped")


def _prom_skip_blanks(data, pos):
    while pos < len(data) and data[pos:pos + 1] in (b" ", b"\t"):
        pos += 1
    return pos


def _prom_token(data, pos, start, chars, what):
    if not start.match(data, pos):
        raise Refused("invalid %s at byte %d" % (what, pos))
    end = chars.match(data, pos + 1).end()
    return data[pos:end], end


def _prom_escaped(data, pos, stop, escapes, what):
    """Bytes up to ``stop`` (a quote, or the line feed), with the escapes
    the reader knows; any other escape is an error, as in the Go reader."""
    out = bytearray()
    while True:
        if pos >= len(data):
            raise Refused("%s runs to the end of the input" % what)
        char = data[pos:pos + 1]
        if char == stop:
            return bytes(out), pos + 1
        if char == b"\n" and stop != b"\n":
            raise Refused("line feed inside a %s" % what)
        if char == b"\\":
            escape = data[pos + 1:pos + 2]
            if escape not in escapes:
                raise Refused("invalid escape sequence \\%r in a %s" % (escape, what))
            out += escapes[escape]
            pos += 2
            continue
        out += char
        pos += 1


def _prom_utf8(raw, what):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("%s is not valid UTF-8" % what)


def prometheus_text(data):
    """{"help": {name: text}, "type": {name: kind}, "samples": [(name,
    {label: value}, value text)]} of a text exposition, or Refused."""
    result = {"help": {}, "type": {}, "samples": []}
    pos = 0
    while pos < len(data):
        pos = _prom_skip_blanks(data, pos)
        if data[pos:pos + 1] == b"\n":
            pos += 1
            continue
        if data[pos:pos + 1] == b"#":
            pos = _prom_skip_blanks(data, pos + 1)
            end = pos
            while end < len(data) and data[end:end + 1] not in b" \t\n":
                end += 1
            keyword = data[pos:end]
            if keyword not in (b"HELP", b"TYPE") or data[end:end + 1] in (b"\n", b""):
                stop = data.find(b"\n", end)
                pos = len(data) if stop < 0 else stop + 1
                continue
            pos = _prom_skip_blanks(data, end)
            name, pos = _prom_token(data, pos, _PROM_METRIC_START, _PROM_METRIC_CHARS, "metric name")
            name = name.decode("ascii")
            if data[pos:pos + 1] == b"\n":
                text, pos = b"", pos + 1
            else:
                pos = _prom_skip_blanks(data, pos)
                if keyword == b"HELP":
                    text, pos = _prom_escaped(data, pos, b"\n", {b"\\": b"\\", b"n": b"\n"}, "HELP text")
                else:
                    stop = data.find(b"\n", pos)
                    stop = len(data) if stop < 0 else stop
                    text, pos = data[pos:stop].rstrip(b" \t"), stop + 1
            key = "help" if keyword == b"HELP" else "type"
            if name in result[key]:
                raise Refused("second %s line for %s" % (keyword.decode(), name))
            if key == "type":
                if text not in _PROM_TYPES:
                    raise Refused("unknown metric type %r" % text)
                text = text.decode()
            else:
                text = _prom_utf8(text, "HELP text")
            result[key][name] = text
            continue
        name, pos = _prom_token(data, pos, _PROM_METRIC_START, _PROM_METRIC_CHARS, "metric name")
        labels = {}
        pos = _prom_skip_blanks(data, pos)
        if data[pos:pos + 1] == b"{":
            pos = _prom_skip_blanks(data, pos + 1)
            while data[pos:pos + 1] != b"}":
                label, pos = _prom_token(data, pos, _PROM_LABEL_START, _PROM_LABEL_CHARS, "label name")
                label = label.decode("ascii")
                if label.startswith("__") or label in labels:
                    raise Refused("reserved or repeated label name %s" % label)
                pos = _prom_skip_blanks(data, pos)
                spaced = data[pos:pos + 1] == b"=" and data[_prom_skip_blanks(data, pos + 1):][:1] == b'"'
                if data[pos:pos + 2] != b'="' and not spaced:
                    raise Refused("expected =\" after label name %s" % label)
                pos = _prom_skip_blanks(data, pos + 1) + 1
                value, pos = _prom_escaped(data, pos, b'"', {b"\\": b"\\", b'"': b'"', b"n": b"\n"},
                                           "label value")
                labels[label] = _prom_utf8(value, "label value")
                pos = _prom_skip_blanks(data, pos)
                if data[pos:pos + 1] == b",":
                    pos = _prom_skip_blanks(data, pos + 1)
                elif data[pos:pos + 1] != b"}":
                    raise Refused("expected , or } after a label value at byte %d" % pos)
            pos += 1
        pos = _prom_skip_blanks(data, pos)
        stop = data.find(b"\n", pos)
        stop = len(data) if stop < 0 else stop
        words = data[pos:stop].split()
        if not words or len(words) > 2:
            raise Refused("expected a value (and a timestamp) after %s" % name.decode())
        try:
            float(words[0].decode("ascii"))
        except ValueError:
            raise Refused("%r is not a sample value" % words[0])
        result["samples"].append((name.decode("ascii"), labels, words[0].decode("ascii")))
        pos = stop + 1
    return result
