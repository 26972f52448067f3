# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the multipath testbed (two network namespaces joined by N veth
paths). Validation and the plan (current state + desired state -> commands)
are pure functions; reading the state and running the commands take a
``run(argv)`` callable, so the planner is tested without root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

MAX_PATHS = 8  # the kernel's limit on endpoints and subflows
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,19}")
NET4_RE = re.compile(r"(\d{1,3})\.(\d{1,3})")
RATE_RE = re.compile(r"(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)")
RATE_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9}
DELAY_RE = re.compile(r"\d+(?:\.\d+)?(?:us|ms|s)")
LOSS_RE = re.compile(r"(\d+(?:\.\d+)?)%")
# Egress shaping as lab/run does it: a burst of a few full-size frames, a
# queue bounded in time so that TCP can fill the pipe.
BURST = "64kb"
LATENCY = "50ms"
ENDS = ("cli", "srv")


def rate_bits(text):
    """A tc rate (``50mbit``) in bit/s."""
    match = RATE_RE.fullmatch(text)
    return float(match.group(1)) * RATE_UNITS[match.group(2)]


def validate(params, names):
    """Every problem of the request, each naming its variable as NAMES
    (option -> the caller's name for it) says."""
    def name(option, *rest):
        return names.get(option, option) + "".join(rest)

    problems = []
    if not NAME_RE.fullmatch(params["name"] or ""):
        problems.append("%s: %r is not 1 to 20 lowercase letters, digits or '-', starting with a letter or digit"
                        % (name("name"), params["name"]))
    match = NET4_RE.fullmatch(params["net4"] or "")
    if not match or not all(0 <= int(octet) <= 255 for octet in match.groups()):
        problems.append("%s: %r is not the first two octets of an IPv4 network (e.g. 10.92)" % (name("net4"), params["net4"]))
    paths = params["paths"] or []
    if params["state"] == "present" and not 1 <= len(paths) <= MAX_PATHS:
        problems.append("%s: %d paths, expected 1 to %d" % (name("paths"), len(paths), MAX_PATHS))
    for index, path in enumerate(paths):
        where = name("paths", "[%d]" % index)
        if not RATE_RE.fullmatch(path.get("rate") or ""):
            problems.append("%s.rate: %r is not a tc rate (a number and bit, kbit, mbit, gbit, bps, kbps, mbps or gbps)"
                            % (where, path.get("rate")))
        if path.get("delay") is not None and not DELAY_RE.fullmatch(path["delay"]):
            problems.append("%s.delay: %r is not a time (e.g. 20ms, 500us, 1s)" % (where, path["delay"]))
        loss = path.get("loss")
        if loss is not None and not (LOSS_RE.fullmatch(loss) and float(LOSS_RE.fullmatch(loss).group(1)) <= 100):
            problems.append("%s.loss: %r is not a percentage from 0%% to 100%% (e.g. 1%%)" % (where, loss))
    for index, number in enumerate(params["paths_down"] or []):
        if not 1 <= number <= len(paths):
            problems.append("%s: %d is not a path number 1..%d" % (name("paths_down", "[%d]" % index), number, len(paths)))
    return problems


def netem_requests(params, names):
    """The fields that need the netem qdisc: ``mptcp_testbed_paths[1].delay``."""
    fields = []
    for index, path in enumerate(params["paths"] or []):
        for key in ("delay", "loss"):
            if path.get(key) is not None:
                fields.append("%s[%d].%s" % (names.get("paths", "paths"), index, key))
    return fields


def namespaces(name):
    return dict(cli="%s-cli" % name, srv="%s-srv" % name)


def desired_paths(params):
    """One dict per path: devices, addresses, shaping and whether it is up."""
    result = []
    down = set(params["paths_down"] or [])
    for number, path in enumerate(params["paths"], 1):
        result.append(dict(
            number=number,
            client_dev="cli-p%d" % number, server_dev="srv-p%d" % number,
            client_address="%s.%d.1" % (params["net4"], number),
            server_address="%s.%d.2" % (params["net4"], number),
            prefixlen=24, rate=path["rate"], delay=path.get("delay"), loss=path.get("loss"),
            up=number not in down))
    return result


def wrapper_text(ip_path, netns):
    return '#!/bin/sh\n# Runs a command inside the network namespace %s (mptcp.linux.mptcp_testbed).\nexec %s netns exec %s "$@"\n' % (
        netns, ip_path, netns)


# ------------------------------------------------------------ state


def read_state(run, name):
    """What exists now: {"netns": {end: bool}, "links": {end: {ifname: link}}}
    where a link is {"ifindex", "peer_index" (a veth's peer, in the other
    namespace), "up", "addresses", "qdiscs"}."""
    ns = namespaces(name)
    listed = set(line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line.strip())
    state = dict(netns={}, links={})
    for end in ENDS:
        state["netns"][end] = ns[end] in listed
        links = {}
        if state["netns"][end]:
            for item in json.loads(run(["ip", "-n", ns[end], "-j", "addr", "show"]) or "[]"):
                if item.get("link_type") == "loopback":
                    continue
                links[item["ifname"]] = dict(
                    ifindex=item["ifindex"], peer_index=item.get("link_index"), up="UP" in item.get("flags", []),
                    addresses=sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in item.get("addr_info", [])
                                     if a.get("family") == "inet"),
                    qdiscs=json.loads(run(["tc", "-n", ns[end], "-j", "qdisc", "show", "dev", item["ifname"]]) or "[]"))
        state["links"][end] = links
    return state


def _shaping_matches(qdiscs, path):
    """Whether QDISCS (tc -j output for one device) already shape as PATH asks."""
    tbf = [q for q in qdiscs if q.get("kind") == "tbf"]
    roots = [q for q in qdiscs if q.get("root")]
    if len(tbf) != 1 or not roots:
        return False
    if abs(tbf[0].get("options", {}).get("rate", -1) * 8 - rate_bits(path["rate"])) > rate_bits(path["rate"]) * 0.01:
        return False
    if path["delay"] is None and path["loss"] is None:
        return roots[0].get("kind") == "tbf"
    # netem's JSON differs between iproute2 versions: match the words of its options.
    netem = roots[0]
    if netem.get("kind") != "netem":
        return False
    words = json.dumps(netem.get("options", {}))
    return all(w is None or w.rstrip("%").rstrip("ms") in words for w in (path["delay"], path["loss"]))


def shaping_commands(ns, dev, path):
    if path["delay"] is None and path["loss"] is None:
        return [["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf",
                 "rate", path["rate"], "burst", BURST, "latency", LATENCY]]
    netem = ["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "handle", "1:", "netem"]
    if path["delay"] is not None:
        netem += ["delay", path["delay"]]
    if path["loss"] is not None:
        netem += ["loss", path["loss"]]
    return [["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"], netem,
            ["tc", "-n", ns, "qdisc", "add", "dev", dev, "parent", "1:1", "tbf",
             "rate", path["rate"], "burst", BURST, "latency", LATENCY]]


def plan_present(params, state):
    """The commands (argv lists) that turn STATE into what PARAMS ask."""
    ns = namespaces(params["name"])
    commands = []
    for end in ENDS:
        if not state["netns"][end]:
            commands += [["ip", "netns", "add", ns[end]],
                         ["ip", "-n", ns[end], "link", "set", "lo", "up"],
                         # Strict reverse-path filtering drops a subflow's packets
                         # arriving on the "wrong" interface; new devices take "default".
                         ["ip", "netns", "exec", ns[end], "sysctl", "-qw",
                          "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"]]
    paths = desired_paths(params)
    wanted = set()
    cli_links, srv_links = state["links"]["cli"], state["links"]["srv"]
    for path in paths:
        cdev, sdev = path["client_dev"], path["server_dev"]
        wanted.update([cdev, sdev])
        pair_ok = cdev in cli_links and sdev in srv_links and all((
            cli_links[cdev]["peer_index"] == srv_links[sdev]["ifindex"],
            srv_links[sdev]["peer_index"] == cli_links[cdev]["ifindex"]))
        if not pair_ok:
            # Half a pair (or a pair with another peer) is removed and made again.
            commands += [["ip", "-n", ns[end], "link", "del", dev]
                         for end, dev, links in (("cli", cdev, cli_links), ("srv", sdev, srv_links)) if dev in links]
            commands.append(["ip", "-n", ns["cli"], "link", "add", "name", cdev, "type", "veth",
                             "peer", "name", sdev, "netns", ns["srv"]])
        for end, dev, address in (("cli", cdev, path["client_address"]), ("srv", sdev, path["server_address"])):
            link = state["links"][end].get(dev) if pair_ok else None
            link = link or dict(up=False, addresses=[], qdiscs=[])
            cidr = "%s/%d" % (address, path["prefixlen"])
            commands += [["ip", "-n", ns[end], "addr", "del", other, "dev", dev] for other in link["addresses"] if other != cidr]
            if cidr not in link["addresses"]:
                commands.append(["ip", "-n", ns[end], "addr", "add", cidr, "dev", dev])
            if not _shaping_matches(link["qdiscs"], path):
                commands += shaping_commands(ns[end], dev, path)
            if link["up"] != path["up"]:
                commands.append(["ip", "-n", ns[end], "link", "set", "dev", dev, "up" if path["up"] else "down"])
    # Paths beyond the requested number go; a veth's peer goes with it.
    extra = [dev for dev in sorted(cli_links) if re.fullmatch(r"cli-p\d+", dev) and dev not in wanted]
    gone_with_peer = set(cli_links[dev]["ifindex"] for dev in extra)
    commands += [["ip", "-n", ns["cli"], "link", "del", dev] for dev in extra]
    commands += [["ip", "-n", ns["srv"], "link", "del", dev] for dev in sorted(srv_links)
                 if re.fullmatch(r"srv-p\d+", dev) and dev not in wanted and srv_links[dev]["peer_index"] not in gone_with_peer]
    return commands


def facts(params, wrappers):
    ns = namespaces(params["name"])
    return dict(
        name=params["name"],
        client=dict(netns=ns["cli"], wrapper=wrappers["cli"]),
        server=dict(netns=ns["srv"], wrapper=wrappers["srv"]),
        paths=desired_paths(params) if params["state"] == "present" else [])
