# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

"""Reverse-path filtering and per-source policy routing for the mptcp role.

Usage: python3 - ACTION SPEC_JSON [--check] < mptcp_host_net.py

The role feeds this file on stdin, so that the task's command line stays
short; every command it runs is an argument vector, no value passes
through a shell. It reads the current state, applies only the difference
(nothing with --check) and prints one JSON object: changed, commands (the
equivalent command lines), diff or batch, or failed and msg.

rp_filter, SPEC {"interfaces": [...]}: an interface whose effective IPv4
rp_filter (the larger of conf/all and conf/IF) is 1 (strict) gets 2 (loose)
on the interface itself; 0 and 2 are left alone. Returns "persist": the
interfaces whose effective value is not 0 afterwards, the ones to keep
loose at boot.

policy_routing, SPEC {"endpoints": [{"address", "id", "dev"}], "table_base",
"priority"}: each endpoint address A with id I gets the rule "from A lookup
T" at "priority", T = table_base + I, and table T holds the connected prefix
of A on its interface and, when the main table has a default route through
that interface, that default route. Rules at "priority" pointing to tables
table_base+1 .. table_base+255 that no endpoint needs are deleted. Returns
"batch": per address family ("4", "6"), the ip -batch lines that recreate
the rules and tables (a batch line cannot choose the family).
"""

import ipaddress
import json
import os
import subprocess
import sys

PROC_CONF = "/proc/sys/net/ipv4/conf"


class Failure(Exception):
    pass


def ip_json(*args):
    """`ip -j ARGS`, parsed; a table that does not exist yet is empty."""
    proc = subprocess.run(["ip", "-j"] + list(args), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        if "table does not exist" in proc.stderr:
            return []
        raise Failure("ip %s: %s" % (" ".join(args), proc.stderr.strip()))
    return json.loads(proc.stdout) if proc.stdout.strip() else []


def run(argv, check):
    """Run a change, except in check mode."""
    if not check:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise Failure("%s: %s" % (" ".join(argv), proc.stderr.strip()))


def read_rp_filter(name):
    path = os.path.join(PROC_CONF, name, "rp_filter")
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (IOError, OSError):
        raise Failure("interface %r has no %s (no such interface, or no IPv4 on it)" % (name, path))


def rp_filter(spec, check):
    interfaces = sorted(set(spec.get("interfaces") or []))
    before = dict((name, read_rp_filter(name)) for name in interfaces)
    all_value = read_rp_filter("all")
    commands = []
    after = dict(before)
    for name in interfaces:
        if max(all_value, before[name]) == 1:
            commands.append("sysctl -w net/ipv4/conf/%s/rp_filter=2" % name)
            after[name] = 2
            if not check:
                with open(os.path.join(PROC_CONF, name, "rp_filter"), "w") as handle:
                    handle.write("2\n")
    return {
        "changed": bool(commands),
        "commands": commands,
        "all": all_value,
        "before": before,
        "after": after,
        "persist": [name for name in interfaces if max(all_value, after[name]) != 0],
        "diff": {"before": {"rp_filter": before}, "after": {"rp_filter": after}},
    }


def _interface_of(address, links):
    for link in links:
        for info in link.get("addr_info", []):
            if info.get("local") == address:
                return link["ifname"], info["prefixlen"]
    return None, None


def desired_routing(spec, links, main_routes, check):
    base = spec["table_base"]
    rules, tables = [], {}
    for endpoint in spec.get("endpoints") or []:
        address = endpoint["address"]
        if endpoint.get("id") is None:
            if check:
                continue  # an endpoint check mode would add: its id is the kernel's choice
            raise Failure("endpoint %s has no id; policy routing needs the kernel's id" % address)
        dev, prefixlen = _interface_of(address, links)
        if dev is None:
            raise Failure("endpoint %s: no interface holds this address" % address)
        dev = endpoint.get("dev") or dev
        family = 6 if ":" in address else 4
        table = base + endpoint["id"]
        network = ipaddress.ip_interface("%s/%d" % (address, prefixlen)).network
        routes = [{"dst": str(network), "gateway": None, "dev": dev, "prefsrc": address}]
        for route in main_routes[family]:
            if route.get("dst") == "default" and route.get("dev") == dev and route.get("gateway"):
                routes.append({"dst": "default", "gateway": route["gateway"], "dev": dev, "prefsrc": None})
                break
        rules.append({"family": family, "src": address, "table": table})
        tables[(family, table)] = routes
    return rules, tables


def _route_key(route):
    return (route.get("dst"), route.get("gateway"), route.get("dev"), route.get("prefsrc"))


def _route_words(route):
    words = [route["dst"]]
    if route["gateway"]:
        words += ["via", route["gateway"]]
    words += ["dev", route["dev"]]
    if route["prefsrc"]:
        words += ["src", route["prefsrc"]]
    return words


def policy_routing(spec, check):
    base, priority = spec["table_base"], spec["priority"]
    links = ip_json("address", "show")
    main_routes = dict((family, ip_json("-%d" % family, "route", "show", "table", "main")) for family in (4, 6))
    rules, tables = desired_routing(spec, links, main_routes, check)
    ours = range(base + 1, base + 256)
    commands, batch = [], {"4": [], "6": []}

    def change(argv):
        commands.append(" ".join(argv))
        run(argv, check)

    for family in (4, 6):
        host_prefixlen = 32 if family == 4 else 128
        wanted = set((r["src"], r["table"]) for r in rules if r["family"] == family)
        present = set()
        for rule in ip_json("-%d" % family, "rule", "show"):
            if rule.get("priority") != priority or not str(rule.get("table", "")).isdigit():
                continue
            table = int(rule["table"])
            if table not in ours:
                continue
            key = (rule.get("src"), table)
            if key in wanted and rule.get("srclen") in (None, host_prefixlen):
                present.add(key)
                continue
            argv = ["ip", "-%d" % family, "rule", "del", "priority", str(priority), "table", str(table)]
            if rule.get("src") and rule["src"] != "all":
                argv[4:4] = ["from", "%s/%s" % (rule["src"], rule.get("srclen", host_prefixlen))]
            change(argv)
        for src, table in sorted(wanted):
            words = ["rule", "add", "from", src, "table", str(table), "priority", str(priority)]
            batch[str(family)].append(" ".join(words))
            if (src, table) not in present:
                change(["ip", "-%d" % family] + words)

    for (family, table), routes in sorted(tables.items()):
        current = ip_json("-%d" % family, "route", "show", "table", str(table))
        have = set(_route_key(r) for r in current)
        want = set(_route_key(r) for r in routes)
        if have != want:
            if current:
                change(["ip", "-%d" % family, "route", "flush", "table", str(table)])
            for route in routes:
                change(["ip", "-%d" % family, "route", "add"] + _route_words(route) + ["table", str(table)])
        for route in routes:
            batch[str(family)].append(" ".join(["route", "replace"] + _route_words(route) + ["table", str(table)]))

    return {"changed": bool(commands), "commands": commands, "rules": rules, "batch": batch}


def main(argv):
    if len(argv) < 2 or argv[0] not in ("rp_filter", "policy_routing"):
        sys.stderr.write(__doc__)
        return 2
    check = "--check" in argv[2:]
    try:
        spec = json.loads(argv[1])
        if argv[0] == "rp_filter":
            result = rp_filter(spec, check)
        else:
            result = policy_routing(spec, check)
    except (Failure, ValueError, KeyError) as exc:
        print(json.dumps({"failed": True, "msg": str(exc)}))
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
