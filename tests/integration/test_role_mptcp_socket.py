# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp_socket role on this machine (no systemd as PID 1 here; the
socket scenario in molecule/socket covers the running systemd):

- bad input is refused, naming the field, before anything is written;
- below systemd 257 the role fails, naming the version and the alternatives;
- the unit templates render the expected text, and systemd-analyze verify
  accepts what they render.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess

import pytest
import yaml

from conftest import REPO, SYSTEMD_BOOTED, assert_refused_before_writing, mount_namespace_interpreter, run_unit_role

TEMPLATES = os.path.join(REPO, "roles", "mptcp_socket", "templates")


def systemd_version():
    out = subprocess.run(["systemctl", "--version"], capture_output=True, text=True, check=False).stdout
    match = re.match(r"systemd (\d+)", out)
    return int(match.group(1)) if match else None


def run_role(runner, role_vars, check=False):
    """Apply the role with ROLE_VARS; returns (failed task result or None, unit dir listing)."""
    return run_unit_role(runner, "mptcp.linux.mptcp_socket", "__mptcp_socket_unit_dir", role_vars, check)


ECHO = {"name": "echo", "listen": ["7000"], "accept": True, "exec_start": ["/usr/bin/cat"]}

BAD = [
    ({"mptcp_socket_units": [dict(ECHO, exec_start="/usr/bin/cat\nExecStartPre=/bin/rm -rf /")]},
     ["mptcp_socket_units[0].exec_start", "newline"]),
    ({"mptcp_socket_units": [dict(ECHO, description="echo; rm")]},
     ["mptcp_socket_units[0].description", "';'"]),
    ({"mptcp_socket_units": [dict(ECHO, listen=["7000", "[::]:7001}"])]},
     ["mptcp_socket_units[0].listen[1]", "'}'"]),
    ({"mptcp_socket_units": [dict(ECHO, listen=["70000", "10.0.0.256:80", "::1:80", "localhost:80"])]},
     ["mptcp_socket_units[0].listen[0]: '70000' is not", "listen[1]: '10.0.0.256:80'", "listen[2]: '::1:80'",
      "listen[3]: 'localhost:80'"]),
    ({"mptcp_socket_units": [dict(ECHO, name="../../etc/evil")]},
     ["mptcp_socket_units[0].name", "is not a unit name"]),
    ({"mptcp_socket_units": [ECHO, dict(ECHO, listen=["7001"])]},
     ["mptcp_socket_units[1].name: 'echo' is listed twice"]),
    ({"mptcp_socket_units": [{"name": "web", "listen": ["80"]}]},
     ["mptcp_socket_units[0].exec_start: required"]),
    ({"mptcp_socket_units": [dict(ECHO, user="root\nUser=nobody")]},
     ["mptcp_socket_units[0].user"]),
    ({"mptcp_socket_dropins": [{"name": "ssh socket"}]},
     ["mptcp_socket_dropins[0].name", "is not a socket unit name"]),
    ({"mptcp_socket_dropins": [{"name": "ssh", "state": "gone"}]},
     ["mptcp_socket_dropins", "state", "gone"]),
    ({"mptcp_socket_units": [dict(ECHO, accept="maybe")]},
     ["accept", "maybe"]),
]


@pytest.mark.parametrize("check", [True, False], ids=["check", "real"])
@pytest.mark.parametrize("role_vars,expected", BAD, ids=["newline", "semicolon", "brace", "listen-syntax", "name",
                                                         "duplicate", "no-exec", "user", "dropin-name",
                                                         "dropin-state", "accept-type"])
def test_bad_input_is_refused_before_writing(role_runner, role_vars, expected, check):
    assert_refused_before_writing(run_role(role_runner, role_vars, check=check), role_vars, expected)


@pytest.mark.skipif((systemd_version() or 999) >= 257, reason="this machine's systemd accepts SocketProtocol=mptcp")
@pytest.mark.parametrize("role_vars", [{"mptcp_socket_units": [ECHO]}, {"mptcp_socket_dropins": [{"name": "ssh"}]}],
                         ids=["units", "dropins"])
def test_old_systemd_fails_naming_version_and_alternatives(role_runner, role_vars):
    # systemd seen as PID 1 (a private /run/systemd/system), its version old.
    role_runner.python = mount_namespace_interpreter(role_runner.tmp_path / "python-booted", None, role_runner.python,
                                                     SYSTEMD_BOOTED)
    failed, written = run_role(role_runner, role_vars)
    assert failed is not None
    assert "this host runs systemd %d" % systemd_version() in failed["msg"], failed["msg"]
    assert "257" in failed["msg"] and "mptcp.linux.mptcpize" in failed["msg"] and "IPPROTO_MPTCP" in failed["msg"]
    assert written == []


def test_nothing_to_do_needs_no_systemd(role_runner):
    """Empty lists and absent-only input do not fail on an old systemd."""
    failed, written = run_role(role_runner, {"mptcp_socket_units": []}, check=True)
    assert failed is None, failed
    assert written == []


def render(runner, items):
    """Render (template, item, dest name) through ansible.builtin.template; returns {name: text}."""
    out = runner.tmp_path / "rendered"
    out.mkdir(exist_ok=True)
    tasks = [{"name": "render %s" % name,
              "ansible.builtin.template": {"src": os.path.join(TEMPLATES, template), "dest": str(out / name),
                                           "mode": "0644"},
              "loop": [item]}
             for template, item, name in items]
    path = runner.tmp_path / "render.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    results, stderr = runner.run_playbook(path)
    assert not any(r["hosts"]["target"].get("failed") for r in results), (results, stderr)
    return dict((name, (out / name).read_text()) for dummy, dummy2, name in items), str(out)


UNIT = {"name": "echo", "listen": ["7000", "0.0.0.0:7001", "[::1]:7002"], "accept": True,
        "exec_start": ["/usr/bin/cat"], "user": None, "description": None}
ARGS = {"name": "say", "listen": ["7100"], "accept": False, "user": "nobody", "description": "Say 100% hello",
        "exec_start": ["/usr/bin/printf", "%s $HOME", 'a "quoted" \\ word', ""]}
HEADER = "#\n# Ansible managed\n#\n"
# The socket and service of UNIT and of ARGS: (template, item, file name).
PAIRS = [
    ("unit.socket.j2", UNIT, "echo.socket"),
    ("unit.service.j2", UNIT, "echo@.service"),
    ("unit.socket.j2", ARGS, "say.socket"),
    ("unit.service.j2", ARGS, "say.service"),
]


def test_templates_render_the_expected_units(role_runner):
    rendered, dummy = render(role_runner, PAIRS + [
        ("unit.service.j2", dict(ARGS, exec_start="/usr/bin/python3 -m http.server"), "str.service"),
        ("50-mptcp.conf.j2", {"name": "ssh"}, "50-mptcp.conf"),
    ])
    assert rendered["echo.socket"] == HEADER + (
        "[Unit]\nDescription=echo over MPTCP\n\n"
        "[Socket]\nListenStream=7000\nListenStream=0.0.0.0:7001\nListenStream=[::1]:7002\n"
        "SocketProtocol=mptcp\nAccept=yes\n\n"
        "[Install]\nWantedBy=sockets.target\n")
    assert rendered["echo@.service"] == HEADER + (
        "[Unit]\nDescription=echo over MPTCP\nRequires=echo.socket\nAfter=echo.socket\n\n"
        "[Service]\nExecStart=/usr/bin/cat\nStandardInput=socket\nStandardOutput=socket\n")
    assert "Accept" not in rendered["say.socket"]
    assert "Description=Say 100%% hello\n" in rendered["say.socket"]
    assert rendered["say.service"] == HEADER + (
        "[Unit]\nDescription=Say 100%% hello\nRequires=say.socket\nAfter=say.socket\n\n"
        "[Service]\nExecStart=/usr/bin/printf \"%%s $$HOME\" \"a \\\"quoted\\\" \\\\ word\" \"\"\nUser=nobody\n")
    assert "\nExecStart=/usr/bin/python3 -m http.server\n" in rendered["str.service"]
    assert rendered["50-mptcp.conf"] == HEADER + (
        "# Switches this socket to MPTCP (mptcp.linux.mptcp_socket; systemd 257 and later).\n"
        "[Socket]\nSocketProtocol=mptcp\n")


@pytest.mark.skipif(systemd_version() is None, reason="no systemd-analyze here")
def test_systemd_analyze_accepts_the_rendered_units(role_runner):
    dummy, out = render(role_runner, PAIRS)
    files = [os.path.join(out, name) for dummy, dummy2, name in PAIRS]
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no"] + files, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    # The role refuses a staged unit with a line systemd loads "ignoring" it.
    ignored = [line for line in proc.stderr.splitlines() if out in line and "ignoring" in line]
    if systemd_version() >= 257:
        assert ignored == []
    else:
        # Older systemd ignores the protocol, and only that.
        assert ignored and all("Failed to parse socket protocol" in line for line in ignored), ignored

    # The same check catches a command that does not exist.
    with open(files[3]) as handle:
        broken = handle.read().replace("/usr/bin/printf", "/usr/bin/no-such-printf")
    with open(files[3], "w") as handle:
        handle.write(broken)
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no"] + files, capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "no-such-printf" in proc.stderr, proc.stderr
