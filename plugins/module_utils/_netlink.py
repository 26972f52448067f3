# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the MPTCP path-manager netlink client (generic netlink family
``mptcp_pm``) and interface address lookup, both over pyroute2.

The message class is our own rather than pyroute2's ``MPTCP`` wrapper: it works
the same on pyroute2 0.7.x (Debian) and 0.9.x (PyPI), decodes the interface
index as an integer, and gives SET_FLAGS (command 7), which pyroute2 does not
wrap.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import socket
import sys
import traceback


def _enter_pyroute2_lean():
    """Make ``pyroute2`` importable without running its ``__init__``.

    The package's ``__init__`` loads every pyroute2 module through entry
    points (NDB and its sqlite3, the CLI, ipset, ...) after scanning the
    metadata of every installed distribution: 0.3 to 1 s on a server, several
    seconds on a small or emulated host, in every module run. These modules
    need only the netlink core. So the package is registered from its spec
    without executing it; a later ``pyroute2.NAME`` (``from pyroute2 import
    IPRoute`` by other code in the same interpreter, under a persistent
    interpreter such as Mitogen's) runs the real ``__init__`` then, once.
    Any trouble here leaves the normal import to do its work."""
    if "pyroute2" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("pyroute2")
        if spec is None or not spec.submodule_search_locations or spec.loader is None:
            return
        package = importlib.util.module_from_spec(spec)
    except (ImportError, ValueError, AttributeError):
        return

    def complete(name):
        if name.startswith("__") and name not in ("__version__", "__all__"):
            raise AttributeError(name)
        # "from pyroute2 import config" inside pyroute2: a submodule
        if importlib.util.find_spec("pyroute2." + name) is not None:
            return importlib.import_module("pyroute2." + name)
        del package.__getattr__  # anything else: the real __init__, once
        spec.loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = complete
    sys.modules["pyroute2"] = package


PYROUTE2_IMPORT_ERROR = None
try:
    _enter_pyroute2_lean()
    from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, genlmsg, nla
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.generic import GenericNetlinkSocket
except ImportError:  # handled by the modules with missing_required_lib()
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()
    genlmsg = nla = object
    NetlinkError = OSError


def IPRoute(*args, **kwargs):  # noqa: N802 (stands for pyroute2's class)
    """pyroute2's IPRoute, imported on first use: endpoints and limits need
    only the generic netlink core."""
    from pyroute2.iproute.linux import IPRoute as iproute_class
    return iproute_class(*args, **kwargs)


GENL_NAME = "mptcp_pm"
CMD_ADD_ADDR = 1
CMD_DEL_ADDR = 2
CMD_GET_ADDR = 3
CMD_SET_LIMITS = 5
CMD_GET_LIMITS = 6
CMD_SET_FLAGS = 7

FLAG_BITS = (
    ("signal", 0x01),
    ("subflow", 0x02),
    ("backup", 0x04),
    ("fullmesh", 0x08),
    ("implicit", 0x10),
    ("laminar", 0x20),
)


def flags_to_names(value):
    return sorted(name for name, bit in FLAG_BITS if value & bit)


def names_to_flags(names):
    bits = dict(FLAG_BITS)
    value = 0
    for name in names:
        value |= bits[name]
    return value


class _MptcpMsg(genlmsg):
    prefix = "MPTCP_PM_ATTR_"
    nla_map = (
        ("MPTCP_PM_ATTR_UNSPEC", "none"),
        ("MPTCP_PM_ATTR_ADDR", "pm_addr"),
        ("MPTCP_PM_ATTR_RCV_ADD_ADDRS", "uint32"),
        ("MPTCP_PM_ATTR_SUBFLOWS", "uint32"),
    )

    class pm_addr(nla):
        prefix = "MPTCP_PM_ADDR_ATTR_"
        nla_map = (
            ("MPTCP_PM_ADDR_ATTR_UNSPEC", "none"),
            ("MPTCP_PM_ADDR_ATTR_FAMILY", "uint16"),
            ("MPTCP_PM_ADDR_ATTR_ID", "uint8"),
            ("MPTCP_PM_ADDR_ATTR_ADDR4", "ip4addr"),
            ("MPTCP_PM_ADDR_ATTR_ADDR6", "ip6addr"),
            ("MPTCP_PM_ADDR_ATTR_PORT", "uint16"),
            ("MPTCP_PM_ADDR_ATTR_FLAGS", "uint32"),
            ("MPTCP_PM_ADDR_ATTR_IF_IDX", "int32"),
        )


class MptcpNetlinkError(Exception):
    pass


def _ifname(index):
    if not index:
        return None
    try:
        return socket.if_indextoname(index)
    except OSError:
        return "if%d" % index  # the interface is gone: the endpoint's dev is stale


def _family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


class MptcpClient(object):
    """Endpoints and limits of the current network namespace."""

    def __init__(self):
        self._sock = GenericNetlinkSocket(ext_ack=True)
        try:
            self._sock.bind(GENL_NAME, _MptcpMsg)
        except Exception as exc:
            self._sock.close()
            raise MptcpNetlinkError(
                "the kernel has no MPTCP path manager netlink family (%s): "
                "MPTCP needs Linux >= 5.6 built with CONFIG_MPTCP" % exc
            )

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, cmd, attrs, flags=None):
        """Every write asks for an acknowledgement; reads pass their own flags."""
        msg = _MptcpMsg()
        msg["cmd"] = cmd
        msg["version"] = 1
        msg["attrs"] = attrs
        flags = NLM_F_REQUEST | NLM_F_ACK if flags is None else flags
        return list(self._sock.nlm_request(msg, msg_type=self._sock.prid, msg_flags=flags))

    @staticmethod
    def _addr_attr(endpoint, with_flags=True):
        attrs = []
        address = endpoint.get("address")
        if address:
            family = _family(address)
            attrs.append(("MPTCP_PM_ADDR_ATTR_FAMILY", family))
            key = "MPTCP_PM_ADDR_ATTR_ADDR6" if family == socket.AF_INET6 else "MPTCP_PM_ADDR_ATTR_ADDR4"
            attrs.append((key, address))
        if endpoint.get("id"):
            attrs.append(("MPTCP_PM_ADDR_ATTR_ID", endpoint["id"]))
        if endpoint.get("port"):
            attrs.append(("MPTCP_PM_ADDR_ATTR_PORT", endpoint["port"]))
        if with_flags:
            attrs.append(("MPTCP_PM_ADDR_ATTR_FLAGS", names_to_flags(endpoint.get("flags") or ())))
        if endpoint.get("ifindex"):
            attrs.append(("MPTCP_PM_ADDR_ATTR_IF_IDX", endpoint["ifindex"]))
        return [("MPTCP_PM_ATTR_ADDR", {"attrs": attrs}, 0x8000)]  # NLA_F_NESTED

    def endpoints(self):
        """Every endpoint, sorted by id, as plain dicts."""
        result = []
        for msg in self._request(CMD_GET_ADDR, [], NLM_F_REQUEST | NLM_F_DUMP):
            addr = msg.get_attr("MPTCP_PM_ATTR_ADDR")
            if addr is None:
                continue
            address = addr.get_attr("MPTCP_PM_ADDR_ATTR_ADDR4") or addr.get_attr("MPTCP_PM_ADDR_ATTR_ADDR6")
            ifindex = addr.get_attr("MPTCP_PM_ADDR_ATTR_IF_IDX") or 0
            result.append({
                "id": addr.get_attr("MPTCP_PM_ADDR_ATTR_ID"),
                "address": address,
                "port": addr.get_attr("MPTCP_PM_ADDR_ATTR_PORT") or None,
                "flags": flags_to_names(addr.get_attr("MPTCP_PM_ADDR_ATTR_FLAGS") or 0),
                "dev": _ifname(ifindex),
                "ifindex": ifindex or None,
            })
        return sorted(result, key=lambda e: e["id"])

    def add(self, endpoint):
        self._request(CMD_ADD_ADDR, self._addr_attr(endpoint))

    def delete(self, endpoint):
        self._request(CMD_DEL_ADDR, self._addr_attr({"id": endpoint["id"], "address": endpoint.get("address")}, with_flags=False))

    def set_flags(self, endpoint):
        """By id alone, as ``ip mptcp endpoint change id N`` does: given an
        address, the kernel looks the endpoint up by address *and* port, so
        the port would have to be sent too; the id is unique on its own."""
        attrs = self._addr_attr({"id": endpoint["id"], "flags": endpoint["flags"]})
        self._request(CMD_SET_FLAGS, attrs)

    def limits(self):
        msg = self._request(CMD_GET_LIMITS, [], NLM_F_REQUEST)[0]
        return {
            "subflows": msg.get_attr("MPTCP_PM_ATTR_SUBFLOWS"),
            "add_addr_accepted": msg.get_attr("MPTCP_PM_ATTR_RCV_ADD_ADDRS"),
        }

    def set_limits(self, subflows, add_addr_accepted):
        self._request(CMD_SET_LIMITS, [
            ("MPTCP_PM_ATTR_RCV_ADD_ADDRS", add_addr_accepted),
            ("MPTCP_PM_ATTR_SUBFLOWS", subflows),
        ])


def interfaces():
    """{ifname: {"index": n, "addresses": [{"address", "prefixlen", "scope",
    "family", "dadfailed"}]}} for the current network namespace."""
    result = {}
    with IPRoute() as ipr:
        for link in ipr.get_links():
            result[link.get_attr("IFLA_IFNAME")] = {"index": link["index"], "addresses": []}
        by_index = dict((v["index"], v) for v in result.values())
        for msg in ipr.get_addr():
            iface = by_index.get(msg["index"])
            if iface is None:
                continue
            address = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
            flags = msg.get_attr("IFA_FLAGS") or msg["flags"]
            iface["addresses"].append({
                "address": address,
                "prefixlen": msg["prefixlen"],
                "scope": msg["scope"],
                "family": "ipv6" if msg["family"] == socket.AF_INET6 else "ipv4",
                "dadfailed": bool(flags & 0x08),  # IFA_F_DADFAILED
            })
    return result


def endpoints_and_limits():
    """(endpoints, limits) of the current network namespace, as MptcpClient
    reads them; (None, None) when the kernel has no MPTCP path manager
    netlink family (no MPTCP). Needs pyroute2."""
    try:
        with MptcpClient() as client:
            return client.endpoints(), client.limits()
    except MptcpNetlinkError:
        return None, None


def describe_error(exc):
    """The kernel's own words for a refused request (its extended ack when it gave one)."""
    if isinstance(exc, NetlinkError):
        code = abs(exc.code)
        text = exc.args[1] if len(exc.args) > 1 else ""
        plain = os.strerror(code)
        if text and text != plain:
            return "%s (%s)" % (text, plain)
        return plain
    return str(exc)


class ApplyError(Exception):
    def __init__(self, action, reason):
        Exception.__init__(self, reason)
        self.action = action
        self.reason = reason


def apply_actions(client, actions, ifindexes, sent=None):
    """Send each planned action, in order. ``ifindexes`` maps interface names
    to indexes for endpoints bound to a device. Each action is appended to
    ``sent`` (a list) as it is sent, the refused one included. Raises
    ApplyError naming the action the kernel refused; the ones before it
    were accepted."""
    for verb, endpoint in actions:
        if sent is not None:
            sent.append((verb, endpoint))
        try:
            if verb == "delete":
                client.delete(endpoint)
            elif verb == "set_flags":
                client.set_flags(endpoint)
            else:
                client.add(dict(endpoint, ifindex=ifindexes.get(endpoint.get("dev"))))
        except NetlinkError as exc:
            raise ApplyError((verb, endpoint), describe_error(exc))


def apply_each(client, actions, ifindexes, sent):
    """Send every action even when the kernel refuses some (to undo as much
    as can be undone); returns the ApplyErrors of the refused ones."""
    refused = []
    for action in actions:
        try:
            apply_actions(client, [action], ifindexes, sent)
        except ApplyError as exc:
            refused.append(exc)
    return refused


def require_pyroute2(module):
    # Imported here: the follow service (_follow) runs this module on a host
    # without Ansible.
    from ansible.module_utils.basic import missing_required_lib

    if PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(
            msg=missing_required_lib(
                "pyroute2",
                reason="to talk to the kernel's MPTCP path manager over netlink "
                "(Debian/Ubuntu: python3-pyroute2)",
            ),
            exception=PYROUTE2_IMPORT_ERROR,
        )


def mptcp_client(module):
    """An open netlink client, or a clear failure."""
    require_pyroute2(module)
    try:
        return MptcpClient()
    except MptcpNetlinkError as exc:
        module.fail_json(msg=str(exc))
