# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp_socket role on this machine (no systemd as PID 1 here; the
socket scenario in molecule/socket covers the running systemd):

- bad input is refused, naming the field, before anything is written;
- below systemd 257 the role fails, naming the version and the alternatives;
- what Ansible writes is what the role's plan renders, the ports of
  systemd's readers read every sample value back from it, and systemd-analyze verify
  accepts it (the exact text is unit-tested in
  tests/unit/plugins/filter/test_socket_unit.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess

import pytest
import yaml

from ansible_collections.mptcp.linux.plugins.filter.socket_unit_plan import socket_unit_plan
from ansible_collections.mptcp.linux.tests import quote_consumers as consumer
from conftest import (REPO, SYSTEMD_BOOTED, assert_refused_before_writing, files_under, mount_namespace_interpreter,
                      run_unit_role)

SSH_SOCKET = "/lib/systemd/system/ssh.socket"


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
     ["mptcp_socket_units[0].exec_start", "a line break ('\\n')"]),
    # A trailing backslash would join the next line (User=nobody) to the
    # command, and the service would run as root: systemd-analyze does not
    # notice, the role must.
    ({"mptcp_socket_units": [dict(ECHO, exec_start="/usr/bin/cat \\", user="nobody")]},
     ["mptcp_socket_units[0].exec_start", "ends with a backslash"]),
    ({"mptcp_socket_units": [dict(ECHO, exec_start="/usr/bin/cat ; /bin/rm -rf /")]},
     ["mptcp_socket_units[0].exec_start", "lone ';'"]),
    ({"mptcp_socket_units": [dict(ECHO, description="echo\nExecStartPre=/bin/rm")]},
     ["mptcp_socket_units[0].description", "a line break"]),
    ({"mptcp_socket_units": [dict(ECHO, listen=["7000", "[::]:7001}"])]},
     ["mptcp_socket_units[0].listen[1]: '[::]:7001}' is not PORT"]),
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
    ({"mptcp_socket_units": [dict(ECHO, environment={"LD PRELOAD": "/tmp/x.so"})]},
     ["mptcp_socket_units[0].environment.LD PRELOAD", "is not an environment variable name"]),
    ({"mptcp_socket_dropins": [{"name": "ssh socket"}]},
     ["mptcp_socket_dropins[0].name", "is not a socket unit name"]),
    ({"mptcp_socket_dropins": [{"name": "ssh", "state": "gone"}]},
     ["mptcp_socket_dropins", "state", "gone"]),
    ({"mptcp_socket_units": [dict(ECHO, accept="maybe")]},
     ["accept", "maybe"]),
]


@pytest.mark.parametrize("check", [True, False], ids=["check", "real"])
@pytest.mark.parametrize("role_vars,expected", BAD, ids=["newline", "trailing-backslash", "second-command",
                                                         "description", "brace", "listen-syntax", "name", "duplicate",
                                                         "no-exec", "user", "environment", "dropin-name",
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


def render(runner, units, dropins=()):
    """Write the role's files for UNITS and DROPINS through Ansible, as the
    role's install task does (socket_unit_plan, then copy). Returns the
    files' text by name relative to the directory, and the directory."""
    out = runner.tmp_path / "rendered"
    out.mkdir(exist_ok=True)
    for dropin in dropins:
        (out / (dropin["name"] + ".socket.d")).mkdir(exist_ok=True)
    task = {"name": "write", "ansible.builtin.copy": {"content": "{{ item.content }}", "dest": "{{ item.path }}",
                                                      "mode": "0644"},
            "loop": "{{ (units | mptcp.linux.socket_unit_plan(dropins, out)).write }}"}
    path = runner.tmp_path / "render.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [task],
                                     "vars": {"units": units, "dropins": list(dropins), "out": str(out)}}]))
    results, stderr = runner.run_playbook(path)
    assert results and not any(r["hosts"]["target"].get("failed") for r in results), (results, stderr)
    return dict((name, (out / name).read_text()) for name in files_under(out)), str(out)


with open(os.path.join(REPO, "molecule", "socket", "vars", "quote_samples.yml")) as _handle:
    SAMPLES = yaml.safe_load(_handle)["quote_samples"]
UNIT = {"name": "echo", "listen": ["7000", "0.0.0.0:7001", "[::1]:7002"], "accept": True,
        "exec_start": ["/usr/bin/cat"]}
ARGS = {"name": "say", "listen": ["7100"], "accept": False, "user": "nobody", "description": "Say 100% hello; {x}",
        "exec_start": ["/usr/bin/printf", "%s $HOME", 'a "quoted" \\ word', ""]}
# Every sample as an argument and as an environment variable.
SAMPLED = {"name": "samples", "listen": ["7200"], "accept": True, "user": "nobody",
           "exec_start": ["/usr/bin/printf"] + SAMPLES,
           "environment": dict(("SAMPLE_%02d" % index, value) for index, value in enumerate(SAMPLES))}
UNITS = [UNIT, ARGS, SAMPLED]


def test_ansible_writes_what_the_plan_renders(role_runner):
    """Ansible's templating changes nothing on the way to the file."""
    rendered, out = render(role_runner, UNITS, [{"name": "ssh"}])
    expected = dict((f["file"], f["content"]) for f in socket_unit_plan(UNITS, [{"name": "ssh"}], out)["write"])
    assert rendered == expected
    assert sorted(rendered) == ["echo.socket", "echo@.service", "samples.socket", "samples@.service", "say.service",
                                "say.socket", "ssh.socket.d/50-mptcp.conf"]


def settings(text, key):
    return [line[len(key) + 1:] for line in text.splitlines() if line.startswith(key + "=")]


def test_systemds_rules_read_back_every_sample(role_runner):
    """What Ansible wrote, read with the ports of systemd's own readers
    (tests/quote_consumers.py)."""
    rendered, dummy = render(role_runner, [SAMPLED])
    service = rendered["samples@.service"]
    assert not any(line.endswith("\\") for line in service.splitlines())
    env, warnings = consumer.unit_environment(service.encode("utf-8"))
    assert warnings == []
    assert dict(assignment.decode("utf-8").split("=", 1) for assignment in env) == SAMPLED["environment"]
    [exec_start] = [value for section, key, value in consumer.parse_unit(service.encode("utf-8"))[0]
                    if key == "ExecStart"]
    [(dummy, path, argv)] = consumer.config_parse_exec(exec_start, warnings)
    assert warnings == []
    assert [word.decode("utf-8") for word in consumer.replace_env_argv(argv, env)] == SAMPLED["exec_start"]
    assert settings(service, "User") == ["nobody"]


def verify(paths, unit_path=None):
    env = dict(os.environ, SYSTEMD_UNIT_PATH=unit_path + ":") if unit_path else None
    return subprocess.run(["systemd-analyze", "verify", "--man=no"] + paths, capture_output=True, text=True,
                          check=False, env=env)


@pytest.mark.skipif(systemd_version() is None, reason="no systemd-analyze here")
def test_systemd_analyze_accepts_the_rendered_units(role_runner):
    rendered, out = render(role_runner, UNITS, [{"name": "ssh"}] if os.path.exists(SSH_SOCKET) else [])
    # As the role verifies: the staged directory first in the unit path,
    # the new units and the switched sockets by name.
    names = [name for name in rendered if "/" not in name] + (["ssh.socket"] if os.path.exists(SSH_SOCKET) else [])
    proc = verify(names, out)
    assert proc.returncode == 0, proc.stderr
    # The role refuses a staged unit with a line systemd loads "ignoring" it.
    ignored = [line for line in proc.stderr.splitlines() if out in line and "ignoring" in line]
    if systemd_version() >= 257:
        assert ignored == []
    else:
        # Older systemd ignores the protocol, and only that.
        assert ignored and all("Failed to parse socket protocol" in line for line in ignored), ignored

    # The same check catches a command that does not exist.
    broken = os.path.join(out, "say.service")
    with open(broken) as handle:
        text = handle.read().replace("/usr/bin/printf", "/usr/bin/no-such-printf")
    with open(broken, "w") as handle:
        handle.write(text)
    proc = verify(names, out)
    assert proc.returncode != 0 and "no-such-printf" in proc.stderr, proc.stderr


@pytest.mark.skipif(systemd_version() is None, reason="no systemd-analyze here")
def test_what_systemd_analyze_does_not_see(tmp_path):
    """Why the role refuses a trailing backslash instead of relying on
    systemd-analyze: the continued line swallows User=, and the unit still
    verifies."""
    unit = tmp_path / "smuggled.service"
    unit.write_text("[Service]\nExecStart=/usr/bin/cat \\\nUser=nobody\n")
    proc = verify([str(unit)])
    assert proc.returncode == 0 and "ignoring" not in proc.stderr, proc.stderr
