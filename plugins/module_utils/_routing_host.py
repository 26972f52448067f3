# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the kernel side of _routing. Reads the rules, routes and
addresses over netlink (pyroute2 IPRoute) and rp_filter through
/proc/sys/net/ipv4/conf, applies a plan, reads it back, and puts back what
a failed run changed.

Works with pyroute2 0.7 (Debian) and 0.9 (PyPI): only ``get_rules``,
``get_routes``, ``rule(add|del)`` and ``route(add|del)`` are used. A table
is flushed by deleting each of its routes with the attributes the dump
gave (0.9 has no ``route('flush')``, and a deletion without the route's
scope and protocol misses it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.mptcp.linux.plugins.module_utils import _netlink, _routing, _sysctl

AF = {4: socket.AF_INET, 6: socket.AF_INET6}
MAIN_TABLE = 254
RTN_UNICAST = 1
RTPROT_BOOT = 3  # what `ip route add` gives a route, so that the boot replay makes the same one
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RTNH_F_ONLINK = 4
FR_ACT_TO_TBL = 1
FIB_RULE_INVERT = 2
NO_LIMIT = 0xFFFFFFFF
# Rule attributes this module neither sets nor can compare: a rule with one
# of them at the module's priority is never taken for one of its own.
_OTHER_RULE_ATTRS = ("FRA_GOTO", "FRA_UID_RANGE", "FRA_IP_PROTO", "FRA_SPORT_RANGE", "FRA_DPORT_RANGE",
                     "FRA_L3MDEV", "FRA_TUN_ID")


class Failure(Exception):
    """A run that could not complete; ``details`` go into the module's result."""

    def __init__(self, msg, **details):
        Exception.__init__(self, msg)
        self.msg = msg
        self.details = details


def _describe(exc):
    if isinstance(exc, (IOError, OSError)) and not isinstance(exc, _netlink.NetlinkError):
        return exc.strerror or str(exc)
    return _netlink.describe_error(exc)


# ---------------------------------------------------------------- reading


def _rule(msg, family):
    table = msg.get_attr("FRA_TABLE") or msg["table"]
    src = msg.get_attr("FRA_SRC")
    rule = {"family": family, "priority": msg.get_attr("FRA_PRIORITY") or 0, "table": table,
            "src": src, "src_len": msg["src_len"] if src else 0, "selectors": {}}
    kernel = {"family": AF[family], "priority": rule["priority"], "table": table}
    if src:
        kernel.update(src=src, src_len=msg["src_len"])
    selectors = rule["selectors"]
    dst = msg.get_attr("FRA_DST")
    if dst:
        selectors["dst"] = "%s/%d" % (dst, msg["dst_len"])
        kernel.update(dst=dst, dst_len=msg["dst_len"])
    for attr, key in (("FRA_IIFNAME", "iifname"), ("FRA_OIFNAME", "oifname")):
        value = msg.get_attr(attr)
        if value:
            selectors[key] = kernel[key] = value
    mark, mask = msg.get_attr("FRA_FWMARK"), msg.get_attr("FRA_FWMASK")
    if mark or (mask and mask != NO_LIMIT):
        selectors["fwmark"] = "0x%x/0x%x" % (mark or 0, NO_LIMIT if mask is None else mask)
        kernel.update(fwmark=mark or 0, fwmask=NO_LIMIT if mask is None else mask)
    if msg["tos"]:
        selectors["tos"] = "0x%02x" % msg["tos"]
        kernel["tos"] = msg["tos"]
    if msg["action"] != FR_ACT_TO_TBL:
        selectors["action"] = kernel["action"] = msg["action"]
    if msg["flags"] & FIB_RULE_INVERT:
        selectors["not"] = True
        kernel["flags"] = FIB_RULE_INVERT
    others = [a[4:].lower() for a in _OTHER_RULE_ATTRS if msg.get_attr(a) is not None]
    for attr, key in (("FRA_SUPPRESS_PREFIXLEN", "suppress_prefixlength"), ("FRA_SUPPRESS_IFGROUP", "suppress_ifgroup")):
        value = msg.get_attr(attr)
        if value is not None and value != NO_LIMIT:
            others.append(key)
    if others:
        selectors["other"] = ",".join(sorted(others))
    rule["kernel"] = kernel
    return rule


def _route(msg, family, names):
    dst = msg.get_attr("RTA_DST")
    oif = msg.get_attr("RTA_OIF")
    route = {
        "dst": "%s/%d" % (dst, msg["dst_len"]) if msg["dst_len"] else "default",
        "gateway": msg.get_attr("RTA_GATEWAY"),
        "dev": names.get(oif, "if%d" % oif) if oif else None,
        "prefsrc": msg.get_attr("RTA_PREFSRC"),
    }
    if msg["flags"] & RTNH_F_ONLINK:
        route["onlink"] = True
    kernel = {"family": AF[family], "table": msg.get_attr("RTA_TABLE") or msg["table"], "dst_len": msg["dst_len"],
              "scope": msg["scope"], "proto": msg["proto"], "type": msg["type"], "tos": msg["tos"]}
    for attr, key in (("RTA_DST", "dst"), ("RTA_GATEWAY", "gateway"), ("RTA_OIF", "oif"),
                      ("RTA_PREFSRC", "prefsrc"), ("RTA_PRIORITY", "priority")):
        value = msg.get_attr(attr)
        if value is not None:
            kernel[key] = value
    if msg["flags"] & RTNH_F_ONLINK:
        kernel["flags"] = RTNH_F_ONLINK
    route["kernel"] = kernel
    return route


def _table_of(msg):
    return msg.get_attr("RTA_TABLE") or msg["table"]


def read_state(ipr, request):
    """The state _routing.plan() compares the request with."""
    state = {"rp_filter": {}, "interfaces": {}, "rules": [], "tables": {}, "defaults": {4: [], 6: []}}
    if request["rp_filter"] is not None:
        for name in ["all"] + request["rp_filter"]:
            state["rp_filter"][name] = _sysctl.read_ipv4_conf(name, "rp_filter")
    routing = request["routing"]
    if routing is None:
        return state
    state["interfaces"] = _netlink.interfaces()
    names = dict((iface["index"], name) for name, iface in state["interfaces"].items())
    ours = _routing.our_tables(routing["table_base"])
    for family in (4, 6):
        for msg in ipr.get_rules(family=AF[family]):
            if (msg.get_attr("FRA_PRIORITY") or 0) == routing["priority"]:
                state["rules"].append(_rule(msg, family))
        for msg in ipr.get_routes(family=AF[family]):
            table = _table_of(msg)
            if table in ours:
                state["tables"].setdefault((family, table), []).append(_route(msg, family, names))
            elif table == MAIN_TABLE and msg["dst_len"] == 0 and msg["type"] == RTN_UNICAST:
                route = _route(msg, family, names)
                if route["gateway"] and route["dev"]:
                    state["defaults"][family].append({"dev": route["dev"], "gateway": route["gateway"],
                                                      "metric": msg.get_attr("RTA_PRIORITY") or 0,
                                                      "onlink": bool(route.get("onlink"))})
    return state


# ---------------------------------------------------------------- writing


def _route_kwargs(family, table, route, indexes):
    """pyroute2 arguments that make ROUTE as `ip route add` would."""
    dst = route["dst"]
    if dst == "default":
        address, length = ("0.0.0.0" if family == 4 else "::"), 0
    else:
        address, length = dst.split("/")
    kwargs = {"family": AF[family], "table": table, "dst": address, "dst_len": int(length),
              "oif": indexes[route["dev"]], "proto": RTPROT_BOOT, "type": RTN_UNICAST,
              "scope": RT_SCOPE_LINK if family == 4 and not route.get("gateway") else RT_SCOPE_UNIVERSE}
    if route.get("gateway"):
        kwargs["gateway"] = route["gateway"]
    if route.get("prefsrc"):
        kwargs["prefsrc"] = route["prefsrc"]
    if route.get("onlink"):
        kwargs["flags"] = RTNH_F_ONLINK
    return kwargs


def _rule_kwargs(rule):
    if "kernel" in rule:
        return dict(rule["kernel"])
    return {"family": AF[rule["family"]], "priority": rule["priority"], "table": rule["table"],
            "src": rule["src"], "src_len": rule["src_len"]}


class Host(object):
    """Applies actions in order and remembers what it changed, so that a
    failed run can put it back."""

    def __init__(self, ipr, interfaces):
        self.ipr = ipr
        self.indexes = dict((name, iface["index"]) for name, iface in interfaces.items())
        self.done = []
        self.touched = []

    def flush(self, family, table):
        for msg in list(self.ipr.get_routes(family=AF[family])):
            if _table_of(msg) == table:
                self.ipr.route("del", **_route(msg, family, {})["kernel"])

    def do(self, action):
        verb, item = action
        if verb == "table_flush":
            self.touched.append((item["family"], item["table"]))  # a flush can stop half-way
        if verb == "sysctl":
            _sysctl.write_ipv4_conf(item["interface"], "rp_filter", item["value"])
        elif verb == "table_flush":
            self.flush(item["family"], item["table"])
        elif verb == "route_add":
            self.ipr.route("add", **_route_kwargs(item["family"], item["table"], item["route"], self.indexes))
        elif verb == "rule_del":
            self.ipr.rule("del", **_rule_kwargs(item))
        else:
            self.ipr.rule("add", **_rule_kwargs(item))
        self.done.append(action)

    def apply(self, actions):
        """Every action, in order; raises (action, exception) on the first
        one the kernel refuses."""
        for action in actions:
            try:
                self.do(action)
            except (IOError, OSError, _netlink.NetlinkError) as exc:
                raise _Refused(action, exc)

    def put_back(self, before_state):
        """Undo what was done, last first: rules added are deleted, rules
        deleted are added again, a table this run touched gets its routes
        of BEFORE_STATE back, rp_filter its old value. Returns the problems
        met (the rest is still put back)."""
        problems = []
        restored_tables = set()
        undo = list(self.done)
        # a table whose flush failed half-way is put back too
        flushed = [(a[1]["family"], a[1]["table"]) for a in self.done if a[0] == "table_flush"]
        undo += [("table_flush", {"family": k[0], "table": k[1]}) for k in self.touched if k not in flushed]
        for verb, item in reversed(undo):
            try:
                if verb == "sysctl":
                    _sysctl.write_ipv4_conf(item["interface"], "rp_filter", item["old"])
                elif verb == "rule_add":
                    self.ipr.rule("del", **_rule_kwargs(item))
                elif verb == "rule_del":
                    self.ipr.rule("add", **_rule_kwargs(item))
                else:
                    key = (item["family"], item["table"])
                    if key in restored_tables:
                        continue
                    restored_tables.add(key)
                    self.flush(*key)
                    for route in before_state["tables"].get(key, []):
                        self.ipr.route("add", **route["kernel"])
            except (IOError, OSError, _netlink.NetlinkError) as exc:
                problems.append("%s: %s" % (_undo_text(verb, item), _describe(exc)))
        return problems


def _undo_text(verb, item):
    if verb == "sysctl":
        return _routing.render_action(("sysctl", dict(item, value=item["old"])))
    if verb == "rule_add":
        return _routing.render_action(("rule_del", item))
    if verb == "rule_del":
        return _routing.render_action(("rule_add", item))
    return "restoring ipv%d table %d" % (item["family"], item["table"])


class _Refused(Exception):
    def __init__(self, action, exc):
        Exception.__init__(self, _describe(exc))
        self.action = action
        self.reason = _describe(exc)


# ---------------------------------------------------------------- a run


def converge(request, check_mode):
    """Read, plan, and (unless CHECK_MODE) write and verify. Returns the
    module's result; raises _routing.RoutingError for a request the host's
    state refuses (nothing changed) and Failure for a run that could not
    complete, saying what state it left. The caller holds the lock."""
    if request["routing"] is None:
        return _converge(None, request, check_mode)
    with _netlink.IPRoute() as ipr:
        return _converge(ipr, request, check_mode)


def _read(ipr, request, when):
    try:
        return read_state(ipr, request)
    except (IOError, OSError, _netlink.NetlinkError) as exc:
        raise Failure("reading the %s state failed: %s" % (when, _describe(exc)))


def _converge(ipr, request, check_mode):
    before_state = _read(ipr, request, "current")
    plan = _routing.plan(request, before_state, check_mode)
    result = dict((k, plan[k]) for k in ("changed", "before", "after", "commands", "batch",
                                         "rp_filter_persist", "pending"))
    if check_mode or not plan["actions"]:
        return result

    host = Host(ipr, before_state["interfaces"])
    failure = None
    try:
        host.apply(plan["actions"])
    except _Refused as exc:
        failure = "%s: the kernel refused it: %s" % (_routing.render_action(exc.action), exc.reason)
    if failure is None:
        now = _routing.view(request, _read(ipr, request, "written"))
        if now == plan["after"]:
            result["after"] = now
            return result
        failure = "the state read back differs from the plan: %s" % "; ".join(_routing.differences(plan["after"], now))

    if not host.done and not host.touched:
        raise Failure("%s. Nothing was changed." % failure, before=plan["before"], after=plan["before"],
                      commands=plan["commands"])
    problems = host.put_back(before_state)
    now = _routing.view(request, _read(ipr, request, "restored"))
    left = _routing.differences(plan["before"], now)
    if not left:
        outcome = "What this run changed was put back; the state read back is the state before the run."
    else:
        outcome = "Putting back what this run changed %s; the state read back differs from the state before " \
                  "the run: %s." % ("failed (%s)" % "; ".join(problems) if problems else "was incomplete",
                                    "; ".join(left))
    raise Failure("%s. %s" % (failure, outcome), before=plan["before"], after=now, commands=plan["commands"],
                  restored=not left)
