# -*- coding: utf-8 -*-
"""site.yml run by its FQCN through ansible-runner, the engine AWX and
Automation Platform run jobs with, against two namespace hosts reached over
SSH (benchmarks/fleet.py's fleet). The kernel is the oracle; a second run
changes nothing."""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import sys
import tempfile
import uuid

import pytest

from conftest import REPO, ip

ansible_runner = pytest.importorskip("ansible_runner")
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
import fleet  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def two_hosts():
    prefix = "mfr" + uuid.uuid4().hex[:4]
    tmp = tempfile.mkdtemp(prefix="mptcp-fleet.")
    hosts = fleet.Fleet(prefix, 2, tmp, ["10.94", "10.95"])
    try:
        hosts.create()
        yield hosts
    finally:
        fleet.cleanup(prefix)
        shutil.rmtree(tmp)


def _site(hosts, collections_path, directory):
    """ansible-runner's private data directory: the inventory and env."""
    os.makedirs(os.path.join(directory, "inventory"), exist_ok=True)
    with open(os.path.join(directory, "inventory", "hosts.json"), "w") as handle:
        json.dump(hosts.inventory(), handle)
    return ansible_runner.run(private_data_dir=directory, playbook="mptcp.linux.site", quiet=True,
                              envvars={"ANSIBLE_COLLECTIONS_PATH": collections_path, "ANSIBLE_HOST_KEY_CHECKING": "False"})


def test_site_through_ansible_runner(two_hosts, collections_path, tmp_path):
    server, client = two_hosts.hosts
    first = _site(two_hosts, collections_path, str(tmp_path / "first"))
    assert (first.status, first.rc) == ("successful", 0), first.stdout.read()
    assert sorted(first.stats["changed"]) == [server, client]
    endpoints = {name: json.loads(ip("-n", name, "-j", "mptcp", "endpoint", "show")) for name in (server, client)}
    # iproute2 prints each flag as a key: "signal": true
    assert [(e["address"], e.get("signal"), e.get("subflow")) for e in endpoints[server]] == [
        (two_hosts.address(0, 1), True, None)]
    assert [(e["address"], e.get("signal"), e.get("subflow")) for e in endpoints[client]] == [
        (two_hosts.address(1, 1), None, True)]
    words = ip("-n", client, "mptcp", "limits", "show").split()
    assert dict(zip(words[::2], words[1::2])) == {"subflows": "2", "add_addr_accepted": "2"}
    again = _site(two_hosts, collections_path, str(tmp_path / "again"))
    assert (again.status, again.rc) == ("successful", 0), again.stdout.read()
    assert again.stats["changed"] == {} and sorted(again.stats["ok"]) == [server, client]
