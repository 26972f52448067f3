#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_endpoints
short_description: Manage MPTCP endpoints (ip mptcp endpoint) as a network resource
version_added: 1.0.0
description:
  - Manages the endpoints of the in-kernel MPTCP path manager, the addresses
    that C(ip mptcp endpoint) shows, over netlink (pyroute2).
  - An endpoint is identified by its address and port. Its id is compared only
    when the config gives one.
  - The whole config is validated before anything is touched. Deletions are
    applied before additions. Flag changes the kernel can make in place
    (backup, fullmesh) use its SET_FLAGS command; any other change deletes and
    re-adds the endpoint.
  - After writing, the module reads the endpoints back and compares them,
    field by field, with the plan. A flag the kernel silently dropped, as
    kernels do with flags they do not know, is an error. On any failure the
    module undoes what this run changed, reads back again and says what it
    found (see the notes).
  - Endpoints live in kernel memory only and vanish at reboot. Use O(state=rendered)
    to produce the C(ip mptcp endpoint add) commands, and an C(ip -batch) file, that
    restore them at boot.
  - O(state=parsed) reads the text of O(running_config), for example the output of
    C(ip mptcp endpoint show) taken on a host, into the structure O(state=gathered)
    returns, offline.
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.lock
  - mptcp.linux.netns.attributes
requirements:
  - pyroute2 (0.7 or later) on the managed host, except for O(state=rendered) and O(state=parsed)
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
          - Except with O(state=deleted), addresses that the kernel accepts and
            MPTCP cannot use are refused. These are loopback addresses, the limited
            broadcast address, C(0.0.0.0/8), reserved ranges, IPv4-mapped IPv6
            addresses (give the IPv4 address), and an IPv6 link-local address
            without O(config[].dev) (it needs the interface as its scope).
          - With a O(config[].port), it must be an address of this host, because the
            kernel listens on it.
        type: str
      id:
        description:
          - Endpoint id, 1 to 255. Left to the kernel when not given.
        type: int
      port:
        description:
          - Port the kernel listens on for joins to this address, 1 to 65535.
            Needs the V(signal) flag without V(subflow).
        type: int
      dev:
        description:
          - Interface the endpoint is bound to; subflows from it leave through this interface.
          - Without O(config[].address), every usable address of the interface becomes an endpoint.
          - With O(config[].address), the interface must hold that address.
          - With O(state=rendered), a name that an C(ip -batch) file cannot hold
            (one with C(#), or with both quote characters) is refused.
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
  empty_interfaces:
    description:
      - What an entry with a O(config[].dev) and no O(config[].address) does
        when that interface exists and holds no usable address (of its
        O(config[].family)).
      - V(fail) refuses the whole request, naming the entry.
      - V(skip) makes no endpoint of it, for an interface whose addresses are
        still to come, such as a DHCP lease. With O(state=overridden) the
        endpoints still bound to it are then deleted like any other endpoint
        the config does not give.
      - An interface that does not exist is an error either way.
      - Used with O(state=merged), O(state=replaced) and O(state=overridden).
    type: str
    choices: [fail, skip]
    default: fail
    version_added: 1.1.0
  limits:
    description:
      - The path manager limits to set in the same run, before the endpoints,
        as M(mptcp.linux.mptcp_limits) sets them. A limit left out is left as it is.
      - Endpoints often need them raised. The kernel default,
        O(limits.subflows=2) and O(limits.add_addr_accepted=0), makes a client
        ignore every address a server announces.
      - If the kernel then refuses an endpoint, or the endpoints read back
        otherwise than planned, the limits are put back with the endpoints.
      - Used with O(state=merged), O(state=replaced), O(state=overridden) and
        O(state=deleted); any other state refuses it.
    type: dict
    version_added: 1.1.0
    suboptions:
      subflows:
        description:
          - Maximum number of additional subflows per MPTCP connection, 0 to 8.
        type: int
      add_addr_accepted:
        description:
          - Maximum number of ADD_ADDR announcements accepted per connection, 0 to 8.
        type: int
  running_config:
    description:
      - With O(state=parsed), the text to read, required. Only O(state=parsed) takes it.
      - The output of C(ip mptcp endpoint show) (one endpoint a line, as
        iproute2 prints it, C(rawflags) included), or of C(ip -j mptcp endpoint show).
      - Or C(ip mptcp endpoint add) lines as RV(rendered) gives them, or an
        C(ip -batch) file such as RV(rendered_batch) (lines without the leading
        C(ip)). Words are split as C(ip -batch) splits them. Blank lines and
        comments are skipped, C(mptcp endpoint flush) forgets the endpoints
        before it and C(mptcp limits) lines are skipped. Any other command is refused.
      - A line that cannot be read fails the module, naming C(running_config),
        the line number (for JSON, the item) and the reason, and so does an
        endpoint (address and port) or an id given twice.
    type: str
  state:
    description:
      - V(merged) adds the given endpoints and updates the given attributes; others are left alone.
      - V(replaced) makes each given endpoint exactly as given; others are left alone.
      - V(overridden) makes the endpoint list exactly the config; every other endpoint is deleted.
      - V(deleted) deletes the given endpoints, or all when no config is given.
        Endpoints are deleted one by one, never flushed, because C(ip mptcp endpoint flush)
        also resets the add_addr_accepted limit.
      - V(gathered) returns the current endpoints in the shape of O(config), changing nothing.
      - V(rendered) returns the config as C(ip mptcp endpoint add) commands (RV(rendered))
        and as an C(ip -batch) text (RV(rendered_batch)) without reading or changing
        the host; every entry needs an address.
      - V(parsed) reads O(running_config) into the structure V(gathered) returns (RV(parsed)),
        without reading or changing the host. It needs neither root nor pyroute2.
      - With V(rendered) and V(parsed), O(netns) and O(lock_timeout) are not used.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered, rendered, parsed]
    default: merged
notes:
  - "Failure semantics: the module applies the whole request or leaves the
    endpoints as it found them, and says which."
  - "Bad input (any field of any entry, checked against the host's interfaces
    too) fails before anything is read for writing or changed, naming each
    field, for example C(config[2].port: ...)."
  - "A kernel refusal, or a read-back that differs from the plan, fails the run.
    The module then undoes only what this run changed (the endpoints it added
    are deleted, those it deleted are added back with their id, port, flags
    and interface index, flag changes are set back), reads the endpoints back
    and compares them with RV(before) field by field (id, address, port, flags,
    dev). The message says exactly one of: nothing was changed (the first
    command was refused), the previous endpoints were restored, or, endpoint
    by endpoint, what still differs. The result carries RV(before), RV(after)
    (read back) and RV(commands) (everything sent, in order)."
  - "With O(limits), the limits are set first, in one netlink request that
    the kernel applies whole or not at all. A refusal of it fails the run
    before any endpoint is touched. A later failure puts the limits back
    after the endpoints, and the message ends with what the limits read back
    as. The result then carries RV(limits_before) and RV(limits_after) too."
  - "A concurrent run on the same network namespace waits for the lock (see
    O(lock_timeout)) and then plans from what the first run left."
  - "A run killed midway (SIGKILL, a lost host) leaves the commands it had
    sent applied: some endpoints deleted, some not yet added. The kernel drops
    the lock with the process. The next run with the same request plans from
    what is there and completes it."
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

- name: A client takes the two addresses a server announces, in the same run as its endpoint
  mptcp.linux.mptcp_endpoints:
    config:
      - dev: wlan0
        flags: [subflow]
    limits:
      subflows: 4
      add_addr_accepted: 2

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

- name: Render the commands and a boot-time restore file (ip -batch)
  mptcp.linux.mptcp_endpoints:
    state: rendered
    config: "{{ mptcp_current.gathered }}"
  register: mptcp_render

- name: Write the restore file
  ansible.builtin.copy:
    content: "{{ mptcp_render.rendered_batch }}"
    dest: /etc/mptcp/endpoints.batch
    mode: "0644"

- name: Take what ip shows on a host
  ansible.builtin.command: ip mptcp endpoint show
  register: mptcp_show
  changed_when: false

- name: Read it into the structure gathered returns (offline)
  mptcp.linux.mptcp_endpoints:
    state: parsed
    running_config: "{{ mptcp_show.stdout }}"
  register: mptcp_parsed
"""

RETURN = r"""
before:
  description: The endpoints before the change, sorted by id.
  returned: when state is not rendered or parsed
  type: list
  elements: dict
  sample: [{"id": 1, "address": "10.0.0.1", "port": null, "dev": "eth0", "flags": ["signal"]}]
after:
  description: The endpoints after the change, read back from the kernel.
    In check mode, the prediction, where an id the kernel would choose is null.
    After a failure, read back once what this run changed was undone.
  returned: when state is merged, replaced, overridden or deleted, and on failure once the kernel was written
  type: list
  elements: dict
  sample: [{"id": 1, "address": "10.0.0.1", "port": null, "dev": "eth0", "flags": ["signal", "backup"]}]
limits_before:
  description: The limits before the change.
  returned: when O(limits) is given
  type: dict
  sample: {"subflows": 2, "add_addr_accepted": 0}
  version_added: 1.1.0
limits_after:
  description: The limits after the change, read back (in check mode, as they
    would be). After a failure, as read back once they were put back.
  returned: when O(limits) is given
  type: dict
  sample: {"subflows": 4, "add_addr_accepted": 2}
  version_added: 1.1.0
commands:
  description:
    - The C(ip mptcp) commands equivalent to what was (or would be) done, in order.
    - With O(limits), a C(ip mptcp limits set) command comes first when the limits change.
    - After a failure, every command that was sent, in order, the refused one
      included, followed by those that undid the accepted ones.
  returned: when state is merged, replaced, overridden or deleted, and on failure once the kernel was written
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
  description:
    - The C(ip mptcp endpoint add) commands that create the configured endpoints
      on a namespace without endpoints, those with an id first.
    - Each value is quoted as C(ip -batch) reads it (a double or single quote
      groups a word, with no escapes); a value that C(ip -batch) cannot carry
      is refused, naming the field.
  returned: when state is rendered
  type: list
  elements: str
  sample: ["ip mptcp endpoint add 10.0.0.1 dev eth0 id 1 signal"]
rendered_batch:
  description:
    - The same commands as an C(ip -batch) text, one line each without the
      leading C(ip), each ended by a line feed, for C(ip -batch FILE) at boot.
  returned: when state is rendered
  type: str
  sample: "mptcp endpoint add 10.0.0.1 dev eth0 id 1 signal\n"
parsed:
  description:
    - The endpoints O(running_config) describes, in the structure of RV(gathered),
      sorted by id (entries without an id last). Keys the text does not give are left out.
    - C(ip mptcp endpoint show) output gives the endpoints the host had when it
      was taken, C(implicit) ones included, and a stale interface as C(ifN).
  returned: when state is parsed
  type: list
  elements: dict
  sample: [{"id": 1, "address": "10.0.0.1", "dev": "eth0", "flags": ["signal"]}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints, _limits, _netlink
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns, netns_restored, lock_timeout_problem
from ansible_collections.mptcp.linux.plugins.module_utils._lock import LOCK_ARGUMENT, ModuleLock


def _shown(endpoints):
    return [_endpoints.public(e) for e in endpoints]


def _ifindexes(interfaces, before):
    """Interface name -> index, for the interfaces here and for the names
    the kernel's endpoints show (a stale binding reads "ifN"), so that an
    endpoint put back keeps the binding it had."""
    ifindexes = dict((name, iface["index"]) for name, iface in interfaces.items())
    for endpoint in before:
        if endpoint.get("dev") and endpoint.get("ifindex"):
            ifindexes.setdefault(endpoint["dev"], endpoint["ifindex"])
    return ifindexes


def _apply(module, client, actions, after, before, ifindexes, limits_set=None):
    """Send the actions, read back and compare with the plan. On any
    failure, undo what the kernel accepted (and put back the limits this run
    set before, LIMITS_SET), read back again and fail with what the
    read-back shows. Returns the endpoints read back."""
    sent = []
    failure = None
    try:
        _netlink.apply_actions(client, actions, ifindexes, sent)
        done = list(sent)
    except _netlink.ApplyError as exc:
        failure = "%s: the kernel refused it: %s" % (_endpoints.render_action(exc.action), exc.reason)
        done = sent[:-1]
    read_back = client.endpoints()
    if failure is None:
        # a flag the kernel dropped has its own explanation; anything else is a plain difference
        problems = _endpoints.verify(read_back, [a[1] for a in actions if a[0] != "delete"])
        unplanned = _endpoints.differences(after, read_back)
        if problems:
            failure = "; ".join(problems)
        elif unplanned:
            failure = "the endpoints read back are not the ones planned: %s" % "; ".join(unplanned)
    if failure is None:
        return read_back
    refused = []
    if done:
        refused = _netlink.apply_each(client, _endpoints.undo(done, before, read_back), ifindexes, sent)
        read_back = client.endpoints()
    msg = "%s. %s" % (failure, _endpoints.failure_outcome(done, refused, before, read_back, limits_set is not None))
    commands = [_endpoints.render_action(a) for a in sent]
    extra = {}
    if limits_set is not None:
        outcome, now = _limits.undo(client, limits_set["before"], limits_set["commands"])
        msg += " " + outcome
        # sent in this order: the limits, the endpoints and their undoing, the limits put back
        commands = limits_set["commands"][:1] + commands + limits_set["commands"][1:]
        extra = dict(limits_before=limits_set["before"], limits_after=now)
    module.fail_json(msg=msg, before=_shown(before), after=_shown(read_back), commands=commands, **extra)


@netns_restored
def main():
    argument_spec = _endpoints.argument_spec()
    argument_spec["running_config"] = dict(type="str")
    argument_spec["limits"] = dict(type="dict", options=dict((name, dict(type="int")) for name in _limits.NAMES))
    argument_spec.update(NETNS_ARGUMENT)
    argument_spec.update(LOCK_ARGUMENT)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "rendered", ("config",)), ("state", "parsed", ("running_config",))],
    )
    state = module.params["state"]
    problems = [p for p in [lock_timeout_problem(module)] if p]
    if state == "parsed" and module.params["config"] is not None:
        problems.append("config: state=parsed reads running_config, not config")
    if state != "parsed" and module.params["running_config"] is not None:
        problems.append("running_config: only state=parsed reads it (state=%s)" % state)
    limits_wanted = None if module.params["limits"] is None else _limits.wanted(module.params["limits"])
    if limits_wanted is not None and state in ("gathered", "rendered", "parsed"):
        problems.append("limits: state=%s sets nothing; mptcp.linux.mptcp_limits reads and sets the limits" % state)
    elif limits_wanted is not None:
        problems.extend(_limits.problems(limits_wanted, "limits."))
    try:
        entries = _endpoints.validate(module.params["config"], state)
    except _endpoints.EndpointError as exc:
        problems.extend(exc.problems)
    if problems:
        module.fail_json(msg="; ".join(problems))

    if state == "parsed":
        try:
            parsed = _endpoints.parse(module.params["running_config"])
        except _endpoints.EndpointError as exc:
            module.fail_json(msg=str(exc))
        module.exit_json(changed=False, parsed=parsed)

    if state == "rendered":
        try:
            endpoints = _endpoints.render(entries)
            result = dict(changed=False, rendered=_endpoints.render_commands(endpoints),
                          rendered_batch=_endpoints.render_batch(endpoints))
        except _endpoints.EndpointError as exc:
            module.fail_json(msg=str(exc))
        module.exit_json(**result)

    enter_netns(module)
    client = _netlink.mptcp_client(module)
    if state == "gathered":
        before = client.endpoints()
        module.exit_json(changed=False, before=_shown(before), gathered=_endpoints.gathered(before))

    with ModuleLock(module, "mptcp.linux.mptcp_endpoints state=%s" % state):
        limits = None
        if limits_wanted is not None:
            limits_before = client.limits()
            limits = dict(before=limits_before, after=dict(limits_before, **limits_wanted), commands=[])
        before = client.endpoints()
        interfaces = _netlink.interfaces() if entries or before else {}
        try:
            actions, after = _endpoints.plan_request(entries, before, interfaces, state, module.params["empty_interfaces"])
        except _endpoints.EndpointError as exc:
            module.fail_json(msg=str(exc), before=_shown(before))

        limits_changed = limits is not None and limits["after"] != limits["before"]
        result = dict(
            changed=bool(actions) or limits_changed,
            before=_shown(before),
            commands=([_limits.COMMAND % limits["after"]] if limits_changed else [])
            + [_endpoints.render_action(a) for a in actions],
        )
        if limits is not None:
            result.update(limits_before=limits["before"], limits_after=limits["after"])
        if limits_changed and not module.check_mode:
            try:
                result["limits_after"] = _limits.set_checked(client, limits["before"], limits["after"], limits["commands"])
            except _limits.LimitsError as exc:
                module.fail_json(msg="%s The endpoints were not touched." % exc.msg, before=result["before"],
                                 commands=exc.commands, limits_before=limits["before"], limits_after=exc.after)
        if actions and not module.check_mode:
            after = _apply(module, client, actions, after, before, _ifindexes(interfaces, before),
                           limits if limits_changed else None)
        result["after"] = _shown(after)
        if module._diff:
            result["diff"] = dict(before=dict(endpoints=result["before"]), after=dict(endpoints=result["after"]))
            if limits is not None:
                result["diff"]["before"]["limits"] = result["limits_before"]
                result["diff"]["after"]["limits"] = result["limits_after"]
        module.exit_json(**result)


if __name__ == "__main__":
    main()
