# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/verify.yml on two namespace hosts joined by two links, a
server and a client, with mptcp_verify_attempts 2: the Report line says
what nstat counted in the client's namespace, with verify.yml's own MPTCP
listener and against a plain TCP listener (every attempt falls back, the
client fails, and the Report line still says how often)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest
import yaml

from conftest import INTERPRETERS, REPO, VENV_BIN, shell_wrapper
from test_info_probe import CLIENT_COUNTERS, Pair


@pytest.fixture
def pair():
    p = Pair()
    yield p
    p.close()


def _counters(pair):
    return dict((name, pair.nstat(pair.cli, "MPTcpExt" + name)) for name in CLIENT_COUNTERS)


def _verify(pair, collections_path, tmp_path, **extra):
    python = INTERPRETERS[0].values[0]
    local = {"ansible_connection": "local"}
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"vars": dict({"mptcp_verify_attempts": 2}, **extra), "children": {
        "mptcp_servers": {"hosts": {"srv": dict(local, mptcp_verify_address="10.71.1.2", ansible_python_interpreter=shell_wrapper(
            tmp_path / "python-srv", "ip", "netns", "exec", pair.srv, python))}},
        "mptcp_clients": {"hosts": {"cli": dict(local, ansible_python_interpreter=shell_wrapper(
            tmp_path / "python-cli", "ip", "netns", "exec", pair.cli, python))}},
    }}}))
    before = _counters(pair)
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory),
                           os.path.join(REPO, "playbooks", "verify.yml")],
                          capture_output=True, text=True, check=False, timeout=300,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    after = _counters(pair)
    return proc, dict((name, after[name] - before[name]) for name in CLIENT_COUNTERS)


@pytest.mark.skipif(not INTERPRETERS, reason="no Python with pyroute2")
def test_verify_reports_attempts_and_counters(pair, collections_path, tmp_path):
    proc, delta = _verify(pair, collections_path, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert delta["MPCapableSYNTX"] == 2 and delta["MPCapableFallbackSYNACK"] == 0, delta
    line = ("srv: MPTCP, 2 subflows, 0 of 2 attempts fell back (MP_CAPABLE SYNs %d, fallbacks %d, MP_JOIN SYN-ACKs %d)"
            % (delta["MPCapableSYNTX"], delta["MPCapableFallbackSYNACK"] + delta["MPCapableSYNTXDrop"],
               delta["MPJoinSynAckRx"]))
    assert '"%s"' % line in proc.stdout, proc.stdout


@pytest.mark.skipif(not INTERPRETERS, reason="no Python with pyroute2")
def test_verify_fails_on_fallback_and_reports_how_often(pair, collections_path, tmp_path):
    pair.serve(tcp=True)  # a plain TCP listener on 4243, instead of verify.yml's own
    proc, delta = _verify(pair, collections_path, tmp_path, mptcp_verify_listener=False, mptcp_verify_port=4243)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "2 of 2 attempt(s) fell back to plain TCP" in proc.stdout
    assert delta["MPCapableSYNTX"] == 2 and delta["MPCapableFallbackSYNACK"] == 2, delta
    assert ('"srv: plain TCP (fell back), 1 subflow, 2 of 2 attempts fell back (MP_CAPABLE SYNs 2, fallbacks 2, '
            'MP_JOIN SYN-ACKs 0)"') in proc.stdout, proc.stdout


@pytest.mark.skipif(not INTERPRETERS, reason="no Python with pyroute2")
def test_verify_refuses_bad_attempts_before_listening(pair, collections_path, tmp_path):
    proc, delta = _verify(pair, collections_path, tmp_path, mptcp_verify_attempts=0)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "mptcp_verify_attempts: 0 is not a whole number from 1 to 100" in proc.stdout, proc.stdout
    assert delta["MPCapableSYNTX"] == 0
