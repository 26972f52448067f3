# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp_nginx role's interface (argument specs and defaults agree,
handlers on private topics, the word and name patterns) and how its probe
reads nginx's answers: accepted, refused, and accepted-but-ignored."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.mptcp.linux.roles.mptcp_nginx.files import nginx_probe
from conftest import load, options

ROLE = "mptcp_nginx"


def test_fixed_interface():
    specs = options(ROLE)
    assert specs["mptcp_nginx_fallback"]["choices"] == ["mptcpize", "fail"]
    for kind in ("mptcp_nginx_servers", "mptcp_nginx_streams"):
        entry = specs[kind]["options"]
        assert entry["name"]["required"] is True
        assert entry["state"]["choices"] == ["present", "absent"] and entry["state"]["default"] == "present"
        assert entry["listen"]["options"]["port"] == dict(entry["listen"]["options"]["port"], type="int", required=True)
    assert "quic" in specs["mptcp_nginx_servers"]["options"]["listen"]["options"]
    assert "udp" in specs["mptcp_nginx_streams"]["options"]["listen"]["options"]


def test_the_role_includes_mptcpize_for_nginx():
    tasks = load(ROLE, "tasks", "main.yml")
    include = [t for t in tasks if t.get("ansible.builtin.include_role", {}).get("name") == "mptcp.linux.mptcpize"]
    assert len(include) == 1
    assert include[0]["vars"]["mptcpize_services"] == [{"name": "nginx"}]


@pytest.mark.parametrize("word,valid", [
    ("127.0.0.1", True), ("[::1]", True), ("::", True), ("www.example.org", True), ("~^www\\d+\\.example$", True),
    ("backlog=4096", True), ("/srv/www", True),
    ("a\\\\b", True), ("a b", False), ("a\tb", False), ("a\\ b", False), ("#x", False), ('"x"', False), ("'x'", False), ("", False), ("a\\", False),
])
def test_one_word_pattern(word, valid):
    assert bool(re.match(load(ROLE, "vars", "main.yml")["__mptcp_nginx_word"], word)) is valid


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
    assert nginx_probe.verdict(returncode, stderr) == (accepted, message)


def test_probe_version():
    assert nginx_probe.version(REFUSED) == "nginx/1.22.1"
    assert nginx_probe.version("freenginx version: freenginx/1.27.5\n") == "freenginx/1.27.5"
    assert nginx_probe.version("") == ""
