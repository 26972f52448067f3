# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nasty sample values for the quoting layer, and one systemd unit that
carries them all, for a test where systemd really runs the unit.

The unit runs Python with the samples as its arguments and every sample
that Environment= can carry in an environment variable; Python writes what
it received as JSON; check() compares that with what it should be,
byte for byte. Everything here is standard library, so that it runs on the
controller of a Molecule scenario (and from tests as
ansible_collections.mptcp.linux.tests.quote_samples).

    python3 tests/quote_samples.py unit /run/quote-samples.json > quote-samples.service
    (install it on the host, systemctl daemon-reload, systemctl start quote-samples.service,
     fetch /run/quote-samples.json)
    python3 tests/quote_samples.py check quote-samples.json    # exit 0 when exact

tests/integration/test_quote_consumers.py loads the same unit with
systemd --test (the argv before environment expansion, the environment,
the description) and systemd-analyze verify on this machine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

try:
    from ansible_collections.mptcp.linux.plugins.module_utils import _quote
except ImportError:  # run as a script from a checkout
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "_quote", os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "plugins", "module_utils", "_quote.py"))
    _quote = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_quote)

# Pieces that break quoting, alone or side by side.
NASTY = [
    "\\", '"', "'", "#", ";", "{", "}", "%", "$", " ", "\t", "\r", "\n", "\u2028", "\u2029",
    "\x00", "\x01", "\x0b", "\x1b", "\x7f", "\x80", "\x85", "\x9b", "\xa0", "\xad", "\xe9", "\u20ac",
    "\U0001f600", "\ufeff", "\u200b", "\u202e", "\ufffe", "\uffff", "\ufdd0", "\U0001fffe", "\U0010ffff",
    "\ud800", "\udc80", "${", "$$", "%%", "%n", "%z", "%%n", "\\;", "\\\\", "\\\n", "\\x41", "\\u00e9",
    "\\n", '\\"', "}}", "{}", "a", "Z", "0", "/", "-", "=", "@", ":", ")", "(", "*", "..", ".",
]
# A byte string that a property test draws picks its pieces from this
# table of 256: the nasty pieces, then characters of every kind (ASCII,
# Latin-1, other scripts, combining marks, private use, unassigned, astral),
# so that one cheap draw makes a value.
PIECES = NASTY + [chr(c) for c in (
    list(range(0x21, 0x7f)) + list(range(0x80, 0x100, 3)) + [0x300, 0x301, 0x391, 0x5d0, 0x627, 0x915, 0x4e2d, 0xac00,
                                                             0xe000, 0xf8ff, 0x0378, 0x10ffff, 0x1d11e, 0x2f800, 0xe0001])]
PIECES = (PIECES * 2)[:256]

UNIT_NAME = "quote-samples.service"
ENV_PREFIX = "QUOTE_SAMPLE_"
DESCRIPTION = u"quote samples: 100% \"q\" 'q' \\; $HOME ${X} # \u00e9 \U0001f600 \x01 \\\\"

# What the unit runs: Python, given the output path then the samples,
# writes its arguments and the QUOTE_SAMPLE_* variables, as bytes in hex.
RECORDER = (
    "import json, os, sys\n"
    "argv = [os.fsencode(a).hex() for a in sys.argv[2:]]\n"
    "env = dict((k.decode(), v.hex()) for k, v in os.environb.items() if k.startswith(b'%s'))\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    json.dump({'argv': argv, 'env': env}, f)\n" % ENV_PREFIX
)


def encodable(text):
    """Whether the text can be written as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def samples():
    """About 60 values that break naive quoting, in a fixed order."""
    return [
        u"", u" ", u"a b", u"  leading", u"trailing  ", u"\t", u"tab\there", u"line1\nline2", u"cr\rlf", u"\r\n",
        u";", u"\\;", u"a;b", u";;", u"#", u"# comment", u"a #b",
        u"\\", u"a\\", u"\\\\", u"ends with \\", u"\\n", u"\\x41", u"\\u00e9",
        u'"', u"'", u"\"'\"", u"it's", u'say "hi"',
        u"%", u"%%", u"%n", u"%%n", u"100%", u"%z",
        u"$", u"$$", u"$HOME", u"${HOME}", u"$$HOME", u"${HOME:-x}", u"a$b",
        u"{", u"}", u"{}", u"${",
        u"\x01", u"\x1b[31m", u"\x7f", u"\x80", u"\x85", u"\xa0", u"\xad",
        u"\u2028", u"\u2029", u"\ufeff", u"\u202e",
        u"\xe9", u"\u20ac", u"\U0001f600", u"\U0010ffff",
        u"\ufffe", u"\ufdd0", u"\U0001fffe",
        u"x" * 3000, u"a \"'\\;%$#{}" * 300,
    ]


def environment():
    """{name: value} of the samples Environment= carries (not the Unicode
    noncharacters, which systemd refuses there)."""
    env = {}
    for index, value in enumerate(samples()):
        try:
            _quote.systemd_env("X", value)
        except _quote.QuoteError:
            continue
        env["%s%02d" % (ENV_PREFIX, index)] = value
    return env


def argv(python, output):
    return [python, "-c", RECORDER, output] + samples()


def unit_text(output, python="/usr/bin/python3"):
    """The unit: Type=oneshot, so that systemctl start returns when the
    record is written."""
    lines = [
        "[Unit]",
        "Description=" + _quote.systemd_value(DESCRIPTION),
        "DefaultDependencies=no",
        "",
        "[Service]",
        "Type=oneshot",
    ]
    lines += ["Environment=" + _quote.systemd_env(name, value) for name, value in sorted(environment().items())]
    lines.append("ExecStart=" + _quote.systemd_exec_argv(argv(python, output)))
    return "\n".join(lines) + "\n"


def expected():
    return {
        "argv": [s.encode("utf-8").hex() for s in samples()],
        "env": dict((k, v.encode("utf-8").hex()) for k, v in environment().items()),
    }


def check(record):
    """The differences between a record (the recorder's JSON, parsed) and
    what it should be, as readable lines; empty when exact."""
    want = expected()
    problems = []
    got = record.get("argv", [])
    if len(got) != len(want["argv"]):
        problems.append("argv: %d arguments, expected %d" % (len(got), len(want["argv"])))
    for index, (g, w) in enumerate(zip(got, want["argv"])):
        if g != w:
            problems.append("argv[%d]: got %r, expected %r" % (index, bytes.fromhex(g), bytes.fromhex(w)))
    for name in sorted(set(want["env"]) | set(record.get("env", {}))):
        g, w = record.get("env", {}).get(name), want["env"].get(name)
        if g != w:
            problems.append("%s: got %r, expected %r" % (name, g and bytes.fromhex(g), w and bytes.fromhex(w)))
    return problems


def main(args):
    if len(args) == 2 and args[0] == "unit":
        sys.stdout.write(unit_text(args[1]))
        return 0
    if len(args) == 2 and args[0] == "check":
        with open(args[1]) as f:
            problems = check(json.load(f))
        for line in problems:
            print(line)
        if not problems:
            print("%d arguments and %d variables exactly as written" % (len(samples()), len(environment())))
        return 1 if problems else 0
    sys.stderr.write("usage: quote_samples.py unit OUTPUT.json | check OUTPUT.json\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
