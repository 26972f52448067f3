# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp_nginx role's interface (argument specs and defaults agree,
handlers on private topics, the word and name patterns) and how its probe
reads nginx's answers: accepted, refused, and accepted-but-ignored."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import re

import pytest
import yaml

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir, "roles", "mptcp_nginx")


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def options():
    return load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def _walk(specs, path=""):
    for name, spec in specs.items():
        yield path + name, spec
        yield from _walk(spec.get("options", {}), path + name + ".")


def test_every_option_is_documented_and_typed():
    for name, spec in _walk(options()):
        assert spec.get("description"), name
        assert spec.get("type") in ("str", "bool", "list", "int", "path", "dict"), name
        if spec.get("type") == "list":
            assert spec.get("elements"), name
    for name in options():
        assert name.startswith("mptcp_nginx_"), name
        assert "default" in options()[name], name


def test_defaults_are_the_argument_specs_defaults():
    public = dict((k, v) for k, v in load("defaults", "main.yml").items() if not k.startswith("__"))
    assert public == dict((name, spec["default"]) for name, spec in options().items())


def test_fixed_interface():
    specs = options()
    assert specs["mptcp_nginx_fallback"]["choices"] == ["mptcpize", "fail"]
    for kind in ("mptcp_nginx_servers", "mptcp_nginx_streams"):
        entry = specs[kind]["options"]
        assert entry["name"]["required"] is True
        assert entry["state"]["choices"] == ["present", "absent"] and entry["state"]["default"] == "present"
        assert entry["listen"]["options"]["port"] == dict(entry["listen"]["options"]["port"], type="int", required=True)
    assert "quic" in specs["mptcp_nginx_servers"]["options"]["listen"]["options"]
    assert "udp" in specs["mptcp_nginx_streams"]["options"]["listen"]["options"]


def test_handlers_listen_on_private_topics():
    for handler in load("handlers", "main.yml"):
        assert handler["listen"].startswith("__mptcp_nginx_"), handler


def test_the_role_includes_mptcpize_for_nginx():
    tasks = load("tasks", "main.yml")
    include = [t for t in tasks if t.get("ansible.builtin.include_role", {}).get("name") == "mptcp.linux.mptcpize"]
    assert len(include) == 1
    assert include[0]["vars"]["mptcpize_services"] == [{"name": "nginx"}]


@pytest.mark.parametrize("word,valid", [
    ("127.0.0.1", True), ("[::1]", True), ("::", True), ("www.example.org", True), ("~^www\\d+\\.example$", True),
    ("backlog=4096", True), ("/srv/www", True),
    ("a\\\\b", True), ("a b", False), ("a\tb", False), ("a\\ b", False), ("#x", False), ('"x"', False), ("'x'", False), ("", False), ("a\\", False),
])
def test_one_word_pattern(word, valid):
    assert bool(re.match(load("vars", "main.yml")["__mptcp_nginx_word"], word)) is valid


def probe_module():
    spec = importlib.util.spec_from_file_location("nginx_probe", os.path.join(ROLE, "files", "nginx_probe.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    assert probe_module().verdict(returncode, stderr) == (accepted, message)


def test_probe_version():
    module = probe_module()
    assert module.version(REFUSED) == "nginx/1.22.1"
    assert module.version("freenginx version: freenginx/1.27.5\n") == "freenginx/1.27.5"
    assert module.version("") == ""
