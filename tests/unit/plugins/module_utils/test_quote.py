# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests of the quoting layer (plugins/module_utils/_quote.py).

For each format, Hypothesis generates values full of what breaks quoting
(backslashes, both quotes, "#", ";", braces, "%", "$", blanks, CR/LF,
U+2028/U+2029, other control characters, NUL, lone surrogates, Unicode
noncharacters, non-ASCII, values of thousands of characters); each value is
rendered, and the rendered text is read back by the consumer's own logic
(tests/quote_consumers.py, ported from the C sources of systemd, nginx and
iproute2, not _quote's parsers) and must give back exactly the value. When
the renderer refuses, the test shows that the refusal is legitimate: that
the consumer could not have read the value back from any rendering the
format has. For nginx, crossplane (an independent Python parser) reads the
rendered words too. _quote's own parsers are checked against the same
references.

tests/integration/test_quote_consumers.py runs the real programs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys
import tempfile

import crossplane
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from ansible_collections.mptcp.linux.plugins.module_utils import _quote
from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError
from ansible_collections.mptcp.linux.tests import quote_consumers as consumer
from ansible_collections.mptcp.linux.tests import quote_samples
from ansible_collections.mptcp.linux.tests.quote_samples import PIECES, encodable

# 1000 examples for each renderer's round trip; 300 for the checks of
# _quote's parsers and helpers against the ports, which the round trips
# exercise as well.
EXAMPLES = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARSER_EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _text_of(drawn):
    pieces, extra, repeat = drawn
    return ("".join(PIECES[b] for b in bytearray(pieces)) + extra) * repeat


def _words_of(drawn):
    """Words from one byte string: byte 255 separates them; the extra
    characters go to the last word, which the repeat count stretches."""
    data, extra, repeat = drawn
    words = [_text_of((piece, "", 1)) for piece in bytes(data).split(b"\xff")] if data else []
    if words:
        words[-1] = (words[-1] + extra) * repeat
    return words


# Mostly short values; one in sixteen is repeated into thousands of
# characters.
REPEAT = st.sampled_from([1] * 30 + [100, 250])
TEXT = st.tuples(st.binary(max_size=12), st.text(max_size=3), REPEAT).map(_text_of)
SHORT = st.tuples(st.binary(max_size=10), st.text(max_size=2), st.just(1)).map(_text_of)
WORDS = st.tuples(st.binary(max_size=32), st.text(max_size=2), REPEAT).map(_words_of)


def _reason(error):
    """A refusal's reason without the value, for Hypothesis' statistics
    (pytest --hypothesis-show-statistics)."""
    reason = re.sub(r"\d+|U\+[0-9A-F]+", "N", re.sub(r"'[^']*'|\"[^\"]*\"", "...", str(error)))[:70]
    return "refused: " + reason.encode("utf-8", "backslashreplace").decode("utf-8")


def _utf8(text):
    return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------- ip -batch
#
# An ip -batch word is bare, or in double or single quotes with no escapes:
# those three are every way to write it, so a refusal is legitimate when
# none of them reads back.

def _ip_candidates(word):
    return [word, '"%s"' % word, "'%s'" % word]


def _ip_reads_back(line_words, words):
    """Whether iproute2 reads these written words as ``words``, with lines
    around them that must stay as they are."""
    data = b"link show\n" + _utf8(" ".join(line_words)) + b"\naddress show dev lo\n"
    try:
        commands = consumer.ip_batch(data)
    except consumer.Refused:
        return False
    middle = [[_utf8(w) for w in words]] if words else []
    return commands == [[b"link", b"show"]] + middle + [[b"address", b"show", b"dev", b"lo"]]


def _ip_word_is_writable(word):
    return encodable(word) and any(_ip_reads_back(["x", c], ["x", word]) for c in _ip_candidates(word))


@EXAMPLES
@given(WORDS)
@example(["link", "set", "dev", "x", "alias", "a b\\"])
@example(["alias", "\r"])
@example(["a#b"])
@example(["'\" x"])
def test_ip_batch_line_round_trip(words):
    try:
        line = _quote.ip_batch_line(words)
    except QuoteError as e:
        event(_reason(e))
        assert not all(_ip_word_is_writable(w) for w in words)
        return
    event("read back")
    assert _ip_reads_back([line], words)


def test_ip_batch_line_holds_99_words():
    words = ["w%d" % i for i in range(99)]
    assert _ip_reads_back([_quote.ip_batch_line(words)], words)
    with pytest.raises(QuoteError, match="at most 99"):
        _quote.ip_batch_line(words + ["one more"])
    with pytest.raises(consumer.Refused, match="Too many arguments"):
        consumer.ip_batch(_utf8(" ".join(words + ["one more"])))


IP_LINE_PIECES = PIECES[:200] + ['"a b"', "'a b'", '"', "'", '""', "a\\", "#", " ", "\t"] * 6 + [" x "] * 2
IP_LINE = st.binary(max_size=20).map(lambda b: "".join(IP_LINE_PIECES[i] for i in bytearray(b)))


@PARSER_EXAMPLES
@given(IP_LINE)
def test_ip_batch_split_reads_like_iproute2(line):
    assume(encodable(line) and "\n" not in line and "\x00" not in line)
    try:
        commands = consumer.ip_batch(_utf8(line) + b"\n")
        expected = commands[0] if commands else []
    except consumer.Refused:
        expected = None
    try:
        words = [_utf8(w) for w in _quote.ip_batch_split(line)]
    except QuoteError:
        words = None
    assert words == expected


# ---------------------------------------------------------------- nginx


def _nginx_read(word, after=b" ;\n"):
    """The directives nginx reads from "return 200 WORD;" in a location."""
    data = b"location = /t {\n    return 200 " + _utf8(word) + after + b"}\n"
    return consumer.NginxConf(data).parse()


def _nginx_expect(value):
    return [([b"location", b"=", b"/t"], [([b"return", b"200", _utf8(value)], None)])]


def _crossplane_args(word):
    """crossplane's reading of "return 200 WORD;", as nginx's values.

    crossplane keeps a quoted token's escapes except the escaped quote
    itself (\\" is "), where nginx resolves \\\\, \\", \\', \\t, \\r and \\n;
    the tokens are normalized with nginx's rule here. An unquoted token is
    compared as it is: the renderer writes bare only words without
    backslashes."""
    fd, path = tempfile.mkstemp(suffix=".conf")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"http {\n  server {\n    location = /t {\n      return 200 " + _utf8(word) + b";\n    }\n  }\n}\n")
        tokens = list(crossplane.lex(path))
        payload = crossplane.parse(path, single=True, catch_errors=False)
    finally:
        os.unlink(path)
    args = payload["config"][0]["parsed"][0]["block"][0]["block"][0]["block"][0]["args"]
    token, _line, quoted = tokens[-5]  # ... return 200 WORD ; } } }
    assert token == args[-1]
    return args[:-1] + [_independent_nginx_unescape(token) if quoted else token]


def _independent_nginx_unescape(token):
    out, pos = [], 0
    table = {'"': '"', "'": "'", "\\": "\\", "t": "\t", "r": "\r", "n": "\n"}
    while pos < len(token):
        if token[pos] == "\\" and token[pos + 1:pos + 2] in table and pos + 1 < len(token):
            out.append(table[token[pos + 1]])
            pos += 2
        else:
            out.append(token[pos])
            pos += 1
    return "".join(out)


@EXAMPLES
@given(TEXT)
@example("a\\")
@example("${a}}b")
@example('"x"y')
@example("index index.html #")
@example("\\${")
@example("x" * 4094)
@example("x" * 4095)
@example("\u00e9" * 2047)
def test_nginx_word_round_trip(value):
    try:
        word = _quote.nginx_word(value)
    except QuoteError as e:
        event(_reason(e))
        if not encodable(value) or "\x00" in value:
            return
        # Too long: nginx refuses the word from any position in the file.
        rendered = _quote._nginx_render(value)
        for filler in (0, 1000, 4000):
            with pytest.raises(consumer.Refused, match="too long parameter"):
                consumer.NginxConf(b"#" * filler + b"\n" + _utf8("return 200 " + rendered + " ;\n")).parse()
        return
    event("read back, %s" % ("quoted" if word != value else "bare"))
    assert _nginx_read(word) == _nginx_expect(value)
    assert _nginx_read(word, after=b";\n") == _nginx_expect(value)
    if len(word) < 600:  # crossplane is slow on long tokens
        assert _crossplane_args(word) == ["200", value]


def test_nginx_word_longest_words_read_back_from_any_position():
    for value in ("x" * 4094, ("a b" * 1364)[:-1] + "\\", "\u00e9" * 2046 + "z"):
        word = _quote.nginx_word(value)
        for filler in range(0, 4200, 331):
            data = b"#" * filler + b"\n" + _utf8("return 200 " + word + " ;\n")
            assert consumer.NginxConf(data).parse() == [([b"return", b"200", _utf8(value)], None)]


def _nginx_reads_one_directive(text):
    """(the words nginx reads from TEXT followed by ";" when that is one
    simple directive, else None; whether nginx skipped a comment)."""
    conf = consumer.NginxConf(_utf8(text) + b";\n")
    try:
        parsed = conf.parse()
    except consumer.Refused:
        return None, conf.comments
    if len(parsed) != 1 or parsed[0][1] is not None:
        return None, conf.comments
    return parsed[0][0], conf.comments


DIRECTIVE_PIECES = PIECES[:200] + ['"', "'", "\\", "#", ";", "{", "}", "${", " ", '"a b"', "'c d'", ")"] * 4 + [" x "] * 8
DIRECTIVE = st.binary(max_size=16).map(lambda b: "".join(DIRECTIVE_PIECES[i] for i in bytearray(b)))


@PARSER_EXAMPLES
@given(DIRECTIVE)
@example("index index.html #")
@example("index index.html#x")
@example("add_header X '${a}}b'")
@example("return 200 a\\${b")
@example('return 200 "x"y')
@example('return 200 "x")y')
def test_nginx_directive_reads_like_nginx_and_keeps_its_words(text):
    assume(encodable(text) and "\x00" not in text)
    read, comments = _nginx_reads_one_directive(text)
    try:
        words = _quote.nginx_arguments(text)
    except QuoteError:
        words = None
    # The lexer agrees with nginx: words exactly when nginx reads one
    # directive of those words (none at all is no directive), except that
    # it refuses any comment, even one that hides nothing.
    if words is None and read is not None:
        assert comments
    else:
        assert ([_utf8(w) for w in words] if words else None) == read
    try:
        directive = _quote.nginx_directive(text)
    except QuoteError:
        assert words is None or not words or any(len(_quote._nginx_render(w).encode()) >= 4095 for w in words)
        return
    assert _nginx_reads_one_directive(directive) == (read, 0)


# ---------------------------------------------------------------- systemd


def _unit(lines):
    return _utf8("[Unit]\nDescription=quote test\n\n[Service]\n" + "".join(line + "\n" for line in lines))


def _exec_argv(value):
    """The argv systemd runs for ExecStart=VALUE (environment empty), with
    the line after it left alone; None when systemd refuses or warns."""
    try:
        assignments, warnings = consumer.parse_unit(_unit(["ExecStart=" + value, "ExecStartPost=/bin/true"]))
    except consumer.Refused:
        return None
    service = [(k, v) for s, k, v in assignments if s == "Service"]
    if warnings or service[-1] != ("ExecStartPost", b"/bin/true") or [k for k, v in service] != ["ExecStart", "ExecStartPost"]:
        return None
    try:
        commands = consumer.config_parse_exec(service[0][1], warnings)
    except consumer.Refused:
        return None
    if warnings or len(commands) != 1 or commands[0][0]:
        return None
    _flags, path, argv = commands[0]
    if argv[0] != path:
        return None
    return consumer.replace_env_argv(argv, [])


PROGRAM = st.one_of(st.sampled_from(["/bin/echo", "echo", "/opt/my app/bin/run", "/usr/bin/a$b", "/opt/%n",
                                     "/opt/\u00e9\u2028/x", "/opt/x\ufffe"]),
                    st.sampled_from(["/bin/echo", "/opt/a b/", "/"]).flatmap(lambda d: SHORT.map(lambda t: d + t)),
                    TEXT)


@EXAMPLES
@given(PROGRAM, WORDS)
@example("/bin/echo", [";", "\\;", "%n", "$HOME", "${HOME}", "$$", "a\\", "\x80", "\ufffe", "\U0001fffe"])
@example("/usr/bin/$HOME", [])
@example("/bin/echo${$$", ["${a:-$$}", "${$$", "$${x}"])
@example("/usr/bin/a$$b", [])
@example(";", [])
def test_systemd_exec_argv_round_trip(program, args):
    argv = [program] + args
    try:
        value = _quote.systemd_exec_argv(argv)
    except QuoteError as e:
        event(_reason(e))
        _assert_exec_argv_unwritable(argv)
        return
    event("read back")
    assert _exec_argv(value) == [_utf8(w) for w in argv]


def _assert_exec_argv_unwritable(argv):
    if not all(encodable(w) and "\x00" not in w for w in argv) or argv[0][:1] == "|":
        return  # "|" is a prefix from systemd 258 on
    # The program has one form, quoted, its text both path and argv[0].
    if _exec_argv(_quote.systemd_quoted(argv[0], expand_env=False)) != [_utf8(argv[0])]:
        return
    assert not all(_exec_argv("/bin/echo " + _quote.systemd_exec_word(w)) == [b"/bin/echo", _utf8(w)] for w in argv[1:])


# Mostly valid names, so that most examples test the value.
NAME_CHOICES = ["A", "_x1", "PATH", "GODEBUG", "LD_PRELOAD", "a" * 200, "_"] * 3 + ["1A", "", "A-B", "A=", "\u00e9", "A B"]
ENV_NAMES = st.tuples(st.integers(0, len(NAME_CHOICES) + 3), SHORT).map(lambda t: NAME_CHOICES[t[0]] if t[0] < len(NAME_CHOICES) else t[1])


@EXAMPLES
@given(ENV_NAMES, TEXT)
@example("A", "x\ufffe")
@example("A", "\x80")
@example("A", "a b \"c\" 'd' %n $HOME \\")
def test_systemd_env_round_trip(name, value):
    try:
        rendered = _quote.systemd_env(name, value)
    except QuoteError as e:
        event(_reason(e))
        name_ok = "=" not in name and consumer.env_assignment_is_valid(_utf8(name) + b"=")
        value_ok = encodable(value) and "\x00" not in value and consumer.env_assignment_is_valid(b"A=" + _utf8(value))
        assert not (name_ok and value_ok)
        return
    event("read back")
    unit = _unit(["Environment=" + rendered + " " + _quote.systemd_env("Z", "z"), "Environment=" + _quote.systemd_env("Y", "y")])
    assignments, warnings = consumer.parse_unit(unit)
    env, expected = [], []
    for _section, key, raw in assignments:
        if key == "Environment":
            consumer.config_parse_environ(raw, env, warnings)
    for assignment in (_utf8(name + "=" + value), b"Z=z", b"Y=y"):
        expected = [e for e in expected if e.partition(b"=")[0] != assignment.partition(b"=")[0]] + [assignment]
    assert not warnings
    assert env == expected


def _description(rendered):
    try:
        assignments, warnings = consumer.parse_unit(_utf8("[Unit]\nDescription=") + _utf8(rendered) + b"\nDocumentation=man:x(1)\n")
    except consumer.Refused:
        return None
    values = [v for s, k, v in assignments if k == "Description"]
    if warnings or [k for s, k, v in assignments] != ["Description", "Documentation"]:
        return None
    try:
        return consumer.specifier_printf(values[0])
    except consumer.Refused:
        return None


@EXAMPLES
@given(TEXT)
@example("ends with \\")
@example("ends with \\\\")
@example(" padded ")
@example("100% of %n")
@example("x\ufffe")
def test_systemd_value_round_trip(text):
    try:
        rendered = _quote.systemd_value(text)
    except QuoteError as e:
        event(_reason(e))
        # The only escape is %%: with it, systemd does not read back the text.
        assert not encodable(text) or _description(text.replace("%", "%%")) != _utf8(text)
        return
    event("read back")
    assert _description(rendered) == _utf8(text)


EXEC_STRING_PIECES = PIECES[:181] + ["/bin/echo ", "echo ", " ; ", " \\; ", "%n", "%z", "$HOME", '"', "'", "\\", "-", "@",
                                     " ", " x ", "/"] * 5
EXEC_STRING = st.binary(max_size=12).map(lambda b: "".join(EXEC_STRING_PIECES[i] for i in bytearray(b)))


@PARSER_EXAMPLES
@given(EXEC_STRING)
@example("/bin/echo a ; /bin/rm -rf /")
@example("/bin/echo a \\;")
@example("/bin/echo a\\\\")
@example("/bin/echo %n $HOME ${HOME}")
@example("/bin/echo %z")
@example("%D")
@example("/bin/echo %A %c")
@example('";" /bin/true')
@example("/bin/echo \\q")
def test_systemd_exec_string_is_systemd_syntax_that_loads_cleanly(text):
    try:
        value = _quote.systemd_exec_string_problems(text)
    except QuoteError as e:
        event(_reason(e))
        assume(encodable(text))
        # Or a prefix ("|" is one from systemd 258 on), which the role
        # does not take.
        commands = _exec_string_commands(text)
        first = consumer.extract_first_word(_utf8(text), 0, consumer.EXTRACT_UNQUOTE | consumer.EXTRACT_RELAX)[0] or b""
        assert commands is None or commands[0][0] or first[:1] == b"|"
        return
    event("loads")
    assert value == text.strip(" \t\r\n")
    assert _exec_string_commands(value) is not None


def _exec_string_commands(text):
    """One command, read without a warning or a separator, its program what
    systemd runs as argv[0] too, or None."""
    try:
        assignments, warnings = consumer.parse_unit(_unit(["ExecStart=" + text, "ExecStartPost=/bin/true"]))
    except consumer.Refused:
        return None
    service = [(k, v) for s, k, v in assignments if s == "Service"]
    if warnings or [k for k, v in service] != ["ExecStart", "ExecStartPost"] or service[0][1] != _utf8(text.strip(" \t\r\n")):
        return None
    separators = []
    try:
        commands = consumer.config_parse_exec(service[0][1], warnings, separators)
    except consumer.Refused:
        return None
    if warnings or separators or len(commands) != 1:
        return None
    _flags, path, argv = commands[0]
    if consumer.replace_env_argv(argv[:1], [])[:1] != [path]:
        return None
    return commands


PATH_PIECES = PIECES[:183] + ["/", "/", "/./", "/../", "//", ".", "..", "-", ".a", "a.b", "x" * 255, "x" * 256, "\u00e9"] * 5 \
    + ["/a"] * 6 + ["x" * 1000] * 2


@PARSER_EXAMPLES
@given(st.binary(max_size=14).map(lambda b: "".join(PATH_PIECES[i] for i in bytearray(b))))
@example("/a/./b")
@example(".")
@example("//")
@example("")
@example("/a/../b")
def test_systemd_escape_path_is_systemd_escape(path):
    assume(encodable(path) and "\x00" not in path)
    try:
        expected = consumer.unit_name_path_escape(_utf8(path)).decode()
    except consumer.Refused:
        expected = None
    try:
        escaped = _quote.systemd_escape_path(path)
    except QuoteError as e:
        event(_reason(e))
        escaped = None
    else:
        event("escaped")
    assert escaped == expected


def _relaxed_words(value):
    """The words systemd would see, whatever their escapes."""
    words, pos = [], 0
    flags = consumer.EXTRACT_UNQUOTE | consumer.EXTRACT_CUNESCAPE | consumer.EXTRACT_RELAX | consumer.EXTRACT_UNESCAPE_RELAX
    while True:
        word, pos = consumer.extract_first_word(_utf8(value), pos, flags)
        if word is None:
            return words
        words.append(word)


@PARSER_EXAMPLES
@given(EXEC_STRING)
@example("-/bin/echo a")
@example('"%"a')
@example("/bin/echo %n")
@example("; /bin/echo")
def test_systemd_exec_parse_reads_like_systemd(text):
    assume(encodable(text) and not any(c in text for c in "\x00\n\r"))
    value = text.strip(" \t\n\r")
    assume(not _quote._odd_trailing_backslashes(value))
    warnings, separators = [], []
    try:
        commands = consumer.config_parse_exec(_utf8(value), warnings, separators)
    except consumer.Refused:
        commands = None
    try:
        argv = [w.encode("utf-8", "surrogateescape") for w in _quote.systemd_exec_parse(value)]
    except QuoteError:
        # Refused: systemd refuses or warns too, or the value uses a
        # specifier, a prefix or a lone ";".
        words = _relaxed_words(value)
        specifier = any(re.search(b"%[A-Za-z0-9]", re.sub(b"%%", b"", w)) for w in words)
        first = (words or [b""])[0]
        assert commands is None or warnings or separators or specifier or first[:1] in (b"@", b"-", b":", b"+", b"!", b"|")
        return
    assert commands is not None and not warnings and not separators and len(commands) <= 1
    assert argv == (consumer.replace_env_argv(commands[0][2], []) if commands else [])


@PARSER_EXAMPLES
@given(st.binary(max_size=12).map(lambda b: "".join("${}:$-xA "[i % 9] for i in bytearray(b))))
@example("${$$")
@example("a${b:-$$}c")
def test_systemd_environment_expansion_is_replace_env(word):
    expected = consumer.replace_env_argv([_utf8(word)], [])
    got = _quote._replace_env(_utf8(word))
    assert ([] if got is None else [got]) == expected


# ---------------------------------------------------------------- examples
#
# The edge cases, one by one, with what the consumer does with them.


def test_ip_batch_a_trailing_backslash_is_quoted_because_it_joins_lines():
    assert consumer.ip_batch(b"link set dev x alias a\\\nup\n") == [[b"link", b"set", b"dev", b"x", b"alias", b"aup"]]
    line = _quote.ip_batch_line(["link", "set", "dev", "x", "alias", "a\\"])
    assert line == 'link set dev x alias "a\\"'
    assert consumer.ip_batch(_utf8(line) + b"\nlink show\n") == [
        [b"link", b"set", b"dev", b"x", b"alias", b"a\\"], [b"link", b"show"]]
    assert _quote.ip_batch_line(["a\\", "b"]) == '"a\\" b'  # wherever the word stands


def test_ip_batch_a_hash_cuts_the_line_even_in_quotes():
    # Bare, the rest of the word is silently cut; quoted, the closing quote
    # is cut off and ip stops the whole batch.
    assert consumer.ip_batch(b"link set dev x alias a#b\n") == [[b"link", b"set", b"dev", b"x", b"alias", b"a"]]
    with pytest.raises(consumer.Refused, match="Unterminated"):
        consumer.ip_batch(b'link set dev x alias "a#b"\n')
    with pytest.raises(QuoteError, match="comment"):
        _quote.ip_batch_word("a#b")


def test_ip_batch_quotes_blanks_cr_empty_and_leading_quotes():
    assert _quote.ip_batch_line(["a b", "c\rd", "", "\"x", "'y", "it's", 'say "hi"']) == \
        '"a b" "c\rd" "" \'"x\' "\'y" it\'s \'say "hi"\''
    with pytest.raises(QuoteError, match="both quote characters"):
        _quote.ip_batch_word("it's \"x\"")
    assert _quote.ip_batch_word("it's\"x\"") == "it's\"x\""  # bare: no quote needed
    with pytest.raises(QuoteError, match="line feed"):
        _quote.ip_batch_word("a\nb")


def test_nginx_word_examples():
    cases = {
        "a\\": '"a\\\\"',
        "index index.html #": '"index index.html #"',
        "${a}}b": '"${a}}b"',
        '"x"y': '"\\"x\\"y"',
        "tab\tcr\rlf\n": '"tab\\tcr\\rlf\\n"',
        "\u2028\u2029": '"\u2028\u2029"',
        "/plain/path_1.0": "/plain/path_1.0",
        "": '""',
    }
    for value, word in cases.items():
        assert _quote.nginx_word(value) == word
        assert _nginx_read(word) == _nginx_expect(value)


def test_nginx_word_length_limits_are_nginx_buffer():
    assert _quote.nginx_word("x" * 4094) == "x" * 4094
    with pytest.raises(QuoteError, match="4095 bytes long once quoted, more than nginx reads as one word .4094."):
        _quote.nginx_word("x" * 4095)
    assert len(_quote.nginx_word(" " * 4093)) == 4095
    with pytest.raises(QuoteError, match="4096 bytes"):
        _quote.nginx_word(" " * 4094)
    for word in ("x" * 4095, '"%s"' % (" " * 4094)):
        with pytest.raises(consumer.Refused, match="too long parameter"):
            _nginx_read(word)


def test_nginx_arguments_refuse_what_changes_the_directive():
    assert _quote.nginx_arguments("index index.html#x") == ["index", "index.html#x"]
    with pytest.raises(QuoteError, match="comment"):
        _quote.nginx_arguments("index index.html #")
    # nginx reads the "#" word as a comment up to the line end: the
    # directive then takes the next line's words, or the file ends early.
    assert consumer.NginxConf(b"index index.html #\ndeny all;\n").parse() == [([b"index", b"index.html", b"deny", b"all"], None)]
    for text, what in (("deny all; allow all", "';'"), ("if ($x) { return 403", "'{'"), ("a }", "'}'")):
        with pytest.raises(QuoteError, match=what):
            _quote.nginx_arguments(text)
    with pytest.raises(QuoteError, match="right after a closing quote"):
        _quote.nginx_arguments('return 200 "x"y')
    assert _quote.nginx_arguments("return 200 ${a}}b") == ["return", "200", "${a}}b"]
    assert _quote.nginx_directive("  add_header   X-A  'a b' ") == 'add_header X-A "a b"'


def test_nginx_an_escaped_dollar_does_not_start_a_variable():
    # "{" right after "$" belongs to the word ("${name}"), but not after an
    # escaped "\$": there nginx opens a block.
    assert consumer.NginxConf(b"a\\${ b; }\n").parse() == [([b"a\\$"], [([b"b"], None)])]
    with pytest.raises(QuoteError, match="'{' outside quotes"):
        _quote.nginx_arguments("a\\${b")
    assert _quote.nginx_arguments("a$${b}") == ["a$${b}"]


def test_systemd_exec_argv_examples():
    argv = ["/bin/echo", ";", "\\;", "%n", "$HOME", "${HOME}", "a\\", "\x80", "it's \"q\"", "\ufffe", "\U0001fffe"]
    value = _quote.systemd_exec_argv(argv)
    assert value == ('/bin/echo \\; "\\\\;" "%%n" "$$HOME" "$${HOME}" "a\\\\" "\\xc2\\x80" "it\'s \\"q\\"" '
                     '"\\xef\\xbf\\xbe" "\\xf0\\x9f\\xbf\\xbe"')
    assert _exec_argv(value) == [_utf8(w) for w in argv]
    assert _quote.systemd_exec_parse(value) == argv


def test_systemd_escapes_give_bytes_so_a_character_is_written_as_its_utf8():
    # "\x80" is the byte 0x80, not U+0080: U+0080 is "\xc2\x80".
    assert consumer.extract_first_word(b'"\\x80"', 0, consumer.EXTRACT_UNQUOTE | consumer.EXTRACT_CUNESCAPE)[0] == b"\x80"
    assert _quote.systemd_env("A", "\x80") == '"A=\\xc2\\x80"'
    env = consumer.config_parse_environ(b'"A=\\x80"', [], [])
    assert env == []  # not UTF-8: systemd ignores the assignment
    # "\U" refuses noncharacters (a warning, the escape kept as written).
    warnings = []
    assert consumer.config_parse_exec(b'/bin/echo "\\U0001fffe"', warnings)[0][2] == [b"/bin/echo", b"\\U0001fffe"]
    assert warnings


def test_systemd_program_rules():
    assert _quote.systemd_exec_argv(["/usr/bin/a$b", "x"]) == '"/usr/bin/a$b" x'
    assert _quote.systemd_exec_argv(["/opt/my app/run%"]) == '"/opt/my app/run%%"'
    for program, why in (("/usr/bin/a$$b", "expands"), ("$HOME", "expands"), ("/x/${Y}", "expands"), ("bin/x", "relative"),
                         ("/opt/", "directory"), ("..", "directory"), ("-/bin/x", "prefix"), ("/bin/a'b", "does not accept"),
                         ("/bin/a\tb", "does not accept"), (";", "separator"), ("x" * 256, "longer than 255"),
                         ("/" + "/".join(["x" * 200] * 21), "longest path"), ("", "empty program")):
        with pytest.raises(QuoteError, match=why):
            _quote.systemd_exec_argv([program])


def test_systemd_exec_string_examples():
    assert _quote.systemd_exec_string_problems(" /bin/echo a \\; %n $HOME ${HOME}\r\n") == "/bin/echo a \\; %n $HOME ${HOME}"
    assert _quote.systemd_exec_string_problems("/bin/echo a\\\\") == "/bin/echo a\\\\"
    for text, why in (("/bin/echo a ; /bin/rm -rf /", "lone ';'"), ("; /bin/true", "lone ';'"), ('";" /bin/true', "lone ';'"),
                      ("/bin/echo a\\", "backslash"), ("/bin/echo a\nb", "line break"), ("/bin/echo 'a", "unterminated"),
                      ("/bin/echo \\q", "unknown escape"), ("/bin/echo %z", "not a systemd specifier"),
                      ("/bin/echo %D", "not a systemd specifier"),
                      ("/bin/echo \ufffe", "noncharacter"), ("+/bin/sh", "prefix"), ("   ", "empty")):
        with pytest.raises(QuoteError, match=why):
            _quote.systemd_exec_string_problems(text)


def test_systemd_value_examples():
    assert _quote.systemd_value("100% of %n") == "100%% of %%n"
    assert _quote.systemd_value("ends in two \\\\") == "ends in two \\\\"
    assert _description("ends in two \\\\") == b"ends in two \\\\"
    assert _quote.systemd_value("") == ""
    for text, why in (("ends in \\", "join the next line"), (" padded", "strips"), ("a\rb", "line break"),
                      ("x\ufdd0", "noncharacter"), ("x" * (_quote.SYSTEMD_VALUE_MAX + 1), "bytes long")):
        with pytest.raises(QuoteError, match=why):
            _quote.systemd_value(text)
    # Continued: systemd joins "ends in " and the next line.
    assert _description("ends in \\") is None


def test_systemd_escape_path_examples():
    cases = {"/": "-", "": "-", "/.": "-", "/a/./b//": "a-b", "/.dot/.x": "\\x2edot-.x", "/sys/eth-0": "sys-eth\\x2d0",
             "caf\u00e9": "caf\\xc3\\xa9", "a b": "a\\x20b", "rel/a": "rel-a"}
    for path, escaped in cases.items():
        assert _quote.systemd_escape_path(path) == escaped
    for path in (".", "./", "/a/../b", "/" + "x" * 256, "/" + "/".join(["x" * 200] * 21)):
        with pytest.raises(QuoteError):
            _quote.systemd_escape_path(path)


@pytest.mark.parametrize("value", [None, True, ["a"], {"a": 1}, b"bytes"])
def test_scalars_only(value):
    for render in (_quote.systemd_value, _quote.nginx_word, _quote.ip_batch_word, _quote.systemd_escape_path,
                   _quote.systemd_exec_word, lambda v: _quote.systemd_env("A", v), lambda v: _quote.systemd_env(v, "x")):
        with pytest.raises(QuoteError, match="not a string"):
            render(value)
    assert _quote.nginx_word(80) == "80" and _quote.systemd_env("PORT", 8080) == '"PORT=8080"'


# ---------------------------------------------------------------- samples
#
# tests/quote_samples.py: the unit a VM test runs under systemd.


def test_quote_samples_unit_reads_back_with_systemds_rules():
    unit = _utf8(quote_samples.unit_text("/run/quote-samples.json"))
    assignments, warnings = consumer.parse_unit(unit)
    env = []
    for _section, key, raw in assignments:
        if key == "Environment":
            consumer.config_parse_environ(raw, env, warnings)
    (value,) = [raw for _section, key, raw in assignments if key == "ExecStart"]
    (description,) = [raw for _section, key, raw in assignments if key == "Description"]
    commands = consumer.config_parse_exec(value, warnings)
    assert not warnings and len(commands) == 1
    argv = consumer.replace_env_argv(commands[0][2], env)
    assert argv == [_utf8(a) for a in quote_samples.argv("/usr/bin/python3", "/run/quote-samples.json")]
    assert sorted(env) == sorted(_utf8(k + "=" + v) for k, v in quote_samples.environment().items())
    assert consumer.specifier_printf(description) == _utf8(quote_samples.DESCRIPTION)
    # Environment= cannot carry the noncharacters (systemd's UTF-8 check).
    assert set(quote_samples.samples()) - set(quote_samples.environment().values()) == {"\ufffe", "\ufdd0", "\U0001fffe", "\U0010ffff"}


def test_quote_samples_check_finds_every_difference(tmp_path):
    output = tmp_path / "record.json"
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(quote_samples.ENV_PREFIX))
    env.update(quote_samples.environment())
    argv = quote_samples.argv(sys.executable, str(output))
    subprocess.run(argv, env=env, check=True)
    record = json.loads(output.read_text())
    assert quote_samples.check(record) == []
    record["argv"][3] = "41"
    del record["env"][quote_samples.ENV_PREFIX + "02"]
    record["env"][quote_samples.ENV_PREFIX + "99"] = "41"
    assert [p.split(":")[0] for p in quote_samples.check(record)] == [
        "argv[3]", quote_samples.ENV_PREFIX + "02", quote_samples.ENV_PREFIX + "99"]
