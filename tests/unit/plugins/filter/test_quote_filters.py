# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters that expose the quoting layer to templates: each one returns
what its _quote function returns and turns a QuoteError into an
AnsibleFilterError that carries the reason. The quoting itself is proven in
tests/unit/plugins/module_utils/test_quote.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mptcp.linux.plugins.module_utils import _quote

FILTERS = ("systemd_exec", "systemd_env", "systemd_value", "systemd_escape_path",
           "nginx_word", "nginx_directive", "ip_batch_line")


def _filter(name):
    return getattr(importlib.import_module("ansible_collections.mptcp.linux.plugins.filter." + name), name)


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_is_registered_under_its_file_name(name):
    module = importlib.import_module("ansible_collections.mptcp.linux.plugins.filter." + name)
    assert module.FilterModule().filters() == {name: getattr(module, name)}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_documents_itself(name):
    module = importlib.import_module("ansible_collections.mptcp.linux.plugins.filter." + name)
    assert "name: %s\n" % name in module.DOCUMENTATION
    assert "mptcp.linux.%s" % name in module.EXAMPLES
    assert "_value:" in module.RETURN


def test_systemd_exec_quotes_a_list():
    systemd_exec = _filter("systemd_exec")
    assert systemd_exec(["/usr/bin/printf", "%s\n", "50% of $HOME", ";"]) == \
        '/usr/bin/printf "%%s\\n" "50%% of $$HOME" \\;'
    assert systemd_exec(("/bin/true",)) == "/bin/true"


def test_systemd_exec_passes_a_checked_string_as_written():
    systemd_exec = _filter("systemd_exec")
    assert systemd_exec("  /usr/bin/sleep ${DELAY} %n  ") == "/usr/bin/sleep ${DELAY} %n"


@pytest.mark.parametrize("value, reason", [
    ([], "is empty"),
    (["bin/x"], "relative path"),
    (["-/bin/x"], "ExecStart= prefix"),
    ("/bin/echo a ; /bin/rm -rf /", "lone ';'"),
    ("/bin/echo 'a", "unterminated"),
    ({"program": "/bin/true"}, "is a dict"),
    (None, "is a NoneType"),
])
def test_systemd_exec_refuses_with_the_reason(value, reason):
    with pytest.raises(AnsibleFilterError, match="^systemd_exec: .*" + reason):
        _filter("systemd_exec")(value)


def test_systemd_env():
    systemd_env = _filter("systemd_env")
    assert systemd_env("GREETING", 'say "hi" at 100%') == '"GREETING=say \\"hi\\" at 100%%"'
    assert systemd_env("PORT", 8080) == '"PORT=8080"'
    with pytest.raises(AnsibleFilterError, match="^systemd_env: '1X' is not an environment variable name"):
        systemd_env("1X", "v")
    with pytest.raises(AnsibleFilterError, match="^systemd_env: .*NUL"):
        systemd_env("X", "a\x00b")


def test_systemd_value():
    systemd_value = _filter("systemd_value")
    assert systemd_value("web at 100% over MPTCP") == "web at 100%% over MPTCP"
    with pytest.raises(AnsibleFilterError, match="^systemd_value: .*strips"):
        systemd_value(" padded")
    with pytest.raises(AnsibleFilterError, match="^systemd_value: .*join the next line"):
        systemd_value("ends in \\")


def test_systemd_escape_path():
    systemd_escape_path = _filter("systemd_escape_path")
    assert systemd_escape_path("/sys/subsystem/net/devices/eth-0") == "sys-subsystem-net-devices-eth\\x2d0"
    assert systemd_escape_path("/") == "-"
    with pytest.raises(AnsibleFilterError, match="^systemd_escape_path: .*normalized"):
        systemd_escape_path("/a/../b")


def test_nginx_word():
    nginx_word = _filter("nginx_word")
    assert nginx_word("example.org") == "example.org"
    assert nginx_word("it works; {really}") == '"it works; {really}"'
    with pytest.raises(AnsibleFilterError, match="^nginx_word: .*NUL"):
        nginx_word("a\x00b")


def test_nginx_directive():
    nginx_directive = _filter("nginx_directive")
    assert nginx_directive("add_header  X-Path '/a b'") == 'add_header X-Path "/a b"'
    with pytest.raises(AnsibleFilterError, match="^nginx_directive: .*comment"):
        nginx_directive("index index.html # old")
    with pytest.raises(AnsibleFilterError, match="^nginx_directive: .*outside quotes"):
        nginx_directive("deny all; allow all")


def test_ip_batch_line():
    ip_batch_line = _filter("ip_batch_line")
    assert ip_batch_line(["link", "set", "dev", "eth0", "alias", "uplink A"]) == 'link set dev eth0 alias "uplink A"'
    with pytest.raises(AnsibleFilterError, match="^ip_batch_line: .*comment"):
        ip_batch_line(["link", "set", "dev", "eth0", "alias", "#1"])
    with pytest.raises(AnsibleFilterError, match="^ip_batch_line: is a str; give the list of words"):
        ip_batch_line("link show")


@pytest.mark.parametrize("name, args", [
    ("systemd_exec", (["/bin/echo", "a\x00"],)),
    ("systemd_env", ("X", "\x00")),
    ("systemd_value", ("\x00",)),
    ("systemd_escape_path", ("/a\x00",)),
    ("nginx_word", ("\x00",)),
    ("nginx_directive", ("a \x00",)),
    ("ip_batch_line", (["\x00"],)),
])
def test_every_filter_carries_the_quote_error_reason(name, args):
    function = getattr(_quote, {"systemd_exec": "systemd_exec_argv"}.get(name, name))
    with pytest.raises(_quote.QuoteError) as direct:
        function(*args)
    with pytest.raises(AnsibleFilterError) as wrapped:
        _filter(name)(*args)
    assert str(wrapped.value.message) == "%s: %s" % (name, direct.value)


@pytest.mark.parametrize("name, args", [
    ("systemd_env", ("X", None)),
    ("systemd_value", (True,)),
    ("systemd_escape_path", (["/a"],)),
    ("nginx_word", (None,)),
    ("nginx_directive", ({"a": 1},)),
    ("ip_batch_line", (["link", None],)),
])
def test_a_value_that_is_not_a_string_or_number_is_refused(name, args):
    with pytest.raises(AnsibleFilterError, match="^%s: .*not a string" % name):
        _filter(name)(*args)
