# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpize role on this machine (no systemd as PID 1 here; the socket
scenario in molecule/socket restarts a real service with the drop-in):

- bad input is refused, naming the field, before anything is written;
- the drop-in Ansible writes is the expected text, systemd-analyze accepts it
  next to a service (and refuses a line systemd would ignore), and the
  environment it sets, read back with systemd's quoting rules, really turns a
  plain TCP server into an MPTCP one (in a throw-away network namespace,
  `ss -M` as the oracle).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import subprocess
import time

import pytest
import yaml

from ansible_collections.mptcp.linux.tests import quote_consumers as consumer
from conftest import assert_refused_before_writing, ip, run_unit_role

LIBRARY = sorted(glob.glob("/usr/lib/*/mptcpize/libmptcpwrap.so.0") + glob.glob("/usr/lib*/libmptcpwrap.so.0"))


def run_role(runner, role_vars, check=False):
    """Apply the role with ROLE_VARS; returns (failed task result or None, unit dir listing)."""
    return run_unit_role(runner, "mptcp.linux.mptcpize", "__mptcpize_unit_dir", role_vars, check)


BAD = [
    ({"mptcpize_services": [{"name": "nginx\nExecStartPre=/bin/rm"}]},
     ["mptcpize_services[0].name: 'nginx\\nExecStartPre=/bin/rm' is not a systemd service name"]),
    ({"mptcpize_services": [{"name": "nginx;reboot"}]}, ["mptcpize_services[0].name", "is not a systemd service name"]),
    ({"mptcpize_services": [{"name": "../../etc/passwd"}]}, ["mptcpize_services[0].name", "is not a systemd service name"]),
    ({"mptcpize_services": [{"name": "getty@"}]}, ["mptcpize_services[0].name", "is not a systemd service name"]),
    ({"mptcpize_services": [{"name": "nginx"}, {"name": "nginx.service", "state": "absent"}]},
     ["mptcpize_services[1].name: 'nginx' is listed twice"]),
    ({"mptcpize_services": [{"name": "nginx"}], "mptcpize_library": "lib/libmptcpwrap.so.0"},
     ["mptcpize_library", "is not an absolute path"]),
    ({"mptcpize_services": [{"name": "nginx"}], "mptcpize_library": "/usr/lib/x y/libmptcpwrap.so.0"},
     ["mptcpize_library", "is not an absolute path"]),
    ({"mptcpize_services": [{"name": "nginx", "state": "enabled"}]}, ["mptcpize_services", "state", "enabled"]),
    ({"mptcpize_services": ["nginx"]}, ["mptcpize_services", "dict"]),
]


@pytest.mark.parametrize("check", [True, False], ids=["check", "real"])
@pytest.mark.parametrize("role_vars,expected", BAD, ids=["newline", "semicolon", "path", "template", "duplicate",
                                                         "relative-library", "blank-library", "state", "not-a-dict"])
def test_bad_input_is_refused_before_writing(role_runner, role_vars, expected, check):
    assert_refused_before_writing(run_role(role_runner, role_vars, check=check), role_vars, expected)


def test_nothing_to_do_touches_nothing(role_runner):
    failed, written = run_role(role_runner, {"mptcpize_services": []})
    assert failed is None, failed
    assert written == []


def render(runner, library):
    """The drop-in of a service "demo", written through Ansible as the
    role's install task does (mptcpize_plan, then copy)."""
    out = runner.tmp_path / "demo.service.d"
    out.mkdir()
    task = {"name": "write", "ansible.builtin.copy": {"content": "{{ item.content }}", "dest": "{{ item.path }}",
                                                      "mode": "0644"},
            "loop": "{{ (services | mptcp.linux.mptcpize_plan(unit_dir, library)).write }}"}
    path = runner.tmp_path / "render.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [task], "vars": {
        "services": [{"name": "demo"}], "unit_dir": str(runner.tmp_path), "library": library}}]))
    results, stderr = runner.run_playbook(path)
    assert results and not any(r["hosts"]["target"].get("failed") for r in results), (results, stderr)
    return (out / "50-mptcpize.conf").read_text()


def test_dropin_renders_the_expected_text(role_runner):
    assert render(role_runner, "/usr/lib/x86_64-linux-gnu/mptcpize/libmptcpwrap.so.0") == (
        "# Managed by the mptcp.linux.mptcpize role: local changes are overwritten.\n"
        "# Forces MPTCP on this service: libmptcpwrap turns its TCP sockets into\n"
        "# MPTCP ones; GODEBUG does the same for Go programs.\n"
        "[Service]\n"
        "Environment=\"LD_PRELOAD=/usr/lib/x86_64-linux-gnu/mptcpize/libmptcpwrap.so.0\"\n"
        "Environment=\"GODEBUG=multipathtcp=1\"\n")


def environment(dropin):
    """The variables the drop-in's Environment= lines set, read with the
    port of systemd's reader in tests/quote_consumers.py."""
    env, warnings = consumer.unit_environment(dropin.encode("utf-8"))
    assert warnings == []
    return dict(assignment.decode("utf-8").split("=", 1) for assignment in env)


def mptcp_listeners(ns):
    return ip("netns", "exec", ns, "ss", "-H", "-l", "-n", "-M")


def serve(ns, env, port):
    """A plain TCP HTTP server inside NS; returns the process once it listens."""
    proc = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1",
                             str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for dummy in range(100):
        if ip("netns", "exec", ns, "ss", "-H", "-l", "-n", "-t", "sport", "= :%d" % port).strip():
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the server did not listen")


@pytest.mark.skipif(not LIBRARY, reason="libmptcpwrap.so.0 is not installed (Debian: apt-get install mptcpize)")
def test_dropin_environment_forces_mptcp(role_runner, netns):
    dropin = render(role_runner, LIBRARY[0])
    # What systemd reads back from the drop-in next to a unit, verified as
    # the role does: the staged directory first in the unit path.
    service = role_runner.tmp_path / "demo.service"
    service.write_text("[Service]\nExecStart=/usr/bin/python3 -m http.server\n")
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", "demo.service"], capture_output=True, text=True,
                          check=False, env=dict(os.environ, SYSTEMD_UNIT_PATH="%s:" % role_runner.tmp_path))
    assert proc.returncode == 0 and "ignoring" not in proc.stderr, proc.stderr
    # The same check refuses a drop-in line systemd would ignore.
    (role_runner.tmp_path / "demo.service.d" / "60-broken.conf").write_text("[Service]\nEnvironment=\"A=1\n")
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", "demo.service"], capture_output=True, text=True,
                          check=False, env=dict(os.environ, SYSTEMD_UNIT_PATH="%s:" % role_runner.tmp_path))
    assert "60-broken.conf" in proc.stderr and "ignoring" in proc.stderr, proc.stderr
    (role_runner.tmp_path / "demo.service.d" / "60-broken.conf").unlink()

    variables = environment(dropin)
    assert variables == {"LD_PRELOAD": LIBRARY[0], "GODEBUG": "multipathtcp=1"}
    # Without the drop-in's environment: plain TCP (the oracle can say no).
    plain = serve(netns.name, dict(os.environ), 8001)
    try:
        assert ":8001" not in mptcp_listeners(netns.name)
    finally:
        plain.kill()
        plain.wait()
    forced = serve(netns.name, dict(os.environ, **variables), 8002)
    try:
        assert re.search(r"127\.0\.0\.1:8002\s", mptcp_listeners(netns.name)), mptcp_listeners(netns.name)
    finally:
        forced.kill()
        forced.wait()
