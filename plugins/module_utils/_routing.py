# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: reverse-path filtering and per-source policy routing for MPTCP
endpoints, planned without a kernel.

validate() checks the module's whole request; plan() compares it with the
host's state (read by _routing_host) and returns the actions in a safe
order, the before/after views, the equivalent commands and the ``ip
-batch`` lines that recreate the rules and tables at boot; differences()
says in words how two views differ.

The rules:

- rp_filter: an interface whose effective IPv4 rp_filter (the larger of
  ``conf/all`` and ``conf/IF``) is 1 (strict) gets 2 (loose) on the interface
  itself; 0 and 2 are left alone. The interfaces whose effective value is not
  0 afterwards are the ones to keep loose at boot ("persist").
- policy routing: endpoint address A with id I gets the rule ``from A lookup
  T`` at ``priority``, T = ``table_base`` + I, and table T holds the connected
  prefix of A on its interface and, when the main table has a default route
  through that interface, that default route. The tables ``table_base`` + 1 ..
  ``table_base`` + 255 (without the kernel's own 253, 254 and 255) belong to
  this module: a rule at ``priority`` pointing to one of them that no endpoint
  needs is deleted, and so are the routes of a table no endpoint needs.

State shapes (plain data, as _routing_host reads them):

- ``rp_filter``: ``{"all": 1, "eth1": 1, "gone0": None}`` (None: no such
  interface);
- ``interfaces``: ``{name: {"index", "addresses": [{"address", "prefixlen",
  "family": "ipv4"|"ipv6", ...}]}}`` (_netlink.interfaces());
- ``rules``: the rules at ``priority``, ``{"family": 4|6, "priority", "table",
  "src" (None for all), "src_len", "selectors": {other match keys}}``;
- ``tables``: ``{(family, table): [route]}`` for the tables of the range,
  a route being ``{"dst": "192.0.2.0/24"|"default", "gateway", "dev",
  "prefsrc"}`` plus ``"onlink": True`` when set;
- ``defaults``: ``{family: [{"dev", "gateway", "metric", "onlink"}]}``, the
  main table's default routes through one gateway.

Any other key of a rule or route (the reader's own) is ignored here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import shlex

from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints, _quote

FAMILY_NAMES = {4: "ipv4", 6: "ipv6"}
HOST_PREFIX = {4: 32, 6: 128}
# Table ids the kernel gives a meaning: never ours, whatever the base.
RESERVED_TABLES = {0: "unspec", 253: "default", 254: "main", 255: "local"}
MAX_TABLE = 0xFFFFFFFF
MAX_TABLE_BASE = MAX_TABLE - 255
MAX_PRIORITY = 32765  # 32766 is the main table's rule
STATES = ("present", "absent")
DEFAULT_TABLE_BASE = 100
DEFAULT_PRIORITY = 1000
PENDING_REASON = "would be routed once the kernel assigns its id"


class RoutingError(Exception):
    """Bad input, found before anything changes; the message names every
    offending field."""

    def __init__(self, problems):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = problems
        Exception.__init__(self, "; ".join(problems))


def interface_name_problem(name):
    """Why NAME cannot be a Linux interface name, or None."""
    if not isinstance(name, str) or not name:
        return "%r is not an interface name (empty)" % (name,)
    if not _endpoints.valid_ifname(name):
        return "%r is not a Linux interface name (1 to 15 bytes, not . or .., no /, : or blank)" % (name,)
    return None


def our_tables(table_base):
    """The table ids that belong to this module for ``table_base``."""
    return set(t for t in range(table_base + 1, table_base + 256) if t not in RESERVED_TABLES)


def _family(address):
    return 6 if ":" in address else 4


# ---------------------------------------------------------------- validate


def validate(params, check_mode=False):
    """The module's parameters, checked as a whole; returns the request or
    raises RoutingError naming every problem. Reads nothing from the host.

    Request: ``{"rp_filter": [names] | None, "routing": None | {"state",
    "table_base", "priority", "endpoints": [{"index", "address", "id",
    "dev", "family"}]}}``. Endpoints flagged ``implicit`` (the kernel's own)
    are left out."""
    problems = []
    request = {"rp_filter": None, "rp_filter_index": {}, "routing": None}

    names = params.get("rp_filter_interfaces")
    if names is not None:
        for index, name in enumerate(names):
            problem = interface_name_problem(name)
            if name in ("all", "default"):
                problem = "%r is not an interface: net.ipv4.conf.%s is read, never written" % (name, name)
            if problem:
                problems.append("rp_filter_interfaces[%d]: %s" % (index, problem))
        request["rp_filter"] = sorted(set(n for n in names if isinstance(n, str)))
        request["rp_filter_index"] = dict((n, i) for i, n in reversed(list(enumerate(names))))

    routing = params.get("policy_routing")
    if routing is not None:
        request["routing"], found = _validate_routing(routing, check_mode)
        problems.extend(found)

    if problems:
        raise RoutingError(problems)
    return request


def _validate_routing(routing, check_mode):
    problems = []
    state = routing.get("state") or "present"
    base = routing.get("table_base")
    base = DEFAULT_TABLE_BASE if base is None else base
    priority = routing.get("priority")
    priority = DEFAULT_PRIORITY if priority is None else priority
    if state not in STATES:
        problems.append("policy_routing.state: must be one of %s, not %r" % (", ".join(STATES), state))
    if not 0 <= base <= MAX_TABLE_BASE:
        problems.append("policy_routing.table_base: %s is out of range 0..%d (tables are table_base + endpoint id, "
                        "at most %d)" % (base, MAX_TABLE_BASE, MAX_TABLE))
    if not 1 <= priority <= MAX_PRIORITY:
        problems.append("policy_routing.priority: %s is out of range 1..%d (the rules must come before the main "
                        "table's, 32766)" % (priority, MAX_PRIORITY))

    endpoints = []
    for index, raw in enumerate(routing.get("endpoints") or []):
        where = "policy_routing.endpoints[%d]" % index
        if "implicit" in (raw.get("flags") or []):
            continue  # created by the kernel for a live connection: not routed
        entry = {"index": index, "address": None, "id": raw.get("id"), "dev": raw.get("dev"), "family": None}
        text = raw.get("address")
        try:
            if text is None:
                raise ValueError("missing")
            if "%" in str(text):
                raise ValueError("a scoped address")
            address = ipaddress.ip_address(u"%s" % text)
            if address.is_unspecified or address.is_multicast or address.is_loopback:
                raise ValueError("not a unicast address of an interface")
            entry["address"] = str(address)
            entry["family"] = address.version
        except ValueError as exc:
            problems.append("%s.address: %r is not an IPv4 or IPv6 address (%s)" % (where, text, exc))
        if entry["id"] is None:
            if not check_mode:
                problems.append("%s.id: endpoint %s has no id; policy routing needs the id the kernel gave it "
                                "(pass the endpoints as mptcp.linux.mptcp_endpoints returns them in after)"
                                % (where, text))
        elif not 1 <= entry["id"] <= 255:
            problems.append("%s.id: %s is out of range 1..255" % (where, entry["id"]))
        elif 0 <= base <= MAX_TABLE_BASE and base + entry["id"] in RESERVED_TABLES:
            problems.append("%s.id: table_base %d + id %d is table %d, the kernel's %s table; choose another "
                            "table_base" % (where, base, entry["id"], base + entry["id"],
                                            RESERVED_TABLES[base + entry["id"]]))
        if entry["dev"] is not None:
            problem = interface_name_problem(entry["dev"])
            if problem is None:
                problem = _batch_word_problem(entry["dev"])
            if problem:
                problems.append("%s.dev: %s" % (where, problem))
        endpoints.append(entry)

    seen = {}
    for entry in endpoints:
        if entry["id"] is None or entry["address"] is None:
            continue
        first = seen.setdefault(entry["id"], entry)
        if first is not entry and first["address"] != entry["address"]:
            problems.append("policy_routing.endpoints[%d].id: id %d is also the id of endpoints[%d] (%s); "
                            "table %d cannot route both" % (entry["index"], entry["id"], first["index"],
                                                            first["address"], base + entry["id"]))
    return {"state": state, "table_base": base, "priority": priority, "endpoints": endpoints}, problems


def _batch_word_problem(word):
    try:
        _quote.ip_batch_word(word)
    except _quote.QuoteError as exc:
        return "%r %s" % (word, exc)
    return None


# ---------------------------------------------------------------- plan


def effective_rp_filter(all_value, value):
    return max(all_value, value)


def _plan_rp_filter(names, indexes, current, problems):
    """(actions, before, after, persist)."""
    all_value = current.get("all")
    before = {"all": all_value}
    if all_value is None:
        problems.append("rp_filter_interfaces: this host has no net.ipv4.conf.all.rp_filter (no IPv4)")
    missing = [n for n in names if current.get(n) is None]
    for name in missing:
        problems.append("rp_filter_interfaces[%d]: interface %r has no net.ipv4.conf.%s.rp_filter "
                        "(no such interface here, or no IPv4 on it)" % (indexes.get(name, 0), name, name))
    if missing or all_value is None:
        return [], before, dict(before), []
    actions = []
    after = dict(before)
    for name in names:
        value = current[name]
        before[name] = value
        after[name] = value
        if effective_rp_filter(all_value, value) == 1:
            after[name] = 2
            actions.append(("sysctl", {"interface": name, "value": 2, "old": value}))
    persist = [n for n in names if effective_rp_filter(all_value, after[n]) != 0]
    return actions, before, after, persist


def _holders(address, family, interfaces):
    """[(dev, prefixlen)] of the interfaces that hold ADDRESS, by name."""
    found = []
    for name in sorted(interfaces):
        for addr in interfaces[name]["addresses"]:
            if addr["family"] == FAMILY_NAMES[family] and addr["address"] == address:
                found.append((name, addr["prefixlen"]))
    return found


def _desired_routing(routing, state, problems):
    """(rules, tables, pending): the rules and tables the endpoints need,
    and the endpoints check mode cannot route yet."""
    base, priority = routing["table_base"], routing["priority"]
    rules, tables, pending = [], {}, []
    if routing["state"] == "absent":
        return rules, tables, pending
    for entry in routing["endpoints"]:
        where = "policy_routing.endpoints[%d]" % entry["index"]
        if entry["id"] is None:
            pending.append({"address": entry["address"], "reason": PENDING_REASON})
            continue
        holders = _holders(entry["address"], entry["family"], state["interfaces"])
        if entry["dev"] is not None:
            mine = [h for h in holders if h[0] == entry["dev"]]
            if holders and not mine:
                problems.append("%s.dev: %s does not hold %s (%s does)"
                                % (where, entry["dev"], entry["address"], ", ".join(h[0] for h in holders)))
                continue
            holders = mine
        if not holders:
            problems.append("%s.address: no interface here holds %s; policy routing needs its connected prefix"
                            % (where, entry["address"]))
            continue
        dev, prefixlen = holders[0]
        if entry["dev"] is None:
            problem = _batch_word_problem(dev)
            if problem:
                problems.append("%s.address: the interface that holds %s, %s" % (where, entry["address"], problem))
                continue
        family = entry["family"]
        table = base + entry["id"]
        network = ipaddress.ip_interface(u"%s/%d" % (entry["address"], prefixlen)).network
        routes = [{"dst": str(network), "gateway": None, "dev": dev, "prefsrc": entry["address"]}]
        for default in sorted(state["defaults"].get(family, []), key=lambda d: d.get("metric") or 0):
            if default["dev"] == dev and default.get("gateway"):
                route = {"dst": "default", "gateway": default["gateway"], "dev": dev, "prefsrc": None}
                if default.get("onlink"):
                    route["onlink"] = True
                routes.append(route)
                break
        rule = {"family": family, "priority": priority, "table": table, "src": entry["address"],
                "src_len": HOST_PREFIX[family], "selectors": {}}
        if rule not in rules:
            rules.append(rule)
        tables[(family, table)] = routes
    return rules, tables, pending


def _rule_key(rule):
    return (rule["family"], rule["table"], rule["src"] or "", rule["src_len"] or 0,
            tuple(sorted(rule["selectors"].items())))


def _route_key(route):
    return (route["dst"], route.get("gateway") or "", route.get("dev") or "", route.get("prefsrc") or "",
            bool(route.get("onlink")))


def _same_routes(current, wanted):
    return sorted(_route_key(r) for r in current) == sorted(_route_key(r) for r in wanted)


def _ours(rule, routing):
    return rule["priority"] == routing["priority"] and rule["table"] in our_tables(routing["table_base"])


def _plan_routing(routing, state, problems):
    """(actions, before, after, batch, pending)."""
    wanted_rules, wanted_tables, pending = _desired_routing(routing, state, problems)
    current_rules = [r for r in state["rules"] if _ours(r, routing)]
    ours = our_tables(routing["table_base"])
    current_tables = dict((k, v) for k, v in state["tables"].items() if k[1] in ours and v)

    # A dry run cannot know the table of a pending endpoint: its rules stay.
    pending_sources = set(p["address"] for p in pending)
    wanted_keys = set(_rule_key(r) for r in wanted_rules)

    def pending_host_rule(r):
        return r["src"] in pending_sources and r["src_len"] == HOST_PREFIX[r["family"]] and not r["selectors"]

    kept = [r for r in current_rules if _rule_key(r) in wanted_keys or pending_host_rule(r)]
    kept_keys = set(_rule_key(r) for r in kept)
    needed_tables = set(wanted_tables) | set((r["family"], r["table"]) for r in kept)

    rewrite, add_rules, del_rules, flush_unused = [], [], [], []
    for key in sorted(wanted_tables):
        family, table = key
        routes = wanted_tables[key]
        current = current_tables.get(key, [])
        if _same_routes(current, routes):
            continue
        if current:
            rewrite.append(("table_flush", {"family": family, "table": table, "routes": current}))
        for route in routes:
            rewrite.append(("route_add", {"family": family, "table": table, "route": route}))
    for rule in sorted(current_rules, key=_rule_key):
        if _rule_key(rule) not in kept_keys:
            del_rules.append(("rule_del", rule))
    current_keys = set(_rule_key(r) for r in current_rules)
    for rule in sorted(wanted_rules, key=_rule_key):
        if _rule_key(rule) not in current_keys:
            add_rules.append(("rule_add", rule))
    for key in sorted(current_tables):
        if key not in needed_tables:
            flush_unused.append(("table_flush", {"family": key[0], "table": key[1], "routes": current_tables[key]}))

    after_tables = dict((k, v) for k, v in current_tables.items() if k in needed_tables)
    after_tables.update(wanted_tables)
    before = {"rules": _rules_view(current_rules), "tables": _tables_view(current_tables)}
    after = {"rules": _rules_view(kept + [r for r in wanted_rules if _rule_key(r) not in kept_keys]),
             "tables": _tables_view(after_tables)}
    batch = batch_lines(wanted_rules, wanted_tables, problems)
    # Tables first, so that a new rule finds its table filled; rules gone
    # before their tables are emptied.
    return rewrite + del_rules + add_rules + flush_unused, before, after, batch, pending


def plan(request, state, check_mode=False):
    """Compare the request with the host's state.

    Returns ``{"actions", "before", "after", "commands", "batch",
    "rp_filter_persist", "pending", "changed"}``; raises RoutingError naming
    every problem the state reveals (an interface that does not exist, an
    address no interface holds, an interface name ip -batch cannot carry).
    """
    problems = []
    actions = []
    before, after = {}, {}
    result = {"batch": {"ipv4": [], "ipv6": []}, "rp_filter_persist": [], "pending": []}
    if request["rp_filter"] is not None:
        found, before["rp_filter"], after["rp_filter"], result["rp_filter_persist"] = \
            _plan_rp_filter(request["rp_filter"], request.get("rp_filter_index", {}), state["rp_filter"], problems)
        actions.extend(found)
    if request["routing"] is not None:
        found, routing_before, routing_after, result["batch"], result["pending"] = \
            _plan_routing(request["routing"], state, problems)
        before.update(routing_before)
        after.update(routing_after)
        actions.extend(found)
    if problems:
        raise RoutingError(problems)
    if check_mode is False and result["pending"]:
        raise RoutingError(["policy_routing.endpoints: %s has no id" % p["address"] for p in result["pending"]])
    result.update(actions=actions, before=before, after=after, commands=[render_action(a) for a in actions],
                  changed=bool(actions) or bool(result["pending"]))
    return result


def view(request, state):
    """The public view of STATE for REQUEST: what before, after and the
    read-back compare (the same shape plan() returns)."""
    result = {}
    if request["rp_filter"] is not None:
        result["rp_filter"] = dict((n, state["rp_filter"].get(n)) for n in ["all"] + list(request["rp_filter"]))
    if request["routing"] is not None:
        routing = request["routing"]
        ours = our_tables(routing["table_base"])
        result["rules"] = _rules_view([r for r in state["rules"] if _ours(r, routing)])
        result["tables"] = _tables_view(dict((k, v) for k, v in state["tables"].items() if k[1] in ours and v))
    return result


# ---------------------------------------------------------------- views


def _src_text(rule):
    if not rule.get("src"):
        return "all"
    if rule["src_len"] in (None, HOST_PREFIX[rule["family"]]):
        return rule["src"]
    return "%s/%d" % (rule["src"], rule["src_len"])


def public_rule(rule):
    shown = {"family": FAMILY_NAMES[rule["family"]], "priority": rule["priority"], "src": _src_text(rule),
             "table": rule["table"]}
    if rule["selectors"]:
        shown["selectors"] = dict(rule["selectors"])
    return shown


def public_route(route):
    shown = {"dst": route["dst"], "gateway": route.get("gateway"), "dev": route.get("dev"),
             "prefsrc": route.get("prefsrc")}
    if route.get("onlink"):
        shown["onlink"] = True
    return shown


def _rules_view(rules):
    return [public_rule(r) for r in sorted(rules, key=_rule_key)]


def _tables_view(tables):
    return [{"family": FAMILY_NAMES[family], "table": table,
             "routes": [public_route(r) for r in sorted(tables[(family, table)], key=_route_key)]}
            for family, table in sorted(tables)]


def differences(before, now):
    """How NOW differs from BEFORE (two views), in words; [] when equal."""
    found = []
    for name, value in sorted((before.get("rp_filter") or {}).items()):
        current = (now.get("rp_filter") or {}).get(name)
        if current != value:
            found.append("net.ipv4.conf.%s.rp_filter is %s, was %s" % (name, current, value))

    def rule_text(rule):
        return "%s rule from %s lookup %s priority %s%s" % (
            rule["family"], rule["src"], rule["table"], rule["priority"],
            "".join(" %s %s" % item for item in sorted(rule.get("selectors", {}).items())))

    old_rules = [rule_text(r) for r in before.get("rules") or []]
    new_rules = [rule_text(r) for r in now.get("rules") or []]
    found.extend("%s is missing" % r for r in old_rules if r not in new_rules)
    found.extend("%s was added" % r for r in new_rules if r not in old_rules)

    old_tables = dict(((t["family"], t["table"]), t["routes"]) for t in before.get("tables") or [])
    new_tables = dict(((t["family"], t["table"]), t["routes"]) for t in now.get("tables") or [])
    for key in sorted(set(old_tables) | set(new_tables)):
        if old_tables.get(key, []) != new_tables.get(key, []):
            found.append("%s table %d holds [%s], held [%s]" % (
                key[0], key[1], "; ".join(route_text(r) for r in new_tables.get(key, [])),
                "; ".join(route_text(r) for r in old_tables.get(key, []))))
    return found


# ---------------------------------------------------------------- rendering


def route_words(route):
    words = [route["dst"]]
    if route.get("gateway"):
        words += ["via", route["gateway"]]
    words += ["dev", route["dev"]]
    if route.get("prefsrc"):
        words += ["src", route["prefsrc"]]
    if route.get("onlink"):
        words.append("onlink")
    return words


def route_text(route):
    return " ".join(route_words(route))


def rule_words(rule):
    words = ["from", _src_text(rule)]
    selectors = rule.get("selectors") or {}
    for key, word in (("dst", "to"), ("iifname", "iif"), ("oifname", "oif"), ("tos", "tos"),
                      ("fwmark", "fwmark"), ("action", "action")):
        if key in selectors:
            words += [word, str(selectors[key])]
    words += ["table", str(rule["table"]), "priority", str(rule["priority"])]
    return words


def _sysctl_key(interface):
    # sysctl(8) reads dots as separators; a name with a dot needs the slash form.
    if "." in interface:
        return "net/ipv4/conf/%s/rp_filter" % interface
    return "net.ipv4.conf.%s.rp_filter" % interface


def _shell(words):
    return " ".join(shlex.quote(w) for w in words)


def render_action(action):
    """The command line equivalent to an action."""
    verb, item = action
    if verb == "sysctl":
        return _shell(["sysctl", "-w", "%s=%d" % (_sysctl_key(item["interface"]), item["value"])])
    if verb == "rule_add" or verb == "rule_del":
        return _shell(["ip", "-%d" % item["family"], "rule", verb[5:]] + rule_words(item))
    if verb == "table_flush":
        return _shell(["ip", "-%d" % item["family"], "route", "flush", "table", str(item["table"])])
    words = route_words(item["route"]) + ["table", str(item["table"])]
    return _shell(["ip", "-%d" % item["family"], "route", "add"] + words)


def batch_lines(rules, tables, problems):
    """Per family, the ``ip -batch`` lines that recreate the rules and tables
    (a batch line cannot choose its family: ``ip -4 -batch`` and ``ip -6
    -batch`` read one file each). ``route replace``, so that a replay over
    routes that exist already succeeds."""
    batch = {"ipv4": [], "ipv6": []}
    try:
        for rule in sorted(rules, key=_rule_key):
            batch[FAMILY_NAMES[rule["family"]]].append(_quote.ip_batch_line(["rule", "add"] + rule_words(rule)))
        for (family, table), routes in sorted(tables.items()):
            for route in routes:
                batch[FAMILY_NAMES[family]].append(
                    _quote.ip_batch_line(["route", "replace"] + route_words(route) + ["table", str(table)]))
    except _quote.QuoteError as exc:  # names were checked before; a gateway or address never fails
        problems.append("policy_routing: an ip -batch word %s" % exc)
    return batch
