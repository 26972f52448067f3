# -*- coding: utf-8 -*-
"""The quoting layer against the real consumers: iproute2's ip -batch in a
throw-away network namespace, a real nginx serving each rendered word as a
page, systemd-escape, systemd-analyze verify and systemd's own unit loader
(systemd --test, run as nobody, dumps the units it loaded: the argv of
ExecStart= before environment expansion, the environment, the
description). Hypothesis generates the values, as in the unit tests
(tests/unit/plugins/module_utils/test_quote.py), which prove the same
properties against ports of these programs' readers.

What this machine cannot do is run a unit: systemd is not PID 1 here. The
unit of tests/quote_samples.py, which records the argv and environment its
process really gets, is for a VM; here it is only loaded.
"""

from __future__ import absolute_import, division, print_function

import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ansible_collections.mptcp.linux.plugins.module_utils import _quote
from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError
from ansible_collections.mptcp.linux.tests import quote_samples
from ansible_collections.mptcp.linux.tests.quote_samples import PIECES, encodable

SYSTEMD = "/lib/systemd/systemd"


def _examples(count):
    return settings(max_examples=count, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _text(pieces):
    return "".join(PIECES[b] for b in bytearray(pieces))


def _run(argv, check=False, **kwargs):
    return subprocess.run(argv, capture_output=True, check=check, **kwargs)


@pytest.fixture(scope="module")
def namespace():
    name = "mptcp-quote-%s" % uuid.uuid4().hex[:8]
    _run(["ip", "netns", "add", name], check=True)
    _run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    yield name
    _run(["ip", "netns", "delete", name])


# ---------------------------------------------------------------- ip -batch


def _ip_batch(netns, lines, force=False):
    with tempfile.NamedTemporaryFile("wb", suffix=".batch") as f:
        f.write(b"".join(line.encode("utf-8") + b"\n" for line in lines))
        f.flush()
        return _run(["ip", "-n", netns] + (["-force"] if force else []) + ["-batch", f.name])


def _ip_links(netns):
    """{name: alias} from ip -j link show. iproute2's JSON writer escapes
    "'" as "\\'" (6.x after 6.1), which JSON does not know, and writes other
    control characters raw (json.loads(strict=False) takes them)."""
    out = _run(["ip", "-n", netns, "-j", "link", "show"], check=True).stdout.decode("utf-8")
    out = re.sub(r"(?<!\\)((?:\\\\)*)\\'", r"\1'", out)
    return dict((link["ifname"], link.get("ifalias", "")) for link in json.loads(out, strict=False))


def _ifname_ok(name):
    """Linux's dev_valid_name() (and __dev_alloc_name(), which takes a "%"
    as a number pattern): 1..15 bytes, not "." or "..", no "/", ":" or
    "%", no byte the kernel's isspace() takes (tab..CR, space, and 0xA0,
    which is the second byte of "à" and many more)."""
    raw = name.encode("utf-8", "surrogatepass")
    return (0 < len(raw) < 16 and name not in (".", "..", "lo") and encodable(name)
            and not any(b in bytearray(b"\0/:% \t\n\v\f\r\xa0") for b in bytearray(raw)))


def _truncate(text, size):
    raw = text.encode("utf-8", "surrogatepass")[:size]
    return raw.decode("utf-8", "ignore")


IFNAMES = st.lists(st.binary(min_size=1, max_size=8).map(lambda b: _truncate(_text(b), 15)).filter(_ifname_ok),
                   min_size=2, max_size=60, unique=True)


@_examples(40)
@given(IFNAMES)
def test_ip_batch_interface_names_read_back(names):
    """Each example makes its namespace, one veth pair per line."""
    pairs = list(zip(names[0::2], names[1::2]))
    lines, expected = [], {"lo": ""}
    for first, second in pairs:
        try:
            lines.append(_quote.ip_batch_line(["link", "add", "name", first, "type", "veth", "peer", "name", second]))
        except QuoteError as e:
            # "#" and a word that needs quotes but holds both: a valid
            # interface name can hold them, ip -batch cannot.
            assert "'#'" in str(e) or "both quote characters" in str(e)
            event("refused")
            continue
        event("created")
        expected.update({first: "", second: ""})
    netns = "mptcp-quote-%s" % uuid.uuid4().hex[:8]
    _run(["ip", "netns", "add", netns], check=True)
    try:
        result = _ip_batch(netns, lines)
        assert result.returncode == 0, result.stderr
        assert _ip_links(netns) == expected
    finally:
        _run(["ip", "netns", "delete", netns])


@pytest.fixture(scope="module")
def aliased(namespace):
    """64 interfaces whose aliases the tests set."""
    names = ["q%d" % i for i in range(64)]
    result = _ip_batch(namespace, ["link add name %s type veth peer name %s" % pair for pair in zip(names[0::2], names[1::2])])
    assert result.returncode == 0, result.stderr
    return namespace, names


ALIASES = st.lists(st.tuples(st.binary(max_size=10), st.sampled_from([1] * 12 + [30])).map(lambda t: _truncate(_text(t[0]) * t[1], 255)),
                   min_size=64, max_size=64)


@_examples(100)
@given(ALIASES)
def test_ip_batch_aliases_read_back(aliased, aliases):
    """An alias takes almost any text (up to 255 bytes): blanks, CR,
    quotes, backslashes, controls, any Unicode."""
    netns, names = aliased
    lines, expected = [], {"lo": ""}
    for name, alias in zip(names, aliases):
        try:
            lines.append(_quote.ip_batch_line(["link", "set", "dev", name, "alias", alias]))
            expected[name] = alias
            event("set")
        except QuoteError as e:
            assert re.search(r"NUL|Unicode|'#'|line feed|both quote characters", str(e)), e
            lines.append(_quote.ip_batch_line(["link", "set", "dev", name, "alias", ""]))
            expected[name] = ""
            event("refused")
    result = _ip_batch(netns, lines)
    assert result.returncode == 0, result.stderr
    assert _ip_links(netns) == expected


def test_ip_batch_hash_and_trailing_backslash_really_change_the_line(aliased):
    """What the renderer refuses or quotes, ip really does."""
    netns, names = aliased
    # "#" cuts the line, bare or quoted: the alias loses its end, or ip
    # stops the batch on the quote that was cut off.
    assert _ip_batch(netns, ["link set dev q0 alias a#b"]).returncode == 0
    assert _ip_links(netns)["q0"] == "a"
    result = _ip_batch(netns, ['link set dev q0 alias "x#y"', "link set dev q1 alias after"])
    assert result.returncode != 0 and b"Unterminated quoted string" in result.stderr
    assert _ip_links(netns)["q1"] != "after"
    with pytest.raises(QuoteError, match="comment"):
        _quote.ip_batch_word("a#b")
    # A trailing backslash joins the next line: that line does not run.
    assert _ip_batch(netns, ["link set dev q2 alias a\\", "b", "link set dev q3 alias c"]).returncode == 0
    links = _ip_links(netns)
    assert (links["q2"], links["q3"]) == ("ab", "c")
    # Quoted, it is a backslash like any other.
    lines = [_quote.ip_batch_line(["link", "set", "dev", "q2", "alias", "a\\"]), "link set dev q3 alias d"]
    assert lines[0].endswith('"a\\"')
    assert _ip_batch(netns, lines).returncode == 0
    links = _ip_links(netns)
    assert (links["q2"], links["q3"]) == ("a\\", "d")
    # Both quotes, and a blank: neither quote can hold the word.
    for line in ['link set dev q4 alias "it\'s "x""', "link set dev q4 alias 'it's \"x\"'"]:
        result = _ip_batch(netns, [line])
        assert result.returncode != 0 or _ip_links(netns)["q4"] != 'it\'s "x"'
    with pytest.raises(QuoteError, match="both quote characters"):
        _quote.ip_batch_word('it\'s "x"')


# ---------------------------------------------------------------- nginx

CLONE_NEWNET = 0x40000000


def _connect_in(netns, port):
    """A TCP connection to 127.0.0.1:PORT inside the namespace: a thread
    enters the namespace (setns() moves only the calling thread), opens the
    socket and ends; the socket stays in the namespace."""
    result = {}

    def connect():
        libc = ctypes.CDLL(None, use_errno=True)
        with open("/run/netns/" + netns) as handle:
            if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                result["error"] = os.strerror(ctypes.get_errno())
                return
        result["socket"] = socket.create_connection(("127.0.0.1", port), timeout=10)

    thread = threading.Thread(target=connect)
    thread.start()
    thread.join()
    if "error" in result:
        raise OSError("setns %s: %s" % (netns, result["error"]))
    return result["socket"]


class Nginx(object):
    """A real nginx in the namespace, listening on 127.0.0.1:8080 there, run
    as root with its own prefix; configure() writes a server block, checks
    it with nginx -t and reloads, then waits for the new generation."""

    PORT = 8080

    def __init__(self, netns, root):
        self.netns, self.root = netns, root
        self.conf = os.path.join(root, "nginx.conf")
        self.generation = 0
        self.www = os.path.join(root, "www")
        os.makedirs(self.www)
        with open(os.path.join(self.www, "index.html"), "w") as f:
            f.write("index page\n")
        self.configure("")
        self.exec(["nginx", "-p", root, "-c", self.conf])
        with open(os.path.join(root, "nginx.pid")) as f:
            self.pid = int(f.read())

    def exec(self, argv, **kwargs):
        return _run(["ip", "netns", "exec", self.netns] + argv, check=True, **kwargs)

    def text(self, locations):
        temp = "".join("    %s_temp_path %s;\n" % (kind, os.path.join(self.root, kind))
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return ("user root;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\nevents {\n}\n"
                "http {\n    access_log off;\n%s    server {\n        listen 127.0.0.1:%d;\n        root %s;\n"
                "        location = /generation { return 200 \"%d\"; }\n%s    }\n}\n"
                % (self.root, self.root, temp, self.PORT, self.www, self.generation, locations))

    def check(self, locations):
        """nginx -t on a configuration with these locations: (ok, output)."""
        path = os.path.join(self.root, "check.conf")
        with open(path, "wb") as f:
            f.write(self.text(locations).encode("utf-8"))
        result = _run(["nginx", "-t", "-p", self.root, "-c", path])
        return result.returncode == 0, result.stderr.decode("utf-8", "replace")

    def configure(self, locations):
        self.generation += 1
        ok, output = self.check(locations)
        assert ok, output
        with open(self.conf, "wb") as f:
            f.write(self.text(locations).encode("utf-8"))
        if self.generation > 1:
            os.kill(self.pid, signal.SIGHUP)

    def _request(self, connection, path):
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()

    def get(self, paths):
        """(status, body) of each path, on one keep-alive connection that a
        worker of the current configuration serves: after a reload, the
        old worker may still take a connection for a moment."""
        for attempt in range(200):
            connection = http.client.HTTPConnection("127.0.0.1", self.PORT, timeout=10)
            try:
                connection.sock = _connect_in(self.netns, self.PORT)
                if self._request(connection, "/generation") == (200, str(self.generation).encode()):
                    return [self._request(connection, path) for path in paths]
            except OSError:
                pass  # the old worker closed the connection
            finally:
                connection.close()
            time.sleep(0.02)
        raise AssertionError("nginx did not load generation %d" % self.generation)

    def stop(self):
        os.kill(self.pid, signal.SIGTERM)
        for attempt in range(100):
            if not os.path.exists("/proc/%d" % self.pid):
                return
            time.sleep(0.05)


@pytest.fixture(scope="module")
def nginx(namespace):
    if not shutil.which("nginx"):
        pytest.skip("needs nginx (apt-get install nginx)")
    root = tempfile.mkdtemp(prefix="mptcp-quote-nginx-")
    server = Nginx(namespace, root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


# "return" expands variables in its text: the values hold no "$".
RETURN_VALUES = st.lists(
    st.tuples(st.binary(max_size=12), st.sampled_from([1] * 14 + [200, 500]))
    .map(lambda t: _text(t[0]).replace("$", "") * t[1]).filter(lambda v: encodable(v) and "\0" not in v),
    min_size=1, max_size=40)


@_examples(40)
@given(RETURN_VALUES)
def test_nginx_returns_each_word_byte_for_byte(nginx, values):
    locations, paths, expected = [], [], []
    for index, value in enumerate(values):
        try:
            word = _quote.nginx_word(value)
        except QuoteError as e:
            assert "more than nginx reads as one word" in str(e)
            event("refused: too long")
            continue
        event("served")
        locations.append("        location = /%d { return 200 %s; }\n" % (index, word))
        paths.append("/%d" % index)
        expected.append((200, value.encode("utf-8")))
    nginx.configure("".join(locations))
    assert nginx.get(paths) == expected


def test_nginx_word_length_limit_is_nginx(nginx):
    """The longest word nginx reads through its 4096-byte buffer, followed
    by a blank (the worst case) or by ";"."""
    for word, after, ok in (("x" * 4094, " ;", True), ("x" * 4095, " ;", False), ("x" * 4095, ";", True),
                            ('"%s"' % ("x" * 4093), " ;", True), ('"%s"' % ("x" * 4094), " ;", False)):
        accepted, output = nginx.check("        location = /long { return 200 %s%s }\n" % (word, after))
        assert accepted == ok, (len(word), after, output)
        if not ok:
            assert "too long parameter" in output
    assert _quote.nginx_word("x" * 4094) == "x" * 4094
    assert _quote.nginx_word(" " * 4093) == '"%s"' % (" " * 4093)
    for value in ("x" * 4095, " " * 4094):
        with pytest.raises(QuoteError, match="more than nginx reads as one word"):
            _quote.nginx_word(value)


def test_nginx_comment_and_semicolon_change_the_directive(nginx):
    """nginx -t takes what these directive strings become when written as
    they are, but it means something else than they say; the role-facing
    checks refuse the strings, and quoting keeps the meaning."""
    def location(*directives):
        return "        location / {\n%s        }\n" % "".join("            %s;\n" % d for d in directives)

    # ["index index.html #", "deny all"]: the "#" comments out the first
    # directive's ";", so "deny" and "all" become two more index files and
    # nothing is denied.
    nginx.configure(location("index index.html", "deny all"))
    assert nginx.get(["/"])[0][0] == 403
    nginx.configure(location("index index.html #", "deny all"))
    assert nginx.get(["/"]) == [(200, b"index page\n")]
    with pytest.raises(QuoteError, match="comment"):
        _quote.nginx_directive("index index.html #")
    # "add_header X-A a; deny all": a header meant to hold "a; deny all"
    # becomes a header and an access rule.
    nginx.configure(location("add_header X-A a; deny all", "index index.html"))
    assert nginx.get(["/"])[0][0] == 403
    with pytest.raises(QuoteError, match="outside quotes"):
        _quote.nginx_directive("add_header X-A a; deny all")
    nginx.configure(location("add_header X-A %s" % _quote.nginx_word("a; deny all #"), "index index.html"))
    assert nginx.get(["/"]) == [(200, b"index page\n")]


# ---------------------------------------------------------------- systemd


def _systemd_escape(paths):
    result = _run(["systemd-escape", "--path", "--"] + paths)
    if result.returncode == 0:
        # One line, the escaped paths separated by blanks (a blank in a
        # path is escaped).
        return result.stdout.decode("utf-8").rstrip("\n").split(" ")
    if len(paths) == 1:
        return [None]
    return [_systemd_escape([p])[0] for p in paths]


PATH_PIECES = PIECES[:200] + ["/", "/", "/./", "/../", "//", ".", "..", "-", ".a", "\u00e9", "x" * 255, "x" * 256, "/a", "a"] * 4
PATHS = st.lists(st.binary(max_size=12).map(lambda b: "".join(PATH_PIECES[i] for i in bytearray(b)))
                 .filter(lambda p: encodable(p) and "\0" not in p and not p.startswith("-")), min_size=1, max_size=40)


@pytest.mark.skipif(not shutil.which("systemd-escape"), reason="needs systemd-escape")
@_examples(40)
@given(PATHS)
def test_systemd_escape_path_is_systemd_escape(paths):
    expected = _systemd_escape(paths)
    for path, escaped in zip(paths, expected):
        try:
            assert _quote.systemd_escape_path(path) == escaped
            event("escaped")
        except QuoteError:
            assert escaped is None
            event("refused")


def _command_line(line):
    """The argv of a "Command Line:" of systemd's dump, which quotes with
    shell_maybe_quote(): bare words, or double quotes with C escapes (octal
    for other bytes) and "\\" before \\ " ` $."""
    words, pos = [], 0
    simple = {b"a": b"\a", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
    while pos < len(line):
        if line[pos:pos + 1] == b'"':
            word, pos = bytearray(), pos + 1
            while line[pos:pos + 1] != b'"':
                c = line[pos:pos + 1]
                if c == b"\\":
                    nxt = line[pos + 1:pos + 2]
                    if re.match(b"[0-7]{3}", line[pos + 1:pos + 4]):
                        word.append(int(line[pos + 1:pos + 4], 8))
                        pos += 4
                        continue
                    word += simple.get(nxt, nxt)
                    pos += 2
                    continue
                word += c
                pos += 1
            words.append(bytes(word))
            pos += 2  # the quote and the blank
        else:
            stop = line.find(b" ", pos)
            stop = len(line) if stop < 0 else stop
            words.append(line[pos:stop])
            pos = stop + 1
    return words


def _systemd_test(units, target):
    """systemd --test of TARGET among UNITS ({name: text}): the dump of
    each unit (bytes), and the log (warnings). systemd refuses test mode as
    root; nobody runs it."""
    directory = tempfile.mkdtemp(prefix="mptcp-quote-units-")
    try:
        os.chmod(directory, 0o755)
        for name, text in units.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(text.encode("utf-8"))
            os.chmod(os.path.join(directory, name), 0o644)
        verify = _run(["systemd-analyze", "verify"] + [os.path.join(directory, name) for name in sorted(units)],
                      cwd=directory)
        result = _run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", SYSTEMD, "--test", "--system",
                       "--unit=" + target, "--log-target=console", "--log-level=warning"],
                      env={"SYSTEMD_UNIT_PATH": directory, "PATH": os.environ["PATH"]}, cwd="/")
    finally:
        shutil.rmtree(directory)
    assert verify.returncode == 0, verify.stderr
    dump = {}
    for section in re.split(b"\n(?=\t-> Unit )", result.stdout):
        found = re.match(b"\t-> Unit ([^:\n]+):\n", section)
        if found and found.group(1).decode() in units:
            dump[found.group(1).decode()] = section
    return dump, verify.stdout + verify.stderr + result.stderr


def _dumped(section, environment):
    """(description, environment, argv of each command) from a unit's dump,
    given the environment it should have: systemd prints each assignment as
    it is, line breaks included, so the lines are compared as a block."""
    description = re.search(b"\n\t\tDescription: ([^\n]*)\n", section).group(1)
    block = b"".join(b"\n\t\tEnvironment: " + a for a in environment) + b"\n"
    if section.count(b"\n\t\tEnvironment: ") != len(environment) or (environment and block not in section):
        environment = re.findall(b"\n\t\tEnvironment: ([^\n]*)", section)  # to show what differs
    commands = [_command_line(m.group(1)) for m in re.finditer(b"\n\t\t\tCommand Line: ([^\n]*)\n", section)]
    return description, environment, commands


needs_systemd = pytest.mark.skipif(not (os.path.exists(SYSTEMD) and shutil.which("systemd-analyze") and shutil.which("setpriv")),
                                   reason="needs systemd, systemd-analyze and setpriv")

SYSTEMD_VALUES = st.lists(st.tuples(st.binary(max_size=10), st.sampled_from([1] * 14 + [100, 300])).map(lambda t: _text(t[0]) * t[1]),
                          min_size=1, max_size=30)


@needs_systemd
@_examples(25)
@given(SYSTEMD_VALUES)
def test_systemd_loads_rendered_units_exactly(values):
    """Each value as a Description= (one unit each), as an Environment=
    assignment and as an ExecStart= argument; systemd-analyze verify says
    nothing, and systemd's loader reads back every value."""
    units, expected = {}, {}
    args, env = [], []
    for index, value in enumerate(values):
        name = "quote-%d.service" % index
        try:
            # An empty Description= is no description: systemd shows the
            # unit's name.
            description, meant = _quote.systemd_value(value), value or name
        except QuoteError:
            description = meant = "refused"
            event("description refused")
        try:
            env.append((_quote.systemd_env("V%d" % index, value), b"V%d=" % index + value.encode("utf-8")))
        except QuoteError:
            event("environment refused")
        try:
            _quote.systemd_exec_word(value)
            _quote.systemd_exec_argv(["/bin/echo", value])
            args.append(value)
        except QuoteError:
            event("argument refused")
        units[name] = "[Unit]\nDescription=%s\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/true\n" % description
        expected[name] = (meant.encode("utf-8"), [], [[b"/bin/true"]])
    argv = ["/bin/echo"] + args
    units["quote-all.service"] = ("[Unit]\nDescription=all\nDefaultDependencies=no\n[Service]\nType=oneshot\n%s\nExecStart=%s\n"
                                  % ("".join("Environment=%s\n" % line for line, assignment in env), _quote.systemd_exec_argv(argv)))
    # The dump shows argv before environment expansion: "$$" as written.
    expected["quote-all.service"] = (b"all", [assignment for line, assignment in env],
                                     [[argv[0].encode()] + [a.replace("$", "$$").encode("utf-8") for a in args]])
    units["quote.target"] = "[Unit]\nDescription=t\nDefaultDependencies=no\nWants=%s\n" % " ".join(sorted(expected))
    dump, log = _systemd_test(units, "quote.target")
    assert not re.search(b"quote-[^ ]*\\.service", log), log
    assert dict((name, _dumped(dump[name], expected[name][1])) for name in expected) == expected


@needs_systemd
def test_quote_samples_unit_loads_exactly():
    """The unit a VM runs (tests/quote_samples.py), loaded by systemd here:
    argv before expansion, environment and description as meant."""
    output = "/run/quote-samples.json"
    units = {quote_samples.UNIT_NAME: quote_samples.unit_text(output)}
    dump, log = _systemd_test(units, quote_samples.UNIT_NAME)
    assert quote_samples.UNIT_NAME.encode() not in log, log
    assignments = [(k + "=" + v).encode("utf-8") for k, v in sorted(quote_samples.environment().items())]
    description, environment, commands = _dumped(dump[quote_samples.UNIT_NAME], assignments)
    argv = quote_samples.argv("/usr/bin/python3", output)
    assert commands == [[a.encode("utf-8") for a in argv[:4]] + [s.replace("$", "$$").encode("utf-8") for s in argv[4:]]]
    assert environment == assignments
    assert description == quote_samples.DESCRIPTION.encode("utf-8")
