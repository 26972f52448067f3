# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The follow service (module_utils/_follow.py) run for real inside a
throw-away namespace, as the role runs it on a host: its own process,
``python3 -m ...module_utils._follow CONFIG``, with only the collection on
its path (Debian's python3 has no Ansible). The kernel is the oracle
(``ip -j mptcp endpoint show``); waits poll it at short intervals up to a
deadline.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import INTERPRETERS, REPO, ip, lock_held, stop_process

EXPLICIT = {"address": "203.0.113.9", "id": 42, "flags": ["signal"]}
CONFIG = {"config": [EXPLICIT,
                     {"dev": "lan1", "family": "ipv4", "flags": ["subflow", "backup"]},
                     {"dev": "lan2", "family": "ipv4", "flags": ["subflow"]}],
          "state": "overridden", "debounce": 0.2}
DEADLINE = 2.0


@pytest.fixture(scope="module")
def service_path():
    """A directory with only ansible_collections/mptcp/linux (this tree) in it."""
    path = tempfile.mkdtemp(prefix="mptcp-it-follow-")
    os.makedirs(os.path.join(path, "ansible_collections", "mptcp"))
    os.symlink(REPO, os.path.join(path, "ansible_collections", "mptcp", "linux"))
    yield path
    shutil.rmtree(path)


class Service(object):
    def __init__(self, netns, python, service_path, tmp_path, config):
        self.netns = netns
        self.log_path = tmp_path / "follow.log"
        config_path = tmp_path / "follow.json"
        config_path.write_text(json.dumps(config))
        with open(str(self.log_path), "w") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", netns.name, python, "-m",
                 "ansible_collections.mptcp.linux.plugins.module_utils._follow", str(config_path)],
                stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=service_path))

    def log(self):
        return self.log_path.read_text()

    def cpu_seconds(self):
        """utime + stime of the service process, from /proc/PID/stat."""
        with open("/proc/%d/stat" % self.proc.pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def service(netns, service_path, tmp_path):
    """The service on the last tested Python (Debian's, what the unit runs,
    when it has pyroute2)."""
    if not INTERPRETERS:
        pytest.skip("no Python with pyroute2")
    started = Service(netns, INTERPRETERS[-1].values[0], service_path, tmp_path, CONFIG)
    yield started
    started.stop()


@pytest.fixture(params=INTERPRETERS)
def service_each_python(request, netns, service_path, tmp_path):
    """The service on each tested Python: pyroute2 0.7 (Debian) and 0.9 (PyPI)."""
    started = Service(netns, request.param, service_path, tmp_path, CONFIG)
    yield started
    started.stop()


def wait_for(what, predicate, deadline=DEADLINE, service=None):
    """Poll PREDICATE every 20 ms until it holds; returns the seconds it
    took, or fails after DEADLINE seconds."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if service is not None and service.proc.poll() is not None:
            raise AssertionError("the service exited (%s):\n%s" % (service.proc.returncode, service.log()))
        if time.monotonic() - start > deadline:
            raise AssertionError("not within %.1f s: %s\n%s" % (deadline, what, service.log() if service else ""))
        time.sleep(0.02)


def logged(service, pattern):
    """Wait for a whole line of the log to match PATTERN: the service logs
    a change after it read the endpoints back, a moment after the kernel
    shows it."""
    wait_for("a log line %s" % pattern, lambda: re.search("^%s$" % pattern, service.log(), re.M), service=service)


def on(netns, dev):
    """The kernel's endpoints bound to DEV: {address: flags}."""
    return dict((e["address"], e["flags"]) for e in netns.endpoints() if e["dev"] == dev)


def others(netns):
    """The endpoints the service must never touch: every one not on lan1 or lan2."""
    return [e for e in netns.endpoints() if e["dev"] not in ("lan1", "lan2")]


def started(service):
    """Wait for the start pass: the explicit endpoint and lan1's address."""
    wait_for("the start pass", lambda: on(service.netns, "lan1") == {"198.51.100.11": ["backup", "subflow"]}
             and [e["address"] for e in others(service.netns)] == ["203.0.113.9"], deadline=20, service=service)


def test_endpoints_follow_addresses(service_each_python):
    service = service_each_python
    netns = service.netns
    started(service)
    # a foreign endpoint, added after the start pass: as untouchable as the explicit one
    netns.ip("mptcp", "endpoint", "add", "2001:db8::10", "id", "7", "signal", "dev", "lan0")
    untouched = others(netns)
    assert [(e["id"], e["address"], e["flags"]) for e in untouched] == [(7, "2001:db8::10", ["signal"]),
                                                                        (42, "203.0.113.9", ["signal"])]

    netns.ip("addr", "add", "198.51.100.12/24", "dev", "lan1")
    took = wait_for("an endpoint for the new address", lambda: "198.51.100.12" in on(netns, "lan1"), service=service)
    print("address added: endpoint after %.3f s" % took)
    assert on(netns, "lan1")["198.51.100.12"] == ["backup", "subflow"]
    logged(service, r"added 198\.51\.100\.12 id \d+ backup subflow dev lan1 \(address appeared\)")

    netns.ip("addr", "del", "198.51.100.12/24", "dev", "lan1")
    took = wait_for("the endpoint of the removed address gone", lambda: "198.51.100.12" not in on(netns, "lan1"),
                    service=service)
    print("address removed: endpoint gone after %.3f s" % took)
    logged(service, r"removed 198\.51\.100\.12 id \d+ backup subflow dev lan1 \(address vanished\)")

    # a DHCP renew with a new lease: the old address goes, the new one comes
    netns.ip("addr", "del", "198.51.100.11/24", "dev", "lan1")
    netns.ip("addr", "add", "198.51.100.77/24", "dev", "lan1")
    took = wait_for("one endpoint, for the new address", lambda: on(netns, "lan1") == {"198.51.100.77": ["backup", "subflow"]},
                    service=service)
    print("renumbered: converged after %.3f s" % took)
    assert others(netns) == untouched


def test_a_new_interface_gets_its_endpoints(service, netns):
    started(service)
    untouched = others(netns)
    temporary = "fl%s" % uuid.uuid4().hex[:8]
    ip("link", "add", "name", temporary, "type", "veth", "peer", "name", temporary + "p")
    try:
        for end in (temporary, temporary + "p"):  # both ends: the namespace deletes them with itself
            ip("link", "set", "dev", end, "netns", netns.name)
    except subprocess.CalledProcessError:
        ip("link", "del", temporary, check=False)
        raise
    netns.ip("link", "set", "dev", temporary, "name", "lan2")
    netns.ip("addr", "add", "10.2.0.1/24", "dev", "lan2")
    netns.ip("addr", "add", "10.2.1.1/24", "dev", "lan2")
    netns.ip("link", "set", "lan2", "up")
    took = wait_for("endpoints for the new interface's addresses",
                    lambda: on(netns, "lan2") == {"10.2.0.1": ["subflow"], "10.2.1.1": ["subflow"]}, service=service)
    print("new interface: endpoints after %.3f s" % took)
    netns.ip("link", "del", "lan2")
    took = wait_for("no endpoint on the deleted interface",
                    lambda: not [e for e in netns.endpoints() if e["address"].startswith("10.2.")], service=service)
    print("interface deleted: endpoints gone after %.3f s" % took)
    logged(service, r"removed 10\.2\.0\.1 id \d+ subflow dev lan2 \(interface vanished\)")
    assert others(netns) == untouched


def test_the_service_waits_for_the_namespace_lock(service, netns):
    """While another writer holds the lock, the change waits; it is made
    once the lock is free."""
    started(service)
    with lock_held(netns):
        netns.ip("addr", "add", "198.51.100.13/24", "dev", "lan1")
        time.sleep(0.6)  # three debounce periods: time enough to act, had it not waited
        assert "198.51.100.13" not in on(netns, "lan1")
    wait_for("the change after the lock is free", lambda: "198.51.100.13" in on(netns, "lan1"), service=service)


def test_a_burst_of_address_changes_ends_right(service, netns, tmp_path):
    """100 address changes within about a second, in ten ip -batch runs:
    48 addresses come and go, then three come and one of them goes."""
    started(service)
    untouched = others(netns)
    lines = []
    for n in range(1, 49):
        lines += ["address add 10.20.0.%d/24 dev lan1" % n, "address del 10.20.0.%d/24 dev lan1" % n]
    lines += ["address add 10.20.1.1/24 dev lan1", "address add 10.20.1.2/24 dev lan1",
              "address add 10.20.1.3/24 dev lan1", "address del 10.20.1.2/24 dev lan1"]
    assert len(lines) == 100
    cpu_before = service.cpu_seconds()
    began = time.monotonic()
    for chunk in range(10):
        batch = tmp_path / ("burst-%d" % chunk)
        batch.write_text("".join(line + "\n" for line in lines[chunk * 10:chunk * 10 + 10]))
        netns.ip("-batch", str(batch))
        time.sleep(max(0, began + 0.1 * (chunk + 1) - time.monotonic()))
    burst = time.monotonic() - began
    expected = {"198.51.100.11": ["backup", "subflow"], "10.20.1.1": ["backup", "subflow"],
                "10.20.1.3": ["backup", "subflow"]}
    took = wait_for("the final addresses' endpoints", lambda: on(netns, "lan1") == expected, deadline=10, service=service)
    time.sleep(0.5)  # a late pass must not undo it
    assert on(netns, "lan1") == expected
    assert others(netns) == untouched
    print("burst of 100 changes in %.2f s: converged %.3f s after it; service CPU time %.3f s"
          % (burst, took, service.cpu_seconds() - cpu_before))
