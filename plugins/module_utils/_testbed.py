# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the multipath testbed (two network namespaces joined by N veth
paths). Validation and the plan (current state + desired state -> commands)
are pure functions; reading the state and running the commands take a
``run(argv)`` callable, so the planner is tested without root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re

MAX_PATHS = 8  # the kernel's limit on endpoints and subflows
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,19}")
NET4_RE = re.compile(r"(\d{1,3})\.(\d{1,3})")
RATE_RE = re.compile(r"(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)")
RATE_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9}
NET6_RE = re.compile(r"[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,2}")
DELAY_RE = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s)")
TIME_UNITS = {"us": 1, "ms": 1e3, "s": 1e6}
LOSS_RE = re.compile(r"(\d+(?:\.\d+)?)%")
# tc's size units: bytes, or bits with "bit".
SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)(b|k|kb|m|mb|g|gb|bit|kbit|mbit|gbit)?")
SIZE_UNITS = {None: 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024 ** 2, "mb": 1024 ** 2, "g": 1024 ** 3, "gb": 1024 ** 3,
              "bit": 1 / 8.0, "kbit": 1024 / 8.0, "mbit": 1024 ** 2 / 8.0, "gbit": 1024 ** 3 / 8.0}
# Egress shaping by default: a burst of a few full-size frames, a queue
# bounded in time so that TCP can fill the pipe.
BURST = "64kb"
LATENCY = "50ms"
ENDS = ("cli", "srv")
# The first word of a planned step that the module carries out itself
# (sysctls written inside a namespace), not as a command.
SYSCTL = "sysctl-in-netns"


def rate_bits(text):
    """A tc rate (``50mbit``) in bit/s."""
    match = RATE_RE.fullmatch(text)
    return float(match.group(1)) * RATE_UNITS[match.group(2)]


def size_bytes(text):
    """A tc size (``64kb``) in bytes."""
    match = SIZE_RE.fullmatch(text)
    return float(match.group(1)) * SIZE_UNITS[match.group(2)]


def time_us(text):
    """A tc time (``50ms``) in microseconds."""
    match = DELAY_RE.fullmatch(text)
    return float(match.group(1)) * TIME_UNITS[match.group(2)]


def _shaper(params):
    return dict(burst=params.get("burst") or BURST, latency=params.get("latency") or LATENCY)


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
    net6 = params.get("net6")
    if net6 is not None and not NET6_RE.fullmatch(net6):
        problems.append("%s: %r is not the first one to three groups of an IPv6 network in lowercase hex (e.g. fd92)"
                        % (name("net6"), net6))
    shaper = _shaper(params)
    if not SIZE_RE.fullmatch(shaper["burst"]) or not size_bytes(shaper["burst"]) >= 1:
        problems.append("%s: %r is not a tc size (a number and b, kb, mb, gb, kbit, mbit or gbit, e.g. 64kb)"
                        % (name("burst"), shaper["burst"]))
    if not DELAY_RE.fullmatch(shaper["latency"]) or not time_us(shaper["latency"]) >= 1:
        problems.append("%s: %r is not a time of at least 1us (e.g. 50ms)" % (name("latency"), shaper["latency"]))
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
    net6 = params.get("net6")
    for number, path in enumerate(params["paths"], 1):
        result.append(dict(
            number=number,
            client_dev="cli-p%d" % number, server_dev="srv-p%d" % number,
            client_address="%s.%d.1" % (params["net4"], number),
            server_address="%s.%d.2" % (params["net4"], number),
            prefixlen=24,
            client_address6=_address6(net6, number, 1), server_address6=_address6(net6, number, 2),
            prefixlen6=64 if net6 is not None else None,
            rate=path["rate"], delay=path.get("delay"), loss=path.get("loss"),
            up=number not in down))
    return result


def _address6(net6, number, host):
    """Host HOST of path NUMBER under NET6 (``fd92`` -> ``fd92:1::1``), as ``ip`` prints it."""
    if net6 is None:
        return None
    return str(ipaddress.IPv6Address(u"%s:%x::%d" % (net6, number, host)))


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
                    # The kernel's own link-local IPv6 addresses are not the testbed's.
                    addresses=sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in item.get("addr_info", [])
                                     if a.get("family") == "inet" or (a.get("family") == "inet6" and a.get("scope") != "link")),
                    qdiscs=json.loads(run(["tc", "-n", ns[end], "-j", "qdisc", "show", "dev", item["ifname"]]) or "[]"))
        state["links"][end] = links
    return state


def _near(actual, wanted, share):
    return actual is not None and abs(actual - wanted) <= wanted * share


def _shaping_matches(qdiscs, path, shaper):
    """Whether QDISCS (tc -j output for one device) already shape as PATH and SHAPER ask."""
    tbf = [q for q in qdiscs if q.get("kind") == "tbf"]
    roots = [q for q in qdiscs if q.get("root")]
    if len(tbf) != 1 or not roots:
        return False
    options = tbf[0].get("options", {})
    latency = time_us(shaper["latency"])
    lat = options.get("lat")
    # tc rounds: the kernel keeps the rate in its own units and the burst in
    # ticks. iproute2 6.1 prints "lat" in microseconds; a float in seconds is
    # taken too. No "lat" at all cannot be compared, and is let be.
    if not (_near(options.get("rate", -1) * 8, rate_bits(path["rate"]), 0.01)
            and _near(options.get("burst"), size_bytes(shaper["burst"]), 0.02)
            and (not isinstance(lat, (int, float)) or _near(lat, latency, 0.02) or _near(lat * 1e6, latency, 0.02))):
        return False
    if path["delay"] is None and path["loss"] is None:
        return roots[0].get("kind") == "tbf"
    # netem's JSON differs between iproute2 versions: match the words of its options.
    netem = roots[0]
    if netem.get("kind") != "netem":
        return False
    words = json.dumps(netem.get("options", {}))
    return all(w is None or w.rstrip("%").rstrip("ms") in words for w in (path["delay"], path["loss"]))


def shaping_commands(ns, dev, path, shaper):
    tbf = ["tbf", "rate", path["rate"], "burst", shaper["burst"], "latency", shaper["latency"]]
    if path["delay"] is None and path["loss"] is None:
        return [["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root"] + tbf]
    netem = ["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "handle", "1:", "netem"]
    if path["delay"] is not None:
        netem += ["delay", path["delay"]]
    if path["loss"] is not None:
        netem += ["loss", path["loss"]]
    return [["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"], netem,
            ["tc", "-n", ns, "qdisc", "add", "dev", dev, "parent", "1:1"] + tbf]


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
                         # Written by the module itself: sysctl(8) is not on every host.
                         [SYSCTL, ns[end], "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"]]
    paths = desired_paths(params)
    shaper = _shaper(params)
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
        for end, dev, side in (("cli", cdev, "client_"), ("srv", sdev, "server_")):
            link = state["links"][end].get(dev) if pair_ok else None
            link = link or dict(up=False, addresses=[], qdiscs=[])
            cidrs = ["%s/%d" % (path[side + "address"], path["prefixlen"])]
            if path[side + "address6"] is not None:
                cidrs.append("%s/%d" % (path[side + "address6"], path["prefixlen6"]))
            commands += [["ip", "-n", ns[end], "addr", "del", other, "dev", dev] for other in link["addresses"] if other not in cidrs]
            for cidr in cidrs:
                if cidr not in link["addresses"]:
                    # nodad: an IPv6 address usable at once, not after duplicate detection.
                    commands.append(["ip", "-n", ns[end], "addr", "add", cidr, "dev", dev] + (["nodad"] if ":" in cidr else []))
            if not _shaping_matches(link["qdiscs"], path, shaper):
                commands += shaping_commands(ns[end], dev, path, shaper)
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
