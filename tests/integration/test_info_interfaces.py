# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mptcp_info's interfaces (the read that mptcp_endpoints plans with) in a
throw-away namespace, with `ip -j address show` as the oracle: every link,
its index, and every address with its prefix length, scope, family and
DAD state, through a dump long enough to take several netlink messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess
import time

SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254}


def ip_addresses(netns):
    """{ifname: {"index", "addresses"}} as `ip -j address show` reports them."""
    found = {}
    for link in json.loads(netns.ip("-j", "address", "show")):
        found[link["ifname"]] = {"index": link["ifindex"], "addresses": [
            {"address": a["local"], "prefixlen": a["prefixlen"], "scope": SCOPES[a["scope"]],
             "family": {"inet": "ipv4", "inet6": "ipv6"}[a["family"]], "dadfailed": bool(a.get("dadfailed"))}
            for a in link.get("addr_info", [])]}
    return found


def _by_address(address):
    return (address["family"], address["address"])


def test_interfaces_match_ip(runner, netns):
    # 300 more addresses on lan1: the dump spans several netlink messages
    subprocess.run(["ip", "-n", netns.name, "-batch", "-"], check=True, text=True,
                   input="".join("address add 10.77.%d.%d/32 dev lan1\n" % (n // 200, n % 200 + 1) for n in range(300)))
    # the same address on both ends of a veth pair: the later one fails DAD
    netns.ip("address", "add", "fd00:77::1/64", "dev", "lan0", "nodad")
    netns.ip("address", "add", "fd00:77::1/64", "dev", "lan0p")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and '"dadfailed"' not in netns.ip("-j", "address", "show", "dev", "lan0p"):
        time.sleep(0.2)
    expected = ip_addresses(netns)
    assert [a["dadfailed"] for a in expected["lan0p"]["addresses"] if a["address"] == "fd00:77::1"] == [True]
    assert len(expected["lan1"]["addresses"]) > 300

    result = runner.play([("mptcp.linux.mptcp_info", {"netns": netns.name, "connections": False, "interfaces": True}, {})])[0]
    assert not result.get("failed"), result
    read = result["interfaces"]
    assert sorted(read) == sorted(expected)
    for name, link in expected.items():
        assert read[name]["index"] == link["index"], name
        assert sorted(read[name]["addresses"], key=_by_address) == sorted(link["addresses"], key=_by_address), name
