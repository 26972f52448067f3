# -*- coding: utf-8 -*-
"""The modules' ``netns`` option under Mitogen's strategy, whose interpreter
on the host persists from task to task: a play moves between namespaces
(one, the host's own, another, the host's own) and every task must act on
its own namespace only. The kernel is the oracle (`ip mptcp limits`,
/proc/sys/net/mptcp), and a small module run in the persistent interpreter
between the collection's tasks reports which network namespace that
interpreter is in."""

from __future__ import absolute_import, division, print_function

import os

import pytest

from conftest import Netns, Runner

ansible_mitogen = pytest.importorskip("ansible_mitogen")

# Runs in Mitogen's persistent interpreter (it brings no module_utils of its
# own, so Mitogen does not fork it): its process and its thread's namespace.
IDENTITY = '''#!/usr/bin/python
import os
from ansible.module_utils.basic import AnsibleModule
module = AnsibleModule(argument_spec={})
ns = "/proc/thread-self/ns/net" if os.path.exists("/proc/thread-self") else "/proc/self/ns/net"
module.exit_json(changed=False, pid=os.getpid(), netns_inode=os.stat(ns).st_ino)
'''


@pytest.fixture
def namespaces():
    made = []
    try:
        for dummy in range(3):
            made.append(Netns())
        yield made
    finally:
        for ns in made:
            ns.delete()


def test_netns_moves_in_a_persistent_interpreter(python, collections_path, namespaces, tmp_path):
    host, first, second = namespaces
    library = tmp_path / "library"
    library.mkdir()
    (library / "netns_identity.py").write_text(IDENTITY)
    strategies = os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")

    runner = Runner(python, collections_path, tmp_path)
    identity = ("netns_identity", {}, {})
    tasks = [identity]
    for n, name in enumerate([first.name, None, second.name, None, first.name]):
        netns = {"netns": name} if name else {}
        tasks += [
            ("mptcp.linux.mptcp_limits", dict(netns, subflows=n + 1, add_addr_accepted=n + 1), {}),
            identity,
            ("mptcp.linux.mptcp_sysctl", dict(netns, add_addr_timeout=100 + n), {}),
            identity,
        ]
    runner.env = lambda **extra: Runner.env(runner, ANSIBLE_STRATEGY="mitogen_linear",
                                            ANSIBLE_STRATEGY_PLUGINS=strategies, ANSIBLE_LIBRARY=str(library),
                                            **extra)
    results = runner.play(tasks, wrap=host.interpreter(tmp_path, python))

    identities = results[0::2]
    assert len(identities) == 11, results
    # One interpreter served every task (what makes the namespace question
    # real), and it never left the host's namespace.
    assert len(set(r["pid"] for r in identities)) == 1, identities
    assert [r["netns_inode"] for r in identities] == [host.inode()] * 11

    changes = results[1::2]
    assert all(r.get("changed") for r in changes), changes
    # Each namespace holds what its last task set: the first got passes 0
    # and 4, the host's own 1 and 3, the second 2.
    assert first.limits() == {"subflows": 5, "add_addr_accepted": 5}
    assert host.limits() == {"subflows": 4, "add_addr_accepted": 4}
    assert second.limits() == {"subflows": 3, "add_addr_accepted": 3}
    assert [ns.sysctl()["add_addr_timeout"] for ns in (first, host, second)] == ["104", "103", "102"]
