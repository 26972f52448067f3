# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_nginx: the checks of the mptcp_nginx role's blocks (every message names
its field), the rendering (exact text, and parsed back by crossplane, an nginx
parser of its own, to the words that were checked), the main configuration's
include line, the listen ports and the probe of nginx. The filters that wrap
it are tested in tests/unit/plugins/filter/test_nginx_filters.py: this file
imports module_utils only, as ansible-test units requires of its
module_utils tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess

import crossplane
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mptcp.linux.plugins.module_utils import _nginx
from ansible_collections.mptcp.linux.plugins.module_utils._quote import nginx_word

S = "mptcp_nginx_servers"


def web(**extra):
    server = {"name": "web", "listen": [{"port": 18080, "address": "127.0.0.1", "default_server": True}],
              "server_name": ["web.example"], "directives": ["index index.html"],
              "locations": [{"path": "= /health", "return": '200 "ok"'}]}
    server.update(extra)
    return server


def problems(**extra):
    return _nginx.block_problems([web(**extra)], S)


# ------------------------------------------------------------ checks


def test_a_good_block_has_no_problem():
    assert problems() == []
    assert _nginx.block_problems([{"name": "s", "listen": [{"port": 22}], "proxy_pass": "127.0.0.1:22"}],
                                 "mptcp_nginx_streams", "stream") == []
    assert _nginx.block_problems([{"name": "gone", "state": "absent"}], S) == []


@pytest.mark.parametrize("extra,message", [
    # What smuggles a directive past the role: a comment sign, an unbalanced
    # quote, a ';' or a brace outside quotes.
    ({"directives": ["index index.html #", "deny all"]},
     S + "[0].directives[0]: \"index index.html #\" has '#', which starts an nginx comment"),
    ({"directives": ["index index.html", 'add_header X "a']},
     S + "[0].directives[1]: \"add_header X \\\"a\" has an unterminated \" quote"),
    ({"directives": ["index x; include /etc/passwd"]}, S + "[0].directives[0]: \"index x; include /etc/passwd\" has ';'"),
    ({"directives": ["if ($x) { return 403"]}, S + "[0].directives[0]: \"if ($x) { return 403\" has '{'"),
    ({"directives": [""]}, S + "[0].directives[0]: \"\" is an empty directive"),
    ({"directives": ["# all"]}, S + "[0].directives[0]: \"# all\" has '# all'"),
    ({"locations": [{"path": "/", "directives": ["allow all", "deny all #"]}]},
     S + "[0].locations[0].directives[1]: \"deny all #\" has '#'"),
    ({"locations": [{"path": "/", "return": '200 "x'}]}, S + "[0].locations[0].return: \"200 \\\"x\" has an unterminated"),
    ({"locations": [{"path": "/ #"}]}, S + "[0].locations[0].path: \"/ #\" has '#'"),
    ({"locations": [{"path": "/a {"}]}, S + "[0].locations[0].path: \"/a {\" has '{'"),
    ({"locations": [{"path": "/a /b"}]}, S + "[0].locations[0].path: \"/a /b\" is not a location match"),
    ({"locations": [{"path": ""}]}, S + "[0].locations[0].path: \"\" is not a location match"),
    ({"return": "200 hello world"}, S + "[0].return: \"200 hello world\" is not a return value"),
    ({"return": "ok ok"}, S + "[0].return: \"ok ok\" is not a return value"),
    ({"return": "200 #"}, S + "[0].return: \"200 #\" has '#'"),
    ({"root": "/var/www my"}, S + "[0].root: \"/var/www my\" is not one word (nginx reads 2"),
    ({"root": "/srv; deny all"}, S + "[0].root: \"/srv; deny all\" has ';'"),
    ({"server_name": ["a }\nserver {"]}, S + "[0].server_name[0]: \"a }\\nserver {\" contains a newline"),
    ({"server_name": ["a", "b c"]}, S + "[0].server_name[1]: \"b c\" is not one word"),
    ({"name": "../etc/x"}, S + "[0].name: \"../etc/x\" is not a valid name"),
    ({"listen": []}, S + "[0].listen: a present block needs at least one listen entry"),
    ({"listen": [{"port": 0}]}, S + "[0].listen[0].port: 0 is not a TCP port (1 to 65535)"),
    ({"listen": [{"port": 65536}]}, S + "[0].listen[0].port: 65536 is not a TCP port"),
    ({"listen": [{"port": "http"}]}, S + "[0].listen[0].port: \"http\" is not a TCP port"),
    ({"listen": [{"port": True}]}, S + "[0].listen[0].port: true is not a TCP port"),
    ({"listen": [{"port": 80, "address": "unix:/run/x.sock"}]}, S + "[0].listen[0].address: \"unix:/run/x.sock\" is not an IP"),
    ({"listen": [{"port": 80, "address": "1.2.3.4 #"}]}, S + "[0].listen[0].address: \"1.2.3.4 #\" has '#'"),
    ({"listen": [{"port": 80, "quic": True}]}, S + "[0].listen[0].quic: QUIC runs over UDP"),
    ({"listen": [{"port": 80, "options": ["quic"]}]}, S + "[0].listen[0].options[0]: \"quic\": QUIC runs over UDP"),
    ({"listen": [{"port": 80, "options": ["Multipath"]}]}, S + "[0].listen[0].options[0]: \"Multipath\": the role adds"),
    ({"listen": [{"port": 80, "options": ["backlog=1 #"]}]}, S + "[0].listen[0].options[0]: \"backlog=1 #\" has '#'"),
    ({"listen": [{"port": 80, "options": ["reuseport ssl"]}]}, S + "[0].listen[0].options[0]: \"reuseport ssl\" is not one word"),
])
def test_every_problem_names_its_field(extra, message):
    found = problems(**extra)
    assert any(text.startswith(message) for text in found), found


def test_names_given_twice_and_stream_rules():
    assert _nginx.block_problems([web(), web()], S) == [S + '[1].name: "web" is given twice']
    streams = _nginx.block_problems([{"name": "s", "listen": [{"port": 22, "udp": True}]}], "mptcp_nginx_streams", "stream")
    assert streams == ["mptcp_nginx_streams[0].listen[0].udp: UDP cannot be combined with multipath",
                       'mptcp_nginx_streams[0].proxy_pass: is required: one word, for example "127.0.0.1:22"']


@pytest.mark.parametrize("word,valid", [
    ("127.0.0.1", True), ("[::1]", True), ("::", True), ("www.example.org", True), ("~^www\\d+\\.example$", True),
    ("backlog=4096", True), ("/srv/www", True), ("a\\\\b", True), ('"/srv/my www"', True), ("'x'", True),
    # nginx reads a backslash-escaped blank as part of the word
    ("a\\ b", True),
    ("a b", False), ("a\tb", False), ("#x", False), ("", False), ("a\\", False), ('"x', False), ("x;", False),
])
def test_one_word_fields(word, valid):
    assert (problems(server_name=[word]) == []) is valid, problems(server_name=[word])


@pytest.mark.parametrize("address,valid", [
    ("127.0.0.1", True), ("::", True), ("[::]", True), ("[2001:db8::1]", True), ("*", True), ("localhost", True),
    ("web-1.example.org", True), ("unix:/x", False), ("[::", False), ("a..b", False), ("-a", False), ("1.2.3.4:80", False),
])
def test_listen_addresses(address, valid):
    assert (problems(listen=[{"port": 80, "address": address}]) == []) is valid


# ------------------------------------------------------------ rendering

EXPECTED_WEB = """\
# Managed by the mptcp.linux.mptcp_nginx role: local changes are overwritten.
server {
    listen 127.0.0.1:18080 default_server multipath;
    listen [::1]:18081 ssl reuseport multipath;
    server_name web.example www.example;
    root "/srv/my www";
    index index.html;
    add_header X-Note "a # b; {c}";

    location = /health {
        return 200 ok;
    }

    location "~ ^/a{2}$" {
        deny all;
    }

    return 301 https://example.org/;
}
"""


def test_render_server_block_exactly():
    entry = web(listen=[{"port": 18080, "address": "127.0.0.1", "default_server": True},
                        {"port": "18081", "address": "::1", "ssl": True, "options": ["reuseport"]}],
                server_name=["web.example", "www.example"], root='"/srv/my www"',
                directives=["index index.html", 'add_header X-Note "a # b; {c}"'],
                locations=[{"path": "= /health", "return": '200 "ok"'},
                           {"path": '"~ ^/a{2}$"', "directives": ["deny all"]}],
                **{"return": "301 https://example.org/"})
    assert _nginx.render_block(entry, "http", "multipath") == EXPECTED_WEB


def test_render_stream_block_exactly():
    entry = {"name": "relay", "listen": [{"port": 18443, "address": "127.0.0.1"}, {"port": 18443, "address": "::"}],
             "proxy_pass": "127.0.0.1:18080", "directives": ["proxy_timeout 5s"]}
    assert _nginx.render_block(entry, "stream", "") == (
        "# Managed by the mptcp.linux.mptcp_nginx role: local changes are overwritten.\n"
        "server {\n    listen 127.0.0.1:18443;\n    listen [::]:18443;\n    proxy_pass 127.0.0.1:18080;\n"
        "    proxy_timeout 5s;\n}\n")


def parsed(tmp_path, text):
    path = tmp_path / "block.conf"
    path.write_text(text)
    result = crossplane.parse(str(path), single=True, check_ctx=False, check_args=False, comments=True)
    assert result["status"] == "ok", result["errors"]
    return result["config"][0]["parsed"]


def test_the_smuggling_example_cannot_hide_a_directive(tmp_path):
    """Rendered from quoted words, "deny all" stays a directive of its own."""
    entry = web(locations=[{"path": "/", "directives": ['add_header X "index.html #"', "deny all"]}])
    assert _nginx.block_problems([entry], S) == []
    server = [d for d in parsed(tmp_path, _nginx.render_block(entry)) if d["directive"] == "server"][0]
    location = [d for d in server["block"] if d["directive"] == "location"][0]
    assert [(d["directive"], d["args"]) for d in location["block"]] == [
        ("add_header", ["X", "index.html #"]), ("deny", ["all"])]


# Words as a user might write them in a directive, quoted the way nginx
# takes them (nginx_word), then joined: what the role must render back to
# exactly these words.
WORDS = st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=0x2fff, blacklist_characters="\\",
                                       blacklist_categories=("Cs",)), min_size=1, max_size=12), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(name=st.from_regex(r"[a-z_]{1,12}", fullmatch=True), args=WORDS, text=WORDS)
def test_rendered_directives_parse_back_to_their_words(tmp_path_factory, name, args, text):
    directive = " ".join([name] + [nginx_word(word) for word in args])
    entry = web(directives=[directive], locations=[{"path": "/", "return": "200 " + nginx_word(" ".join(text))}])
    assert _nginx.block_problems([entry], S) == []
    tree = parsed(tmp_path_factory.mktemp("p"), _nginx.render_block(entry))
    server = [d for d in tree if d["directive"] == "server"][0]["block"]
    assert [d["args"] for d in server if d["directive"] == name][-1] == args
    location = [d for d in server if d["directive"] == "location"][0]
    assert location["block"][0]["args"] == ["200", " ".join(text)]


def test_files_of_present_and_absent_blocks():
    files = _nginx.block_files([web(), {"name": "old", "state": "absent"}], "/etc/nginx/conf.d", "http", "multipath")
    assert [f["path"] for f in files] == ["/etc/nginx/conf.d/mptcp-web.conf", "/etc/nginx/conf.d/mptcp-old.conf"]
    assert files[0]["mode"] == "0644" and "listen 127.0.0.1:18080 default_server multipath;" in files[0]["content"]
    assert files[1] == {"path": "/etc/nginx/conf.d/mptcp-old.conf", "state": "absent"}


def test_the_include_line_is_added_once():
    text = _nginx.with_include("events {\n}\n", "/etc/nginx/mptcp-streams.conf")
    assert text == "events {\n}\ninclude /etc/nginx/mptcp-streams.conf;\n"
    assert _nginx.with_include(text, "/etc/nginx/mptcp-streams.conf") == text
    assert _nginx.with_include("", "/x") == "include /x;\n"


def test_listen_ports_of_present_blocks():
    blocks = [web(listen=[{"port": 443}, {"port": "80"}, {"port": 443, "address": "::"}]),
              {"name": "gone", "state": "absent", "listen": [{"port": 8080}]},
              {"name": "s", "listen": [{"port": 2222}], "proxy_pass": "x"}]
    assert _nginx.listen_ports(blocks) == [80, 443, 2222]


# ------------------------------------------------------------ the probe

# What nginx prints to stderr for `nginx -v -t -e stderr -c probe.conf`.
REFUSED = (
    "nginx version: nginx/1.22.1\n"
    '2026/11/21 06:51:11 [emerg] 26110#26110: invalid parameter "multipath" in /tmp/mptcp-nginx-probe.x/multipath.conf:14\n'
    "nginx: configuration file /tmp/mptcp-nginx-probe.x/multipath.conf test failed\n")
ACCEPTED = (
    "nginx version: nginx/1.30.6\n"
    "nginx: the configuration file /tmp/p/multipath.conf syntax is ok\n"
    "nginx: configuration file /tmp/p/multipath.conf test is successful\n")
IGNORED = (
    "nginx version: nginx/1.30.0\n"
    "2026/11/21 06:51:11 [warn] 7#7: multipath is not supported on this platform, ignored in /tmp/p/multipath.conf:14\n"
    "nginx: the configuration file /tmp/p/multipath.conf syntax is ok\n"
    "nginx: configuration file /tmp/p/multipath.conf test is successful\n")


@pytest.mark.parametrize("returncode,stderr,accepted,message", [
    (1, REFUSED, False, 'invalid parameter "multipath"'),
    (0, ACCEPTED, True, "nginx: configuration file /tmp/p/multipath.conf test is successful"),
    (0, IGNORED, False, "multipath is not supported on this platform, ignored"),
    (1, "", False, "exit status 1"),
])
def test_probe_verdicts(returncode, stderr, accepted, message):
    assert _nginx.probe_verdict(returncode, stderr) == (accepted, message)


def test_probe_version():
    assert _nginx.probe_version(REFUSED) == "nginx/1.22.1"
    assert _nginx.probe_version("freenginx version: freenginx/1.27.5\n") == "freenginx/1.27.5"
    assert _nginx.probe_version("") == ""


def run_command(argv, **options):
    """AnsibleModule.run_command as probe() calls it: bytes out, no shell,
    no expansion, OSError raised."""
    assert options == {"encoding": None, "expand_user_and_vars": False, "handle_exceptions": False}
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_probe_of_a_missing_nginx(tmp_path):
    result = _nginx.probe(run_command, str(tmp_path / "no-nginx"))
    assert result["keyword"] == "" and "cannot run" in result["error"]


def test_probe_takes_the_released_keyword_first():
    calls = []

    def nginx(argv, **options):
        calls.append(argv)
        return (0, b"", ACCEPTED.encode()) if argv[-1].endswith("/multipath.conf") else (1, b"", REFUSED.encode())

    result = _nginx.probe(nginx, "/usr/sbin/nginx")
    assert result["keyword"] == "multipath" and result["version"] == "nginx/1.30.6"
    assert result["verdicts"]["multipath"]["accepted"] and not result["verdicts"]["mptcp"]["accepted"]
    assert [argv[:5] for argv in calls] == [["/usr/sbin/nginx", "-v", "-t", "-e", "stderr"]] * 2
