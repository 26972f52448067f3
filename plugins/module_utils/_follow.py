# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the ``follow`` endpoint manager, a service that keeps the
endpoints made from interfaces in step with their addresses.

The mptcp role (``mptcp_endpoint_manager: follow``) copies this file and
the module_utils it imports to the host and runs it as
``python3 -m ansible_collections.mptcp.linux.plugins.module_utils._follow
CONFIG``. It needs pyroute2, not Ansible.

The desired state is the ``config`` list of mptcp.linux.mptcp_endpoints, in
one JSON file the role writes. An entry that gives ``dev`` without
``address`` is followed: every usable address of that interface is an
endpoint with the entry's flags. Every other entry is explicit.

At start the service applies the whole config with its ``state``, as
mptcp_endpoints would (the boot restore of these endpoints; while an
interface an explicit entry names is missing, it follows the interfaces and
tries the whole config again at each change). Then it sleeps
on a netlink socket bound to the link and address groups. An event, and the
ones that follow it within ``debounce`` seconds, lead to one pass: under the
namespace's MPTCP lock, read the endpoints and interfaces, plan with
_endpoints.plan() and apply the difference. In such a pass every endpoint
that is not one of a followed interface is handed to the planner as it is,
so it can neither be deleted nor changed. Each change is logged in one line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import select
import signal
import socket
import sys
import time

from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints, _lock

STATES = ("merged", "replaced", "overridden")
DEFAULT_DEBOUNCE = 0.3
MAX_DEBOUNCE = 10
DEFAULT_CONFIG = "/etc/mptcp/follow.json"
_KEYS = ("config", "state", "debounce", "lock_timeout")
# What the role installs on the host: this file and the module_utils it imports.
SHIPPED = ("_follow.py", "_endpoints.py", "_lock.py", "_netlink.py", "_quote.py")


class FollowError(Exception):
    """A config the service cannot follow; the message names every problem."""


class Settings(object):
    def __init__(self, explicit, followed, state, debounce, lock_timeout):
        self.explicit = explicit
        self.followed = followed
        self.state = state
        self.debounce = debounce
        self.lock_timeout = lock_timeout

    @property
    def followed_devs(self):
        return sorted(set(entry["dev"] for entry in self.followed))


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_KIND_NAMES = {str: "text", int: "a whole number", list: "a list of flags"}
_TYPES = {"address": str, "dev": str, "family": str, "id": int, "port": int, "flags": list}


def _of_kind(value, kind):
    """Whether VALUE is a KIND (a bool is no number; a list holds text only)."""
    if not isinstance(value, kind) or isinstance(value, bool):
        return False
    return kind is not list or all(isinstance(flag, str) for flag in value)


def _typed(item, index, problems, where):
    """ITEM with its numbers as numbers (Ansible writes "5" where a
    variable held a string), each field of the type validate() takes."""
    result = {}
    for name, value in item.items():
        kind = _TYPES.get(name)
        if kind is int and isinstance(value, str) and value.isdigit():
            value = int(value)
        if kind is None:
            problems.append("%s: config[%d]: unknown key %r" % (where, index, name))
        elif value is not None and not _of_kind(value, kind):
            problems.append("%s: config[%d].%s: %r is not %s" % (where, index, name, value, _KIND_NAMES[kind]))
            continue
        result[name] = value
    return result


def load(text, where=DEFAULT_CONFIG):
    """Settings from the JSON text of the config file, or FollowError naming
    each problem (prefixed with WHERE)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FollowError("%s: not JSON (%s)" % (where, exc))
    if not isinstance(data, dict):
        raise FollowError("%s: not a JSON object" % where)
    problems = ["%s: unknown key %r (known: %s)" % (where, k, ", ".join(_KEYS)) for k in sorted(data) if k not in _KEYS]
    state = data.get("state", "overridden")
    if state not in STATES:
        problems.append("%s: state must be one of %s, not %r" % (where, ", ".join(STATES), state))
    debounce = data.get("debounce", DEFAULT_DEBOUNCE)
    if not _number(debounce) or not 0 <= debounce <= MAX_DEBOUNCE:
        problems.append("%s: debounce must be 0 to %d seconds, not %r" % (where, MAX_DEBOUNCE, debounce))
    lock_timeout = data.get("lock_timeout", _lock.DEFAULT_TIMEOUT)
    if not isinstance(lock_timeout, int) or isinstance(lock_timeout, bool) or lock_timeout < 0:
        problems.append("%s: lock_timeout must be a whole number of seconds, not %r" % (where, lock_timeout))
    config = data.get("config")
    entries = []
    if not isinstance(config, list) or not all(isinstance(item, dict) for item in config):
        problems.append("%s: config must be a list of endpoints (the config of mptcp.linux.mptcp_endpoints)" % where)
    elif state in STATES:
        try:
            entries = _endpoints.validate([_typed(item, index, problems, where) for index, item in enumerate(config)], state)
        except _endpoints.EndpointError as exc:
            problems.extend("%s: %s" % (where, problem) for problem in exc.problems)
    followed = [e for e in entries if e["address"] is None]
    for entry in followed:
        if entry["id"] is not None:
            problems.append("%s: config[%d].id: a followed interface (dev without address) may have any number "
                            "of addresses; leave the id to the kernel" % (where, entry["index"]))
    if entries and not followed:
        problems.append("%s: config has no entry to follow (dev without address)" % where)
    if problems:
        raise FollowError("; ".join(problems))
    explicit = [e for e in entries if e["address"] is not None]
    return Settings(explicit, followed, state, float(debounce), lock_timeout)


def followed_endpoints(settings, interfaces):
    """The endpoints the followed entries make from INTERFACES: one per
    usable address of each followed interface that exists. An address that
    an explicit entry gives stays the explicit entry's."""
    present = [e for e in settings.followed if e["dev"] in interfaces]
    explicit = set(_endpoints.key(e) for e in settings.explicit)
    return [e for e in _endpoints.expand(present, interfaces, "merged", empty="skip") if _endpoints.key(e) not in explicit]


def owned(endpoint, settings, ifindexes):
    """Whether a kernel endpoint is the follow manager's: bound to a
    followed interface (by name, or by an index that interface had, once it
    is gone), not implicit and not one an explicit entry gives."""
    if "implicit" in endpoint["flags"]:
        return False
    if _endpoints.key(endpoint) in set(_endpoints.key(e) for e in settings.explicit):
        return False
    return endpoint.get("dev") in settings.followed_devs or (endpoint.get("ifindex") or 0) in ifindexes


def _as_entry(endpoint, index):
    """A kernel endpoint as a config entry that asks for it exactly as it is."""
    return {"index": index, "address": endpoint["address"], "port": endpoint.get("port"), "id": endpoint["id"],
            "dev": endpoint.get("dev"), "flags": list(endpoint["flags"])}


def plan_start(settings, current, interfaces):
    """(actions, after): the whole config with its state, as mptcp_endpoints
    plans it. Raises EndpointError."""
    explicit = _endpoints.expand(settings.explicit, interfaces, settings.state)
    return _endpoints.plan(current, explicit + followed_endpoints(settings, interfaces), settings.state)


def plan_event(settings, current, interfaces, ifindexes):
    """(actions, after) after an address or link change: the followed
    endpoints made to match the interfaces' addresses; every other endpoint
    is asked for as the kernel has it, so no action touches it. Raises
    EndpointError when the result breaks a kernel rule."""
    kept = [_as_entry(e, -1 - i) for i, e in enumerate(current)
            if "implicit" not in e["flags"] and not owned(e, settings, ifindexes)]
    actions, after = _endpoints.plan(current, kept + followed_endpoints(settings, interfaces), "overridden")
    kept_keys = set(_endpoints.key(e) for e in kept)
    touched = [a for a in actions if _endpoints.key(a[1]) in kept_keys]
    if touched:  # the planner's contract, checked: nothing but followed endpoints changes
        raise AssertionError("the plan touches endpoints it does not own: %r" % touched)
    return actions, after


def _holds(interfaces, dev, address):
    iface = interfaces.get(dev)
    return iface is not None and any(a["address"] == address for a in iface["addresses"])


def reasons(actions, before_interfaces, interfaces, start=False):
    """Why each action is taken, in words, in the order of ACTIONS."""
    deleted = set(_endpoints.key(e) for verb, e in actions if verb == "delete")
    added = set(_endpoints.key(e) for verb, e in actions if verb == "add")
    result = []
    for verb, endpoint in actions:
        ident, dev = _endpoints.key(endpoint), endpoint.get("dev")
        if verb == "set_flags" or (ident in deleted and ident in added):
            result.append("configured flags")
        elif start:
            result.append("at start" if verb == "add" else "not in the config")
        elif verb == "add":
            result.append("interface appeared" if dev not in before_interfaces else "address appeared")
        elif dev not in interfaces:
            result.append("interface vanished")
        elif not _holds(interfaces, dev, endpoint["address"]):
            result.append("address vanished")
        else:
            result.append("no longer followed")
    return result


def log_line(verb, endpoint, reason):
    """One line: ``added 10.1.2.3 id 5 subflow dev eth1 (address appeared)``."""
    words = [{"add": "added", "delete": "removed", "set_flags": "changed"}[verb], endpoint["address"]]
    if endpoint.get("port"):
        words += ["port", str(endpoint["port"])]
    if endpoint.get("id") is not None:
        words += ["id", str(endpoint["id"])]
    words += list(endpoint.get("flags") or []) or ["noflags"]
    if endpoint.get("dev"):
        words += ["dev", endpoint["dev"]]
    return "%s (%s)" % (" ".join(words), reason)


class Follower(object):
    """One namespace's follow manager: CLIENT is an _netlink.MptcpClient,
    READ_INTERFACES returns _netlink.interfaces(), LOG takes one line."""

    def __init__(self, settings, client, read_interfaces, apply_actions, log):
        self.settings = settings
        self.client = client
        self.read_interfaces = read_interfaces
        self.apply_actions = apply_actions
        self.log = log
        self.ifindexes = set()
        self.interfaces = {}
        self.start_pending = True
        self.start_problem = None

    def sync(self):
        """One pass under the namespace lock; returns the actions taken.

        Until the whole config has been applied once (the start, which sets
        the explicit endpoints too), each pass tries that first: at boot an
        interface an explicit entry names may not be there yet."""
        with _lock.NetnsLock("mptcp.linux follow service (pid %d)" % os.getpid(), self.settings.lock_timeout):
            current = self.client.endpoints()
            interfaces = self.read_interfaces()
            self.ifindexes.update(interfaces[dev]["index"] for dev in self.settings.followed_devs if dev in interfaces)
            actions, start = None, self.start_pending
            if start:
                try:
                    actions, dummy = plan_start(self.settings, current, interfaces)
                except _endpoints.EndpointError as exc:
                    message = "cannot apply the whole config yet: %s; following the interfaces, and trying again at the next change" % exc
                    if message != self.start_problem:
                        self.log(message)
                    self.start_problem, start = message, False
            try:
                if actions is None:
                    actions, dummy = plan_event(self.settings, current, interfaces, self.ifindexes)
            except _endpoints.EndpointError as exc:
                self.log("cannot follow: %s; the endpoints stay as they are" % exc)
                self.interfaces = interfaces
                return []
            why = reasons(actions, self.interfaces, interfaces, start)
            ifindexes = dict((name, iface["index"]) for name, iface in interfaces.items())
            for endpoint in current:
                if endpoint.get("dev") and endpoint.get("ifindex"):
                    ifindexes.setdefault(endpoint["dev"], endpoint["ifindex"])
            sent = []
            refused = None
            try:
                self.apply_actions(self.client, actions, ifindexes, sent)
            except Exception as exc:  # the kernel refused one: report, the next event retries
                refused = exc
            done = sent[:-1] if refused is not None else sent
            if start and refused is None:
                self.start_pending = False
            read_back = dict((_endpoints.key(e), e) for e in self.client.endpoints()) if done else {}
            # a gone interface's endpoints show "ifN": name it as it was
            old_names = dict((iface["index"], name) for name, iface in self.interfaces.items())
            by_key = dict((_endpoints.key(e), e) for e in current)
            for action, reason in zip(done, why):
                verb, endpoint = action
                if verb != "delete":
                    endpoint = read_back.get(_endpoints.key(endpoint), endpoint)
                elif endpoint.get("dev") not in interfaces:
                    was = old_names.get(by_key.get(_endpoints.key(endpoint), {}).get("ifindex"))
                    endpoint = dict(endpoint, dev=was or endpoint.get("dev"))
                self.log(log_line(verb, endpoint, reason))
            if refused is not None:
                self.log("the kernel refused %s: %s; the next address or link change retries"
                         % (_endpoints.render_action(sent[-1]), getattr(refused, "reason", refused)))
            self.interfaces = interfaces
            return done


def _notify(state):
    """sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.connect(path)
        sock.sendall(state.encode("ascii"))
    except OSError:
        pass
    finally:
        sock.close()


def _drain(ipr):
    """Read what the socket holds; an overrun (ENOBUFS) only means that
    events were lost, and a pass reads the whole state anyway."""
    try:
        ipr.get()
    except OSError:
        pass
    except Exception as exc:  # pyroute2's NetlinkError for ENOBUFS on some versions
        if getattr(exc, "code", None) not in (105, -105):
            raise


MAX_WAIT = 1.0


def wait_for_change(ipr, debounce):
    """Block on the socket until an event, then until DEBOUNCE seconds pass
    without one, but no longer than MAX_WAIT (or DEBOUNCE, when longer)
    after the first: a steady stream of events must not starve the passes."""
    select.select([ipr], [], [])
    deadline = time.monotonic() + max(MAX_WAIT, debounce)
    _drain(ipr)
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([ipr], [], [], min(debounce, left))[0]:
            return
        _drain(ipr)


class _Stopped(Exception):
    """SIGTERM: systemd stops the service."""


def _stop(signum, frame):
    raise _Stopped()


def _log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) > 1 or argv[:1] in (["-h"], ["--help"]):
        sys.stderr.write("usage: python3 -m ansible_collections.mptcp.linux.plugins.module_utils._follow [CONFIG]\n"
                         "Keeps the MPTCP endpoints of followed interfaces in step with their addresses "
                         "(default CONFIG: %s).\n" % DEFAULT_CONFIG)
        return 2
    path = argv[0] if argv else DEFAULT_CONFIG
    try:
        with open(path) as handle:
            settings = load(handle.read(), path)
    except (IOError, OSError) as exc:
        _log("cannot read %s: %s" % (path, exc.strerror))
        return 1
    except FollowError as exc:
        _log(str(exc))
        return 1

    from ansible_collections.mptcp.linux.plugins.module_utils import _netlink
    if _netlink.PYROUTE2_IMPORT_ERROR is not None:
        _log("pyroute2 is missing (Debian/Ubuntu: python3-pyroute2)")
        return 1
    from pyroute2.netlink.rtnl import RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK

    signal.signal(signal.SIGTERM, _stop)
    try:
        client = _netlink.MptcpClient()
    except _netlink.MptcpNetlinkError as exc:
        _log(str(exc))
        return 1
    # Subscribed before the first pass: a change during it wakes the loop.
    ipr = _netlink.IPRoute()
    ipr.bind(groups=RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
    follower = Follower(settings, client, _netlink.interfaces, _netlink.apply_actions, _log)
    _log("following %s (%s)" % (", ".join(settings.followed_devs), path))
    try:
        follower.sync()
        follower.sync()  # with state merged or replaced, the start keeps endpoints of vanished addresses
        _notify("READY=1")
        while True:
            wait_for_change(ipr, settings.debounce)
            follower.sync()
    except _lock.LockTimeout as exc:
        _log(str(exc))
        return 1
    except _Stopped:
        return 0
    finally:
        ipr.close()
        client.close()


if __name__ == "__main__":
    raise SystemExit(main())
