#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_endpoints
short_description: Manage MPTCP endpoints (ip mptcp endpoint) as a network resource
version_added: 0.1.0
description:
  - Manages the endpoints of the in-kernel MPTCP path manager, the addresses
    that C(ip mptcp endpoint) shows, over netlink (pyroute2).
  - An endpoint is identified by its address and port. Its id is compared only
    when the config gives one.
  - The whole config is validated before anything is touched. Deletions are
    applied before additions. Flag changes the kernel can make in place
    (backup, fullmesh) use its SET_FLAGS command; any other change deletes and
    re-adds the endpoint.
  - After writing, the module reads the endpoints back. A flag the kernel
    silently dropped, as kernels do with flags they do not know, is an error.
    The previous endpoints are then restored.
  - Endpoints live in kernel memory only and vanish at reboot. Use O(state=rendered)
    to produce an C(ip -batch) file that restores them at boot.
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.netns.attributes
requirements:
  - pyroute2 (0.7 or later) on the managed host
options:
  config:
    description:
      - The endpoints.
      - Each entry gives an O(config[].address), or a O(config[].dev) without
        address to use all usable addresses of that interface. Usable means
        global or site scope, not link-local, and not failed duplicate address detection.
      - With O(state=deleted), an entry may also give only an O(config[].id), and a
        dev-only entry also matches endpoints bound to that interface. An empty
        or missing config deletes every endpoint.
    type: list
    elements: dict
    suboptions:
      address:
        description:
          - IPv4 or IPv6 address of the endpoint.
        type: str
      id:
        description:
          - Endpoint id, 1 to 255. Left to the kernel when not given.
        type: int
      port:
        description:
          - Port the kernel listens on for joins to this address. Needs the V(signal) flag.
        type: int
      dev:
        description:
          - Interface the endpoint is bound to; subflows from it leave through this interface.
          - Without O(config[].address), every usable address of the interface becomes an endpoint.
          - The kernel stores the interface index, which goes stale when the interface is re-created.
        type: str
      family:
        description:
          - With a O(config[].dev) but no O(config[].address), which addresses to use.
        type: str
        choices: [all, ipv4, ipv6]
      flags:
        description:
          - V(signal) announces the address to the peer (ADD_ADDR). This is a server's flag.
          - V(subflow) opens a subflow from this address to the peer. This is a client's flag.
          - V(backup) marks subflows over this address as backup paths.
          - V(fullmesh) opens a subflow from this address to every address the
            peer announced. It cannot be combined with V(signal). Linux 5.18.
          - V(laminar) (Linux 6.18) opens subflows to announced addresses from this
            endpoint, following the routing, without the full mesh.
          - With O(state=merged), flags left out keep the endpoint's current flags.
        type: list
        elements: str
        choices: [signal, subflow, backup, fullmesh, laminar]
  state:
    description:
      - V(merged) adds the given endpoints and updates the given attributes; others are left alone.
      - V(replaced) makes each given endpoint exactly as given; others are left alone.
      - V(overridden) makes the endpoint list exactly the config; every other endpoint is deleted.
      - V(deleted) deletes the given endpoints, or all when no config is given.
        Endpoints are deleted one by one, never flushed, because C(ip mptcp endpoint flush)
        also resets the add_addr_accepted limit.
      - V(gathered) returns the current endpoints in the shape of O(config), changing nothing.
      - V(rendered) returns the config as an C(ip -batch) text without reading or changing
        the host; every entry needs an address.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered]
    default: merged
notes:
  - Endpoints flagged C(implicit) are created by the kernel for live connections;
    they are reported but never changed.
  - The kernel allows at most 8 endpoints per network namespace, ids 1 to 255,
    and one endpoint per address and port.
  - NetworkManager (connection.mptcp-flags) and mptcpd also manage endpoints.
    Let one owner manage a namespace.
seealso:
  - module: mptcp.linux.mptcp_limits
  - module: mptcp.linux.mptcp_info
  - name: ip-mptcp(8)
    description: The iproute2 manual page for MPTCP endpoints and limits.
    link: https://man7.org/linux/man-pages/man8/ip-mptcp.8.html
"""

EXAMPLES = r"""
- name: A server announces its second address to clients
  mptcp.linux.mptcp_endpoints:
    config:
      - address: 192.0.2.10
        flags: [signal]

- name: A client opens subflows from every address of its LTE and Wi-Fi interfaces
  mptcp.linux.mptcp_endpoints:
    state: overridden
    config:
      - dev: wlan0
        flags: [subflow]
      - dev: wwan0
        family: ipv4
        flags: [subflow, backup]

- name: Make the LTE path a backup without tearing the endpoint down (SET_FLAGS)
  mptcp.linux.mptcp_endpoints:
    config:
      - address: 198.51.100.7
        flags: [subflow, backup]

- name: Remove one endpoint
  mptcp.linux.mptcp_endpoints:
    state: deleted
    config:
      - address: 198.51.100.7

- name: Read the endpoints
  mptcp.linux.mptcp_endpoints:
    state: gathered
  register: mptcp_current

- name: Render a boot-time restore file (ip -batch)
  mptcp.linux.mptcp_endpoints:
    state: rendered
    config: "{{ mptcp_current.gathered }}"
  register: mptcp_batch
"""

RETURN = r"""
before:
  description: The endpoints before the change, sorted by id.
  returned: when state is not rendered
  type: list
  elements: dict
  sample: [{"id": 1, "address": "10.0.0.1", "port": null, "dev": "eth0", "flags": ["signal"]}]
after:
  description: The endpoints after the change, read back from the kernel.
    In check mode, the prediction, where an id the kernel would choose is null.
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: dict
  sample: [{"id": 1, "address": "10.0.0.1", "port": null, "dev": "eth0", "flags": ["signal", "backup"]}]
commands:
  description: The C(ip mptcp) commands equivalent to what was (or would be) done, in order.
  returned: when state is merged, replaced, overridden or deleted
  type: list
  elements: str
  sample: ["ip mptcp endpoint change id 1 backup nofullmesh"]
gathered:
  description: The current endpoints in the shape of O(config).
  returned: when state is gathered
  type: list
  elements: dict
  sample: [{"id": 1, "address": "10.0.0.1", "dev": "eth0", "flags": ["signal"]}]
rendered:
  description: An C(ip -batch) text that creates the configured endpoints.
  returned: when state is rendered
  type: str
  sample: "mptcp endpoint add 10.0.0.1 dev eth0 id 1 signal\n"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints, _netlink
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns


def _shown(endpoints):
    return [_endpoints.public(e) for e in endpoints]


def _restore(client, before, ifindexes):
    """Best effort: put the endpoints back as they were."""
    entries = [dict(e, index=i, family="all") for i, e in enumerate(before) if "implicit" not in e["flags"]]
    try:
        actions, dummy = _endpoints.plan(client.endpoints(), entries, "overridden")
        _netlink.apply_actions(client, actions, ifindexes)
    except (_endpoints.EndpointError, _netlink.ApplyError):
        return False
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type="list", elements="dict", options=dict(
                address=dict(type="str"),
                id=dict(type="int"),
                port=dict(type="int"),
                dev=dict(type="str"),
                family=dict(type="str", choices=list(_endpoints.FAMILIES)),
                flags=dict(type="list", elements="str", choices=list(_endpoints.FLAGS)),
            )),
            state=dict(type="str", default="merged", choices=list(_endpoints.STATES)),
            **NETNS_ARGUMENT
        ),
        supports_check_mode=True,
        required_if=[("state", "rendered", ("config",))],
    )
    state = module.params["state"]
    try:
        entries = _endpoints.validate(module.params["config"], state)
    except _endpoints.EndpointError as exc:
        module.fail_json(msg=str(exc))

    if state == "rendered":
        missing = ["config[%d]" % e["index"] for e in entries if e["address"] is None]
        if missing:
            module.fail_json(msg="%s: rendered needs an address in every entry; a dev-only entry "
                             "depends on the host's addresses (use gathered on the host first)" % ", ".join(missing))
        try:
            actions, dummy = _endpoints.plan([], entries, "overridden")
        except _endpoints.EndpointError as exc:
            module.fail_json(msg=str(exc))
        module.exit_json(changed=False, rendered=_endpoints.render_batch([a[1] for a in actions]))

    enter_netns(module)
    client = _netlink.mptcp_client(module)
    before = client.endpoints()
    shown_before = _shown(before)
    if state == "gathered":
        module.exit_json(changed=False, before=shown_before, gathered=_endpoints.gathered(before))

    # interface indexes: for entries bound to a dev, and to restore the endpoints on failure
    interfaces = _netlink.interfaces() if any(e["dev"] for e in entries) or before else {}
    ifindexes = dict((name, iface["index"]) for name, iface in interfaces.items())
    try:
        expanded = _endpoints.expand(entries, interfaces, state)
        actions, after = _endpoints.plan(before, expanded if entries else None, state)
    except _endpoints.EndpointError as exc:
        module.fail_json(msg=str(exc), before=shown_before)

    result = dict(
        changed=bool(actions),
        before=shown_before,
        commands=[_endpoints.render_action(a) for a in actions],
    )
    if actions and not module.check_mode:
        failure = None
        try:
            _netlink.apply_actions(client, actions, ifindexes)
        except _netlink.ApplyError as exc:
            failure = "%s: the kernel refused it: %s" % (_endpoints.render_action(exc.action), exc.reason)
        after = client.endpoints()
        if failure is None:
            problems = _endpoints.verify(after, [a[1] for a in actions if a[0] != "delete"])
            failure = "; ".join(problems) or None
        if failure is not None:
            restored = _restore(client, before, ifindexes)
            module.fail_json(
                msg="%s. %s" % (failure, "The previous endpoints were restored." if restored
                                else "Restoring the previous endpoints failed too; see before and after."),
                before=shown_before, after=_shown(client.endpoints()), commands=result["commands"],
            )
    result["after"] = _shown(after)
    if module._diff:
        result["diff"] = dict(before=dict(endpoints=shown_before), after=dict(endpoints=result["after"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
