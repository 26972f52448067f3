# -*- coding: utf-8 -*-
"""The modules on the oldest managed-node Python the collection supports
(README: 3.8, with ansible-core 2.16 to 2.19), with pyroute2 from PyPI: one
play of mptcp_sysctl, mptcp_limits, mptcp_endpoints and mptcp_info, run
twice, inside a namespace; /proc, `ip mptcp` and `ip -j` are the oracle.

The interpreter is pyenv's CPython 3.8 in a virtual environment with the
newest pyroute2 that works on it (0.8.1), made on first use and cached in
$MPTCP_CACHE (default ~/.cache/mptcp-linux)."""

from __future__ import absolute_import, division, print_function

import glob
import os
import shutil
import subprocess

import pytest

from conftest import Runner

OLDEST_PYTHON = "3.8"
# pyroute2 0.9.3 and later need Python 3.9; 0.9.1 and 0.9.2 install on 3.8
# but fail to import there (annotations such as dict[str, Any]).
PYROUTE2 = "0.8.1"


def _pyenv_python(version):
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.path.expanduser("~/.pyenv")
    for candidate in sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version)),
                            reverse=True):
        if subprocess.run([candidate, "-c", ""], check=False).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="session")
def oldest_python():
    """The python of the cached virtual environment: CPython OLDEST_PYTHON
    with pyroute2 PYROUTE2 from PyPI."""
    base = _pyenv_python(OLDEST_PYTHON)
    if base is None:
        message = "no CPython %s from pyenv" % OLDEST_PYTHON
        if os.environ.get("CI"):
            pytest.fail(message + ": CI machines carry it (pyenv)")
        pytest.skip(message)
    cache = os.environ.get("MPTCP_CACHE") or os.path.expanduser("~/.cache/mptcp-linux")
    venv = os.path.join(cache, "managed-python", "%s-pyroute2-%s" % (OLDEST_PYTHON, PYROUTE2))
    python = os.path.join(venv, "bin", "python")
    done = os.path.join(venv, ".complete")
    if not os.path.exists(done):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([base, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "pyroute2==" + PYROUTE2], check=True)
        open(done, "w").close()
    return python


def test_modules_on_the_oldest_managed_python(oldest_python, collections_path, netns, tmp_path):
    runner = Runner(oldest_python, collections_path, tmp_path)
    ns = netns.name
    changes = [
        ("mptcp.linux.mptcp_sysctl", {"netns": ns, "enabled": True, "checksum_enabled": True,
                                      "add_addr_timeout": 45, "path_manager": "kernel"}, {"diff": True}),
        ("mptcp.linux.mptcp_limits", {"netns": ns, "subflows": 3, "add_addr_accepted": 2}, {"diff": True}),
        ("mptcp.linux.mptcp_endpoints", {"netns": ns, "state": "overridden", "config": [
            {"address": "192.0.2.10", "id": 7, "port": 8443, "flags": ["signal"]},
            {"address": "2001:db8:1::10", "dev": "lan1", "flags": ["subflow", "backup"]},
        ]}, {"diff": True}),
    ]
    facts = ("ansible.builtin.setup", {"gather_subset": ["!all"], "filter": ["ansible_python"]}, {})
    info = ("mptcp.linux.mptcp_info", {"netns": ns}, {})
    results = runner.play([facts] + changes + [info] + changes)

    python = results[0]["ansible_facts"]["ansible_python"]
    assert "%d.%d" % (python["version"]["major"], python["version"]["minor"]) == OLDEST_PYTHON, python
    assert python["executable"] == oldest_python

    first, second = results[1:4], results[5:8]
    assert [r["changed"] for r in first] == [True, True, True], first
    assert [r["changed"] for r in second] == [False, False, False], second
    assert all(r["diff"]["before"] == r["diff"]["after"] for r in second)

    sysctl = netns.sysctl()
    assert (sysctl["enabled"], sysctl["checksum_enabled"], sysctl["add_addr_timeout"]) == ("1", "1", "45")
    assert netns.limits() == {"subflows": 3, "add_addr_accepted": 2}
    endpoints = netns.endpoints()
    assert endpoints == [
        {"id": 7, "address": "192.0.2.10", "port": 8443, "dev": None, "flags": ["signal"]},
        {"id": 8, "address": "2001:db8:1::10", "port": None, "dev": "lan1", "flags": ["backup", "subflow"]},
    ]

    report = results[4]
    assert report["usable"] is True
    assert report["limits"] == netns.limits()
    assert [dict(e, flags=sorted(e["flags"])) for e in report["endpoints"]] == endpoints
    assert report["sysctl"] == sysctl
