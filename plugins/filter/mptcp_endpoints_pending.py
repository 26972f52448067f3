# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcp_endpoints_pending
short_description: Whether mptcp_endpoints would change anything, planned on the controller from mptcp_info's read
version_added: 1.1.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Plans the options of M(mptcp.linux.mptcp_endpoints) on the controller
    against the endpoints and interfaces that M(mptcp.linux.mptcp_info)
    read (with O(mptcp.linux.mptcp_info#module:interfaces)), with the
    module's own code. The options are validated with the module's argument
    spec and its C(validate()), then C(expand()) and C(plan()) of its
    module_utils run on them, as the module runs them before it changes
    anything.
  - It returns RV(_value.planned) true only when that planning ran to its
    end with every input present and found no problem; then
    RV(_value.commands) and RV(_value.after) are the module's own plan.
    Anything else is not planned, so that the module itself runs and says
    what is wrong, for any problem with the options or with the interfaces (a
    missing interface, an address it does not hold, clashing ids, a kernel
    rule), a read without endpoints (pyroute2 missing on the host), without
    limits (the kernel's MPTCP path manager did not answer) or without
    interfaces, data of an unexpected shape, a state the module does not
    plan (gathered, rendered, parsed).
  - RV(_value.pending) is false only when the plan has nothing to do.
  - The mptcp role skips the check-mode run of M(mptcp.linux.mptcp_endpoints)
    on a host where the plan is made, one module execution less, and sets
    the endpoints only where it has commands.
  - Why the skip is safe. Before planning, the module checks its options
    (the argument spec and C(validate()), run here alike), needs pyroute2
    and the kernel's C(mptcp_pm) netlink family (the read gave endpoints
    and limits through the same client), and reads the endpoints and the
    interfaces (the read gives them, as the same functions return them).
    C(expand()) checks every O(mptcp.linux.mptcp_endpoints#module:config[].dev)
    and address against those interfaces, C(plan()) checks the kernel's
    rules (flags, ports, ids, at most 8 endpoints) on the result. The
    module checks nothing else against the live kernel before it writes.
    Whether the kernel supports a flag (such as V(laminar), Linux 6.18) it
    learns only by reading back what it wrote, and a port in use or an
    address gone it learns from the kernel's refusal, which a dry run cannot
    foresee either. The module run that sets the endpoints then puts back
    what it changed, and the role what its earlier steps changed.
  - A host that changes between the read and the rest of the play is
    planned as read. The dry run would have planned from its own read just
    the same, and the run that sets the endpoints plans again under its
    lock.
options:
  _input:
    description: The O(mptcp.linux.mptcp_endpoints#module:config) list.
    type: list
    elements: dict
    required: true
  info:
    description:
      - The result of M(mptcp.linux.mptcp_info) run with
        O(mptcp.linux.mptcp_info#module:interfaces) in the same network
        namespace. Its RV(mptcp.linux.mptcp_info#module:endpoints),
        RV(mptcp.linux.mptcp_info#module:limits) and
        RV(mptcp.linux.mptcp_info#module:interfaces) are read.
    type: dict
    required: true
  state:
    description: The O(mptcp.linux.mptcp_endpoints#module:state).
    type: str
    default: merged
  empty_interfaces:
    description: The O(mptcp.linux.mptcp_endpoints#module:empty_interfaces).
    type: str
    default: fail
"""

EXAMPLES = r"""
- name: Read the endpoints and interfaces
  mptcp.linux.mptcp_info:
    connections: false
    interfaces: true
  register: info

# pending: the plan has something to do, or the controller could not plan
# and the module will say why
- name: Set the endpoints unless the controller knows there is nothing to do
  mptcp.linux.mptcp_endpoints:
    state: overridden
    config: "{{ wanted }}"
  when: plan.pending
  vars:
    wanted: [{dev: eth1, flags: [subflow]}]
    plan: "{{ wanted | mptcp.linux.mptcp_endpoints_pending(info, 'overridden') }}"
"""

RETURN = r"""
_value:
  description: The outcome of the planning.
  type: dict
  contains:
    planned:
      description:
        - True when the planning ran with every input present and found no
          problem (see the description); RV(_value.commands) and
          RV(_value.after) are then the module's plan.
      type: bool
    pending:
      description:
        - False when the planning found nothing to do, with every input
          present; true otherwise.
      type: bool
    reason:
      description: Why RV(_value.pending) is true (the planner's message, the
        commands it would send, or the missing input); empty when false.
      type: str
    commands:
      description: The C(ip mptcp) commands the module would send, as its
        RV(mptcp.linux.mptcp_endpoints#module:commands); empty when it has
        nothing to do or RV(_value.planned) is false.
      type: list
      elements: str
    after:
      description: The endpoints the plan predicts, as the module's check-mode
        RV(mptcp.linux.mptcp_endpoints#module:after); null when
        RV(_value.planned) is false.
      type: list
      elements: dict
"""

from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

# The states for which the module plans before it changes anything.
PLANNED_STATES = ("merged", "replaced", "overridden", "deleted")


class _Doubt(Exception):
    """An input the planning cannot trust: not planned."""


def _text(value, what):
    if not isinstance(value, str):
        raise _Doubt("%s is %r, not text" % (what, value))
    return value


def _number(value, what, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Doubt("%s is %r, not a number" % (what, value))
    return value


def _endpoint(raw, index):
    """One endpoint of mptcp_info's read, as the module's client gives it."""
    from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints
    what = "endpoints[%d]" % index
    if not isinstance(raw, dict):
        raise _Doubt("%s is not an endpoint" % what)
    flags = raw.get("flags")
    if not isinstance(flags, list) or any(f not in _endpoints.FLAGS + ("implicit",) for f in flags):
        raise _Doubt("%s.flags %r are not flags the module knows" % (what, flags))
    dev = raw.get("dev")
    return {
        "id": _number(raw.get("id"), what + ".id"),
        "address": _text(raw.get("address"), what + ".address"),
        "port": _number(raw.get("port"), what + ".port", optional=True),
        "dev": None if dev is None else _text(dev, what + ".dev"),
        "flags": sorted(_text(f, what + ".flags") for f in flags),
    }


def _interfaces(raw):
    """mptcp_info's interfaces, as _netlink.interfaces() gives them."""
    if not isinstance(raw, dict):
        raise _Doubt("the read's interfaces are not a mapping")
    result = {}
    for name, iface in raw.items():
        what = "interfaces[%r]" % name
        if not isinstance(iface, dict) or not isinstance(iface.get("addresses"), list):
            raise _Doubt("%s has no list of addresses" % what)
        addresses = []
        for addr in iface["addresses"]:
            if not isinstance(addr, dict) or addr.get("family") not in ("ipv4", "ipv6") \
                    or not isinstance(addr.get("dadfailed"), bool):
                raise _Doubt("%s has an address of an unexpected shape: %r" % (what, addr))
            addresses.append({"address": _text(addr.get("address"), what + ".address"),
                              "prefixlen": _number(addr.get("prefixlen"), what + ".prefixlen"),
                              "scope": _number(addr.get("scope"), what + ".scope"),
                              "family": addr["family"], "dadfailed": addr["dadfailed"]})
        index = _number(iface.get("index"), what + ".index")
        result[_text(name, "an interface name")] = {"index": index, "addresses": addresses}
    return result


def _plain(value):
    """VALUE as plain dicts and lists. Walking Ansible's lazily templated
    containers renders them; the argument spec's validation deep-copies what
    it is given, and a deep copy of a lazy container costs a tenth of a second
    or more in every worker process."""
    if isinstance(value, Mapping):
        return dict((key, _plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _options(config, state, empty_interfaces):
    """The options as the module's argument spec leaves them, or _Doubt
    with its messages."""
    from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints
    checked = ArgumentSpecValidator(_endpoints.argument_spec()).validate(
        _plain({"config": config, "state": state, "empty_interfaces": empty_interfaces}))
    if checked.error_messages:
        raise _Doubt("; ".join(checked.error_messages))
    params = checked.validated_parameters
    if params["state"] not in PLANNED_STATES:
        raise _Doubt("state=%s is not planned" % params["state"])
    return params


def _unplanned(reason):
    return {"pending": True, "planned": False, "reason": reason, "commands": [], "after": None}


def mptcp_endpoints_pending(config, info, state="merged", empty_interfaces="fail"):
    from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints
    if not isinstance(info, dict):
        return _unplanned("no read of the host (mptcp.linux.mptcp_info) to plan from")
    if info.get("endpoints") is None:
        return _unplanned("the read has no endpoints (pyroute2 missing on the host?)")
    if not info.get("limits"):
        return _unplanned("the read has no limits: the kernel's MPTCP path manager did not answer")
    if info.get("interfaces") is None:
        return _unplanned("the read has no interfaces (mptcp.linux.mptcp_info interfaces: true)")
    try:
        params = _options(config, state, empty_interfaces)
        current = [_endpoint(e, i) for i, e in enumerate(info["endpoints"])]
        interfaces = _interfaces(info["interfaces"])
        entries = _endpoints.validate(params["config"], params["state"])
        # the module reads the interfaces only when it has something to resolve
        actions, after = _endpoints.plan_request(entries, current, interfaces if entries or current else {},
                                                 params["state"], params["empty_interfaces"])
    except (_Doubt, _endpoints.EndpointError) as exc:
        return _unplanned(str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return _unplanned("the planning failed on the read: %r" % exc)
    after = [_endpoints.public(e) for e in after]
    commands = [_endpoints.render_action(a) for a in actions]
    reason = "the endpoints differ: %s" % "; ".join(commands) if commands else ""
    return {"pending": bool(commands), "planned": True, "reason": reason, "commands": commands, "after": after}


class FilterModule(object):
    def filters(self):
        return {"mptcp_endpoints_pending": mptcp_endpoints_pending}
