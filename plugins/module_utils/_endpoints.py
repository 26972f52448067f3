# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: MPTCP endpoints as a network resource, without a kernel.

validate() checks a whole ``config`` list, expand() turns ``dev``-only entries
into addresses, plan() compares the kernel's endpoints with the desired ones
and returns the actions (deletions first) and the state after them,
render_*() give the ``ip mptcp`` equivalents, and parse() reads
``ip mptcp endpoint show`` output (or those ``ip mptcp`` lines) back.
Endpoints are plain dicts: ``{"id", "address", "port", "dev", "flags"}`` with
``flags`` a sorted list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re
import socket

FLAGS = ("signal", "subflow", "backup", "fullmesh", "laminar")
# Changed in place by the kernel's SET_FLAGS; any other change is delete + add.
SETTABLE_FLAGS = frozenset(("backup", "fullmesh"))
FLAG_SINCE = {"signal": "5.6", "subflow": "5.6", "backup": "5.6", "fullmesh": "5.18", "laminar": "6.18"}
MAX_ENDPOINTS = 8
STATES = ("merged", "replaced", "overridden", "deleted", "gathered", "rendered", "parsed")
FAMILIES = ("all", "ipv4", "ipv6")
# What a dev-only entry does when its interface holds no usable address.
EMPTY_INTERFACES = ("fail", "skip")
# Linux's dev_valid_name(): 1 to 15 bytes, no '/', ':' or white space, not "." or "..".
_IFNAME_RE = re.compile(r"[^\s/:]{1,15}")
IFNAMSIZ = 16


def argument_spec():
    """The options of mptcp_endpoints that say what to plan (config,
    empty_interfaces, state): the module's argument spec, and the
    controller's planning (the mptcp_endpoints_pending filter) validates
    with it exactly as the module does."""
    return dict(
        config=dict(type="list", elements="dict", options=dict(
            address=dict(type="str"),
            id=dict(type="int"),
            port=dict(type="int"),
            dev=dict(type="str"),
            family=dict(type="str", choices=list(FAMILIES)),
            flags=dict(type="list", elements="str", choices=list(FLAGS)),
        )),
        empty_interfaces=dict(type="str", default="fail", choices=list(EMPTY_INTERFACES)),
        state=dict(type="str", default="merged", choices=list(STATES)),
    )


class EndpointError(Exception):
    """Bad input; the message names every offending field."""

    def __init__(self, problems):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = problems
        Exception.__init__(self, "; ".join(problems))


def key(endpoint):
    """An endpoint's identity: its address and port."""
    return (endpoint["address"], endpoint.get("port") or 0)


def _clashes(items, identity):
    """(first, later) for each item whose identity an earlier one has; items
    without an identity (None) never clash."""
    seen = {}
    for item in items:
        ident = identity(item)
        if ident is None:
            continue
        first = seen.setdefault(ident, item)
        if first is not item:
            yield first, item


def _sorted(endpoints):
    return sorted(endpoints, key=lambda e: (e.get("id") or 256, key(e)))


def _normalize_address(text):
    if "%" in text:
        raise ValueError("a scoped address; give the interface as dev instead")
    address = ipaddress.ip_address(u"%s" % text)
    if address.is_unspecified or address.is_multicast:
        raise ValueError("not a unicast address")
    return str(address)


_THIS_NETWORK = ipaddress.ip_network(u"0.0.0.0/8")
_LIMITED_BROADCAST = ipaddress.ip_address(u"255.255.255.255")


def _endpoint_address_problem(text, dev):
    """Why an address (already normalized) cannot be an endpoint that the
    kernel announces (signal) or opens subflows from, or None. Such an
    address would be accepted by the kernel and then fail quietly: a peer
    cannot reach a loopback or reserved address, and a subflow cannot leave
    from one."""
    address = ipaddress.ip_address(u"%s" % text)
    if address.version == 6 and address.ipv4_mapped is not None:
        return ("an IPv4-mapped IPv6 address, which the kernel does not use as an IPv4 endpoint; "
                "write the IPv4 address %s" % address.ipv4_mapped)
    if address.is_loopback:
        return "a loopback address, which no peer can reach"
    if address == _LIMITED_BROADCAST:
        return "the limited broadcast address, which cannot be the source or target of a subflow"
    if address.version == 4 and address in _THIS_NETWORK:
        return "in 0.0.0.0/8 (this host on this network), which cannot be the source or target of a subflow"
    if address.is_reserved:
        return "in a reserved range (%s), which is not routed" % ("240.0.0.0/4" if address.version == 4 else "reserved by the IETF")
    if address.version == 6 and address.is_link_local and dev is None:
        return "an IPv6 link-local address, which needs a scope: give the interface as dev"
    return None


def valid_ifname(name):
    """Whether Linux accepts NAME as an interface name (dev_valid_name())."""
    short = len(name.encode("utf-8", "surrogateescape")) < IFNAMSIZ
    return _IFNAME_RE.fullmatch(name) is not None and name not in (".", "..") and short


def validate(config, state):
    """Check the whole config list; return normalized entries or raise
    EndpointError naming every problem. Nothing is read from the host."""
    problems = []
    entries = []
    for index, raw in enumerate(config or []):
        where = "config[%d]" % index
        entry = {
            "index": index,
            "address": None,
            "id": raw.get("id"),
            "port": raw.get("port"),
            "dev": raw.get("dev"),
            "family": raw.get("family") or "all",
            "flags": None,
        }
        if raw.get("address") is not None:
            try:
                entry["address"] = _normalize_address(raw["address"])
            except ValueError as exc:
                problems.append("%s.address: %r is not a valid IPv4 or IPv6 unicast address (%s)" % (where, raw["address"], exc))
            else:
                # deleted may name any endpoint the kernel holds, however it got there
                reason = None if state == "deleted" else _endpoint_address_problem(entry["address"], entry["dev"])
                if reason:
                    problems.append("%s.address: %r is %s" % (where, raw["address"], reason))
        if raw.get("address") is None and entry["dev"] is None:
            if not (state == "deleted" and entry["id"] is not None):
                problems.append("%s: give an address, or a dev to use all of its addresses" % where)
        if entry["id"] is not None and not 1 <= entry["id"] <= 255:
            problems.append("%s.id: %s is out of range 1..255 (0 is the initial subflow's)" % (where, entry["id"]))
        if entry["port"] is not None and not 1 <= entry["port"] <= 65535:
            problems.append("%s.port: %s is out of range 1..65535" % (where, entry["port"]))
        if entry["dev"] is not None and not valid_ifname(entry["dev"]):
            problems.append("%s.dev: %r is not a valid interface name" % (where, entry["dev"]))
        if entry["family"] not in FAMILIES:
            problems.append("%s.family: must be one of %s" % (where, ", ".join(FAMILIES)))
        elif raw.get("family") is not None and raw.get("address") is not None:
            problems.append("%s.family: only applies to an entry that gives dev without address" % where)
        flags = raw.get("flags")
        if flags is not None:
            unknown = [f for f in flags if f not in FLAGS]
            if unknown:
                problems.append("%s.flags: unknown flag(s) %s; known: %s" % (where, ", ".join(map(str, unknown)), ", ".join(FLAGS)))
            elif len(set(flags)) != len(flags):
                problems.append("%s.flags: a flag is given twice" % where)
            entry["flags"] = sorted(set(flags))
        entries.append(entry)
    if problems:
        raise EndpointError(problems)
    return entries


def _flag_rule_problems(flags, port):
    """(field, reason) for each kernel rule that FLAGS and PORT break."""
    problems = []
    if "signal" in flags and "fullmesh" in flags:
        problems.append(("flags", "fullmesh cannot be combined with signal"))
    if port and "signal" not in flags:
        problems.append(("port", "a port needs the signal flag (the kernel listens on it to accept joins)"))
    elif port and "subflow" in flags:
        problems.append(("port", "an endpoint with a port takes signal without subflow "
                                 "(the kernel listens on the port; it opens no subflow from it)"))
    return problems


def _flag_rules(where, flags, port):
    return ["%s.%s: %s" % (where, field, reason) for field, reason in _flag_rule_problems(flags, port)]


def usable_addresses(iface, family):
    """The addresses of an interface an endpoint can use: global or site
    scope, not link-local, not failed duplicate address detection."""
    found = []
    for addr in iface["addresses"]:
        if family != "all" and addr["family"] != family:
            continue
        if addr["dadfailed"] or addr["scope"] >= 253:  # 253 link, 254 host
            continue
        if ipaddress.ip_address(u"%s" % addr["address"]).is_link_local:
            continue
        found.append(addr["address"])
    return found


def _holders(interfaces, address):
    """The interfaces that hold ADDRESS (and have not failed duplicate address detection)."""
    return sorted(name for name, iface in interfaces.items()
                  if any(a["address"] == address and not a["dadfailed"] for a in iface["addresses"]))


def expand(entries, interfaces, state, empty="fail"):
    """Resolve ``dev`` against the host's interfaces: a dev-only entry becomes
    one entry per usable address. Raises EndpointError naming each problem;
    returns entries that all have an address (or an id, for deleted).

    A dev-only entry whose interface holds no usable address is a problem
    with EMPTY ``fail``; with ``skip`` it makes no entry (its addresses are
    still to come, e.g. a DHCP lease).

    Except for deleted, an entry that gives both an address and a dev needs
    that interface to hold the address, and an entry with a port needs an
    address of this host: the kernel binds a listening socket to it."""
    problems = []
    result = []
    for entry in entries:
        where = "config[%d]" % entry["index"]
        dev = entry["dev"]
        if state == "deleted" and dev is not None and entry["address"] is None:
            result.append(dict(entry, match_dev=dev))  # also endpoints bound to it
        if dev is not None and dev not in interfaces:
            if state == "deleted":
                if entry["address"] is not None:
                    result.append(entry)
                continue
            problems.append("%s.dev: interface %r does not exist (interfaces here: %s)" % (where, dev, ", ".join(sorted(interfaces))))
            continue
        if entry["address"] is not None or dev is None:
            if state != "deleted" and entry["address"] is not None:
                problems.extend(_host_address_problems(where, entry, interfaces))
            result.append(entry)
            continue
        addresses = usable_addresses(interfaces[dev], entry["family"])
        if not addresses and state != "deleted" and empty != "skip":
            problems.append("%s.dev: interface %r has no usable %saddress (global scope, not link-local)"
                            % (where, dev, "" if entry["family"] == "all" else entry["family"] + " "))
        elif entry["id"] is not None and len(addresses) > 1:
            problems.append("%s.id: interface %r has %d usable addresses (%s); an id needs exactly one"
                            % (where, dev, len(addresses), ", ".join(addresses)))
        for address in addresses:
            result.append(dict(entry, address=address))
    if problems:
        raise EndpointError(problems)
    if state != "deleted":
        for first, entry in _clashes(result, lambda e: key(e) if e["address"] is not None else None):
            problems.append("config[%d]: endpoint %s is also given by config[%d]"
                            % (entry["index"], _label(entry), first["index"]))
        for first, entry in _clashes(result, lambda e: e["id"]):
            problems.append("config[%d].id: id %d is also given by config[%d]" % (entry["index"], entry["id"], first["index"]))
    if problems:
        raise EndpointError(problems)
    return result


def _host_address_problems(where, entry, interfaces):
    holders = _holders(interfaces, entry["address"])
    dev = entry["dev"]
    if dev is not None and dev not in holders:
        own = [a["address"] for a in interfaces[dev]["addresses"]]
        return ["%s.dev: interface %r does not hold %s (%s); bind the endpoint to the interface that has "
                "the address%s, or leave dev out"
                % (where, dev, entry["address"], "its addresses: " + ", ".join(own) if own else "it has no address",
                   " (%s)" % ", ".join(holders) if holders else "")]
    if entry["port"] and not holders:
        return ["%s.address: %s is not an address of this host; an endpoint with a port needs one, because "
                "the kernel listens on that address and port" % (where, entry["address"])]
    return []


def _label(endpoint):
    text = endpoint["address"]
    if endpoint.get("port"):
        text += " port %d" % endpoint["port"]
    return text


def public(endpoint):
    """The endpoint as returned to the user."""
    return {
        "id": endpoint.get("id"),
        "address": endpoint["address"],
        "port": endpoint.get("port") or None,
        "dev": endpoint.get("dev"),
        "flags": list(endpoint.get("flags") or []),
    }


def _target(entry, current, merge):
    """The endpoint an entry asks for, given the one the kernel has (or None)."""
    target = public({"address": entry["address"], "port": entry["port"], "id": entry["id"],
                     "dev": entry["dev"], "flags": entry["flags"]})
    target["index"] = entry["index"]
    if current is not None:
        if target["id"] is None:
            target["id"] = current["id"]  # an id is compared only when given
        if merge:
            if entry["dev"] is None:
                target["dev"] = current.get("dev")
            if entry["flags"] is None:
                target["flags"] = list(current["flags"])
    return target


def _matches_for_deletion(entry, endpoint):
    if entry.get("match_dev") is not None:
        return endpoint.get("dev") == entry["match_dev"] and entry["id"] in (None, endpoint["id"])
    if entry["address"] is None:
        return endpoint["id"] == entry["id"]
    if key(endpoint) != key(entry):
        return False
    return entry["id"] is None or entry["id"] == endpoint["id"]


def plan(current, entries, state):
    """Compare the kernel's endpoints (``current``) with the expanded entries
    (for deleted, None means no config: delete every endpoint).

    Returns ``(actions, after)``: actions are ``("delete", ep)``,
    ``("set_flags", ep)`` and ``("add", ep)``, deletions first, then in-place
    changes, then additions (those with a fixed id before those the kernel
    numbers); ``after`` is the predicted endpoint list. Raises EndpointError
    when the result would break a kernel rule.
    """
    managed = [e for e in current if "implicit" not in e["flags"]]
    wanted = set(key(e) for e in entries or [] if e.get("address")) if state != "deleted" else set()
    # the kernel turns an implicit endpoint into the one added on its address
    implicit = [e for e in current if "implicit" in e["flags"] and key(e) not in wanted]
    by_key = dict((key(e), e) for e in managed)

    if state == "deleted":
        if entries is None:
            final = []  # no config: every endpoint
        else:
            final = [public(e) for e in managed if not any(_matches_for_deletion(x, e) for x in entries)]
    else:
        merge = state == "merged"
        final_by_key = {} if state == "overridden" else dict((key(e), public(e)) for e in managed)
        for entry in entries or []:
            final_by_key[key(entry)] = _target(entry, by_key.get(key(entry)), merge)
        final = list(final_by_key.values())
        _check_final(final, implicit)

    final_keys = set(key(e) for e in final)
    deletes, changes, adds = [], [], []
    for endpoint in managed:
        if key(endpoint) not in final_keys:
            deletes.append(("delete", public(endpoint)))
    for target in final:
        endpoint = by_key.get(key(target))
        if endpoint is None:
            adds.append(("add", target))
            continue
        in_place = endpoint["id"] == target["id"] and endpoint.get("dev") == target["dev"]
        flips = set(endpoint["flags"]) ^ set(target["flags"])
        if in_place and not flips:
            continue
        if in_place and flips <= SETTABLE_FLAGS:
            changes.append(("set_flags", target))
        else:
            deletes.append(("delete", public(endpoint)))
            adds.append(("add", target))
    adds.sort(key=lambda action: action[1]["id"] is None)
    after = _sorted([public(e) for e in final] + [public(e) for e in implicit])
    return deletes + changes + adds, after


def plan_request(entries, current, interfaces, state, empty="fail"):
    """What mptcp_endpoints plans for validated ENTRIES (validate()),
    given the kernel's endpoints and the host's interfaces: expand() then
    plan() (no entries: plan() without a config). Returns plan()'s
    ``(actions, after)``; raises EndpointError. The module and the
    controller's planning (the mptcp_endpoints_pending filter) both plan
    through it."""
    expanded = expand(entries, interfaces, state, empty)
    return plan(current, expanded if entries else None, state)


def _where(endpoint):
    if "index" in endpoint:
        return "config[%d]" % endpoint["index"]
    return "endpoint %s" % _label(endpoint)


def _check_final(final, implicit):
    problems = []
    for endpoint in final:
        problems.extend(_flag_rules(_where(endpoint), endpoint["flags"], endpoint.get("port")))
    for pair in _clashes(final + implicit, lambda e: e.get("id")):
        first, second = sorted(pair, key=lambda e: "index" not in e)
        problems.append("%s.id: id %d is already used by endpoint %s, which this state keeps"
                        % (_where(first), first["id"], _label(second)))
    if len(final) + len(implicit) > MAX_ENDPOINTS:
        problems.append("config: the result would have %d endpoints; the kernel allows at most %d per network namespace"
                        % (len(final) + len(implicit), MAX_ENDPOINTS))
    if problems:
        raise EndpointError(problems)


def verify(after, expected):
    """After applying: every expected endpoint must be there with all its
    flags. A kernel silently drops flags it does not know (e.g. laminar
    before 6.18): return the problems found."""
    problems = []
    by_key = dict((key(e), e) for e in after)
    for target in expected:
        got = by_key.get(key(target))
        if got is None:
            problems.append("endpoint %s is missing after it was added" % _label(target))
            continue
        dropped = sorted(set(target["flags"]) - set(got["flags"]))
        for flag in dropped:
            problems.append("endpoint %s: the kernel dropped flag %r; this kernel does not support it (added in Linux %s)"
                            % (_label(target), flag, FLAG_SINCE.get(flag, "?")))
    return problems


def describe(endpoint):
    """An endpoint in words, every field: "192.0.2.7 port 80 id 3 (signal, backup; dev eth0)"."""
    text = _label(endpoint)
    if endpoint.get("id") is not None:
        text += " id %d" % endpoint["id"]
    details = ", ".join(endpoint.get("flags") or []) or "no flags"
    return "%s (%s; %s)" % (text, details, "dev %s" % endpoint["dev"] if endpoint.get("dev") else "no dev")


def _managed(endpoints):
    return dict((key(e), e) for e in endpoints if "implicit" not in (e.get("flags") or []))


def differences(expected, actual):
    """Field by field (id, address, port, flags, dev), how the endpoints the
    kernel holds (ACTUAL) differ from EXPECTED, one sentence per endpoint.
    An expected id of None (one the kernel chooses) matches any id. Implicit
    endpoints, which the kernel makes and drops for live connections, are
    left out."""
    want, got = _managed(expected), _managed(actual)
    found = []
    for ident in sorted(set(want) | set(got), key=lambda k: (k[0], k[1])):
        target, endpoint = want.get(ident), got.get(ident)
        if endpoint is None:
            found.append("endpoint %s is missing" % describe(target))
        elif target is None:
            found.append("endpoint %s is there and should not be" % describe(endpoint))
        else:
            fields = []
            if target.get("id") is not None and target["id"] != endpoint["id"]:
                fields.append("id %s instead of %s" % (endpoint["id"], target["id"]))
            if sorted(target.get("flags") or []) != sorted(endpoint.get("flags") or []):
                fields.append("flags [%s] instead of [%s]" % (", ".join(endpoint.get("flags") or []),
                                                              ", ".join(target.get("flags") or [])))
            if (target.get("dev") or None) != (endpoint.get("dev") or None):
                fields.append("dev %s instead of %s" % (endpoint.get("dev") or "none", target.get("dev") or "none"))
            if fields:
                found.append("endpoint %s has %s" % (_label(endpoint), ", ".join(fields)))
    return found


def undo(done, before, current):
    """The actions that take back DONE, the actions the kernel accepted (in
    the order sent), newest first: an endpoint this run added is deleted
    (with the id the kernel gave it, read in CURRENT), one it deleted is
    added again as BEFORE had it (same id, port, flags and interface, even a
    stale one), a flag change is set back. Nothing else is touched."""
    before_by_key = dict((key(e), e) for e in before)
    current_by_key = dict((key(e), e) for e in current)
    actions = []
    for verb, endpoint in reversed(done):
        ident = key(endpoint)
        if verb == "add":
            added = current_by_key.get(ident)
            if added is not None:
                actions.append(("delete", public(added)))
        elif ident in before_by_key:
            # a deleted endpoint comes back, a changed one gets its flags back
            actions.append(("add" if verb == "delete" else "set_flags", public(before_by_key[ident])))
    return actions


def failure_outcome(done, refused_undo, before, after, limits_set=False):
    """The sentence a failed run ends with, from what the read-back AFTER
    shows: nothing was changed, the previous endpoints were restored, or
    what still differs from BEFORE. LIMITS_SET: the run set the limits
    before its first endpoint command, and says itself what became of them."""
    left = differences(before, after)
    if not left:
        if not done and limits_set:
            return "The kernel refused the first endpoint command; the endpoints read back as before."
        if not done:
            return "Nothing was changed: the kernel refused the first command; the endpoints read back as before."
        return ("The previous endpoints were restored: the %d accepted command(s) were undone and the endpoints "
                "read back as before." % len(done))
    text = "The endpoints now differ from before"
    if done:
        text += " after the attempt to undo the %d accepted command(s)" % len(done)
    text += ": %s." % "; ".join(left)
    if refused_undo:
        text += " The kernel refused to undo: %s." % "; ".join(
            "%s (%s)" % (render_action(exc.action), exc.reason) for exc in refused_undo)
    return text


def _add_words(endpoint):
    words = ["mptcp", "endpoint", "add", endpoint["address"]]
    if endpoint.get("port"):
        words += ["port", str(endpoint["port"])]
    if endpoint.get("dev"):
        words += ["dev", endpoint["dev"]]
    if endpoint.get("id"):
        words += ["id", str(endpoint["id"])]
    return words + list(endpoint.get("flags") or [])


def render_add(endpoint):
    return " ".join(_add_words(endpoint))


def render_action(action):
    """The ``ip mptcp`` command line equivalent to an action."""
    verb, endpoint = action
    if verb == "delete":
        return "ip mptcp endpoint delete id %d %s" % (endpoint["id"], endpoint["address"])
    if verb == "set_flags":
        words = ["ip", "mptcp", "endpoint", "change", "id", str(endpoint["id"])]
        for flag in sorted(SETTABLE_FLAGS):
            words.append(flag if flag in endpoint["flags"] else "no" + flag)
        return " ".join(words)
    return "ip " + render_add(endpoint)


def render_lines(endpoints):
    """The ``ip -batch`` lines (without line feeds) that create the endpoints
    on an empty namespace, those with a fixed id first.

    Every word goes through the ip -batch quoting; a value that ip -batch
    cannot express (an interface name with '#', or with both quote
    characters) raises EndpointError naming the entry's field."""
    # Imported here: only the rendered and parsed states quote, and the
    # module's other runs need not compile it out of the AnsiballZ zip.
    from ansible_collections.mptcp.linux.plugins.module_utils import _quote
    ordered = sorted(endpoints, key=lambda e: e.get("id") is None)
    lines, problems = [], []
    for endpoint in ordered:
        try:
            lines.append(_quote.ip_batch_line(_add_words(endpoint)))
        except _quote.QuoteError as exc:
            problems.append("%s.dev: %r cannot be written to an ip -batch file: %s" % (_where(endpoint), endpoint.get("dev"), exc))
    if problems:
        raise EndpointError(problems)
    return lines


def render_batch(endpoints):
    """An ``ip -batch`` file that creates the endpoints on an empty namespace
    (render_lines(), one line each)."""
    return "".join(line + "\n" for line in render_lines(endpoints))


def render_commands(endpoints):
    """The ``ip mptcp endpoint add`` command lines that create the endpoints
    on an empty namespace: the render_lines() words after ``ip``, quoted the
    same way (quote characters group a word, with no escapes)."""
    return ["ip " + line for line in render_lines(endpoints)]


def render(entries):
    """state=rendered: the endpoints that validated ENTRIES create on an
    empty namespace, without reading the host. Every entry needs an
    address: a dev-only entry depends on the host's addresses. Raises
    EndpointError naming each problem."""
    missing = ["config[%d]" % e["index"] for e in entries if e["address"] is None]
    if missing:
        raise EndpointError("%s: rendered needs an address in every entry; a dev-only entry depends on the "
                            "host's addresses (use gathered on the host first)" % ", ".join(missing))
    twice = ["config[%d]: endpoint %s is also given by config[%d]" % (entry["index"], _label(entry), first["index"])
             for first, entry in _clashes(entries, key)]
    if twice:
        raise EndpointError(twice)
    actions, dummy = plan([], entries, "overridden")
    return [action[1] for action in actions]


def gathered(endpoints):
    """Endpoints in the shape of the ``config`` option (unset keys left out)."""
    result = []
    for endpoint in endpoints:
        item = dict((k, v) for k, v in public(endpoint).items() if v not in (None, []))
        item["flags"] = list(endpoint["flags"])
        result.append(item)
    return result


# ---------------------------------------------------------------- parsed
#
# ``ip mptcp endpoint show`` prints one endpoint a line, each field followed
# by a blank: the address, "port N" (when not 0), "id N", the flags it has
# names for, "rawflags HEX" for the bits it has none for (iproute2 6.1 names
# neither implicit nor laminar), and "dev NAME" ("ifN" once the interface is
# gone). ``ip -j`` prints the same as a JSON list. parse() reads both, and
# the ``[ip] mptcp endpoint add`` lines that rendered gives.

# The kernel's flag bits (include/uapi/linux/mptcp.h), as _netlink has them.
FLAG_BITS = (("signal", 0x01), ("subflow", 0x02), ("backup", 0x04), ("fullmesh", 0x08),
             ("implicit", 0x10), ("laminar", 0x20))
_FLAG_NAMES = frozenset(name for name, bit in FLAG_BITS)
_DIGITS = re.compile(r"[0-9]+")


class _Unreadable(ValueError):
    """Why one line (or JSON item) of running_config cannot be read."""


def _parsed_address(word):
    """An address as iproute2 and the netlink client print it (inet_ntop)."""
    if "%" in word:
        raise _Unreadable("%r is a scoped address; an endpoint gives its interface as dev" % word)
    try:
        address = ipaddress.ip_address(u"%s" % word)
    except ValueError:
        raise _Unreadable("%r is not an IPv4 or IPv6 address" % word)
    return socket.inet_ntop(socket.AF_INET6 if address.version == 6 else socket.AF_INET, address.packed)


def _parsed_number(name, word, low, high):
    if not isinstance(word, int) or isinstance(word, bool):
        if not isinstance(word, str) or not _DIGITS.fullmatch(word):
            raise _Unreadable("%s %r is not a decimal number" % (name, word))
        word = int(word)
    if not low <= word <= high:
        raise _Unreadable("%s %d is out of range %d..%d" % (name, word, low, high))
    return word


def _parsed_dev(word):
    if not isinstance(word, str) or not valid_ifname(word):
        raise _Unreadable("dev %r is not a valid interface name" % (word,))
    return word


def _raw_flags(word):
    """The flag names of iproute2's "rawflags HEX" (two hex digits or more)."""
    if not isinstance(word, str) or not re.fullmatch(r"[0-9a-fA-F]+", word):
        raise _Unreadable("rawflags %r is not a hexadecimal number" % (word,))
    value = int(word, 16)
    unknown = value & ~sum(bit for name, bit in FLAG_BITS)
    if unknown:
        raise _Unreadable("rawflags %s has flag bits this module does not know (0x%x)" % (word, unknown))
    return set(name for name, bit in FLAG_BITS if value & bit)


def _endpoint(address=None, id=None, port=None, dev=None, flags=()):
    return {"id": id, "address": address, "port": port, "dev": dev, "flags": sorted(flags)}


def _endpoint_words(words, shown):
    """One endpoint from the words of a line of ``ip mptcp endpoint show``
    (SHOWN: the address first; the kernel's own flags and "rawflags"
    allowed) or those after ``ip mptcp endpoint add`` (the address anywhere,
    as ip takes it)."""
    fields, flags, seen = {}, set(), set()
    if shown:
        fields["address"] = _parsed_address(words[0])
        words = words[1:]
    pos = 0
    while pos < len(words):
        word = words[pos]
        if word in ("id", "port", "dev") or (shown and word == "rawflags"):
            if word in seen:
                raise _Unreadable("%r is given twice" % word)
            seen.add(word)
            if pos + 1 >= len(words):
                raise _Unreadable("%r needs a value" % word)
            value = words[pos + 1]
            if word == "id":
                fields["id"] = _parsed_number("id", value, 1, 255)
            elif word == "port":
                fields["port"] = _parsed_number("port", value, 1, 65535)
            elif word == "dev":
                fields["dev"] = _parsed_dev(value)
            else:
                flags |= _raw_flags(value)
            pos += 2
            continue
        if word in _FLAG_NAMES:
            if word == "implicit" and not shown:
                raise _Unreadable("'implicit' cannot be added: the kernel makes implicit endpoints for live connections")
            if word in seen:
                raise _Unreadable("flag %r is given twice" % word)
            seen.add(word)
            flags.add(word)
        elif word in ("nobackup", "nofullmesh"):
            raise _Unreadable("%r only changes an endpoint (ip mptcp endpoint change)" % word)
        elif "address" not in fields:
            fields["address"] = _parsed_address(word)
        else:
            raise _Unreadable("unknown word %r" % word)
        pos += 1
    if "address" not in fields:
        raise _Unreadable("no address")
    return _endpoint(flags=flags, **fields)


def _command(line):
    """("add", endpoint), ("flush", None) or ("skip", None) for one
    ``[ip] mptcp ...`` line, its words split as ip -batch splits them."""
    from ansible_collections.mptcp.linux.plugins.module_utils import _quote
    try:
        words = _quote.ip_batch_split(line)
    except _quote.QuoteError as exc:
        raise _Unreadable(str(exc))
    if words[:1] == ["ip"]:
        words = words[1:]
    if words[:3] == ["mptcp", "endpoint", "add"]:
        endpoint = _endpoint_words(words[3:], shown=False)
        rules = _flag_rule_problems(endpoint["flags"], endpoint["port"])
        if rules:
            raise _Unreadable("; ".join(reason for field, reason in rules))
        return "add", endpoint
    if words == ["mptcp", "endpoint", "flush"]:
        return "flush", None
    if words[:2] == ["mptcp", "limits"]:
        return "skip", None  # the limits are mptcp_limits' business
    raise _Unreadable("only 'mptcp endpoint add', 'mptcp endpoint flush' and 'mptcp limits' commands are read")


def _text_lines(text):
    """(where, what, line) for each line of TEXT that is not blank or a
    comment: WHAT is an endpoint, None for a flush, or _Unreadable."""
    for number, line in enumerate(text.split("\n"), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        where = "running_config line %d" % number
        try:
            if words[0] in ("ip", "mptcp"):
                verb, endpoint = _command(line)
                if verb == "skip":
                    continue
            else:
                endpoint = _endpoint_words(words, shown=True)
        except _Unreadable as exc:
            yield where, exc, line.strip()
            continue
        yield where, endpoint, None


_JSON_KEYS = frozenset(("address", "id", "port", "dev", "rawflags", "flags")) | _FLAG_NAMES


def _json_item(item):
    """One endpoint of ``ip -j mptcp endpoint show``."""
    if not isinstance(item, dict):
        raise _Unreadable("is a %s, not an object" % type(item).__name__)
    unknown = sorted(k for k in item if k not in _JSON_KEYS)
    if unknown:
        raise _Unreadable("unknown key(s) %s" % ", ".join(map(repr, unknown)))
    if not isinstance(item.get("address"), str):
        raise _Unreadable("no address")
    flags = set()
    for name in _FLAG_NAMES:
        if name in item:
            if item[name] is not True:
                raise _Unreadable("%r is %r; ip -j prints true for the flags an endpoint has" % (name, item[name]))
            flags.add(name)
    listed = item.get("flags", [])
    if not isinstance(listed, list) or any(f not in _FLAG_NAMES for f in listed):
        raise _Unreadable("flags %r is not a list of known flags" % (listed,))
    flags.update(listed)
    if "rawflags" in item:
        flags |= _raw_flags(item["rawflags"])
    return _endpoint(
        address=_parsed_address(item["address"]),
        id=_parsed_number("id", item["id"], 1, 255) if "id" in item else None,
        port=_parsed_number("port", item["port"], 1, 65535) if item.get("port") else None,
        dev=_parsed_dev(item["dev"]) if "dev" in item else None,
        flags=flags,
    )


def _json_items(text):
    """(where, what, None) for each item of ``ip -j`` output, as _text_lines()."""
    try:
        items = json.loads(text)
    except ValueError as exc:
        reason = "starts with '[' but is not the JSON of ip -j (%s); give a command's stdout, not its stdout_lines" % exc
        yield "running_config", _Unreadable(reason), None
        return
    if not isinstance(items, list):
        yield "running_config", _Unreadable("is JSON but not a list"), None
        return
    for index, item in enumerate(items):
        try:
            yield "running_config[%d]" % index, _json_item(item), None
        except _Unreadable as exc:
            yield "running_config[%d]" % index, exc, None


def parse(text):
    """The endpoints that TEXT describes, in the shape gathered() gives
    them, sorted by id (those without one last). TEXT is what
    ``ip mptcp endpoint show`` prints, its JSON form (``ip -j``), or
    ``[ip] mptcp endpoint add`` lines as rendered gives them (an ``ip -batch``
    file too: comments, ``mptcp endpoint flush`` and ``mptcp limits`` lines
    are read as ip reads them). Nothing is read from the host. Raises
    EndpointError naming the line (or JSON item) and the reason for each
    one that cannot be read, or that repeats an endpoint or an id."""
    if not isinstance(text, str):
        raise EndpointError("running_config: is a %s, not text" % type(text).__name__)
    reader = _json_items(text) if text.lstrip().startswith("[") else _text_lines(text)
    problems, found = [], []
    for where, endpoint, line in reader:
        if isinstance(endpoint, _Unreadable):
            problems.append("%s: %s%s" % (where, endpoint, " (%r)" % line if line else ""))
        elif endpoint is None:
            found = []  # mptcp endpoint flush
        else:
            found.append((where, endpoint))
    for (first, dummy), (where, endpoint) in _clashes(found, lambda item: key(item[1])):
        problems.append("%s: endpoint %s is also on %s; the kernel holds one endpoint per address and port"
                        % (where, _label(endpoint), first))
    for (first, dummy), (where, endpoint) in _clashes(found, lambda item: item[1]["id"]):
        problems.append("%s: id %d is also used on %s" % (where, endpoint["id"], first))
    if problems:
        raise EndpointError(problems)
    return gathered(_sorted(endpoint for dummy, endpoint in found))
