# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private, controller side: what the roles that write systemd units share:
unit names, the output of ``systemctl show``, the addresses of socket units
and which listener a socket has."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re


# A unit name without its suffix: no '@', no escapes, not starting with '.'
# or '-' (systemd.unit(5) allows more; these are the names the roles write).
UNIT_NAME = re.compile(r"[A-Za-z0-9:_][A-Za-z0-9:_.-]*")
# The same, or a template instance (name@instance).
UNIT_INSTANCE = re.compile(r"[A-Za-z0-9:_][A-Za-z0-9:_.-]*(?:@[A-Za-z0-9:_.-]+)?")
# systemd's limit on a whole unit name (UNIT_NAME_MAX), suffix included.
UNIT_NAME_MAX = 255
IPPROTO_MPTCP = 262
_LISTEN = re.compile(r"(?:(?P<ipv4>[0-9.]+):|\[(?P<ipv6>[0-9A-Fa-f:.]+)\]:)?(?P<port>[1-9][0-9]{0,4})")
# How `systemctl show` prints a ListenStream= socket: "[::]:22 (Stream)".
_SHOWN_STREAM = re.compile(r"(?P<address>.*):(?P<port>[0-9]+) \(Stream\)")


class ShowError(ValueError):
    pass


def text(value):
    """A value as text, for names and messages (None stays None)."""
    if value is None or isinstance(value, str):
        return value
    return u"%s" % (value,)


def strip_suffix(name, suffixes):
    """NAME without one of SUFFIXES at its end (".service" and the like)."""
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


def name_problem(name, suffix, pattern=UNIT_NAME):
    """Why NAME (without SUFFIX) is not a unit name this collection writes,
    or None."""
    if not isinstance(name, str) or not pattern.fullmatch(name):
        return "is not a unit name"
    if len(name) + len(suffix) > UNIT_NAME_MAX:
        return "is longer than systemd allows (%d characters with %s)" % (UNIT_NAME_MAX, suffix)
    return None


def parse_listen(value):
    """(address or None, port) of a ListenStream= value PORT, IPV4:PORT or
    [IPV6]:PORT; ValueError when it is none of them."""
    match = _LISTEN.fullmatch(value) if isinstance(value, str) else None
    if not match or int(match.group("port")) > 65535:
        raise ValueError("is not PORT, IPV4:PORT or [IPV6]:PORT (port 1-65535)")
    address = match.group("ipv4") or match.group("ipv6")
    if address is not None:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise ValueError("is not PORT, IPV4:PORT or [IPV6]:PORT (%s is not an IP address)" % address)
        if match.group("ipv4") and ":" in address or match.group("ipv6") and ":" not in address:
            raise ValueError("is not PORT, IPV4:PORT or [IPV6]:PORT (%s is not an IP address)" % address)
    return address, int(match.group("port"))


def show(output, units, lists=()):
    """The properties ``systemctl show --property=... -- UNIT...`` printed:
    one block of KEY=VALUE lines per unit, in the order asked, blocks
    separated by an empty line. Returns {unit: {key: value}}; the keys in
    LISTS may repeat (Listen=) and are lists, empty when absent."""
    units = [text(unit) for unit in units]
    result = dict((unit, dict((key, []) for key in lists)) for unit in units)
    if output is None:
        return result
    lines = output.split("\n") if isinstance(output, str) else list(output)
    index = 0
    for line in lines:
        if line == "":
            index += 1
            continue
        if index >= len(units):
            raise ShowError("systemctl show printed more blocks than the %d unit(s) asked for" % len(units))
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise ShowError("systemctl show printed %r, which is not KEY=VALUE" % line)
        if key in lists:
            result[units[index]][key].append(value)
        else:
            result[units[index]][key] = value
    return result


def shown_ports(listen):
    """The ports of the stream sockets among a socket unit's Listen= values
    as `systemctl show` prints them; unix and other sockets are skipped."""
    ports = []
    for value in listen or []:
        match = _SHOWN_STREAM.fullmatch(value)
        if match and match.group("address") and not match.group("address").startswith(("/", "@")):
            port = int(match.group("port"))
            if port not in ports:
                ports.append(port)
    return ports


def loaded_protocol(properties):
    """The protocol systemd opens a socket unit's stream sockets with, from
    its SocketProtocol= property: "mptcp" or "tcp"."""
    value = (properties or {}).get("SocketProtocol", "")
    return "mptcp" if value in (str(IPPROTO_MPTCP), "mptcp") else "tcp"


def systemd_listeners(listeners, port):
    """The listeners of mptcp_info on PORT that systemd (PID 1) holds: the
    listening sockets of socket units. A listener whose holders could not be
    read counts too."""
    return [entry for entry in listeners or []
            if entry.get("port") == port and (1 in entry.get("pids", []) or not entry.get("pids"))]


def port_protocols(listeners, port):
    """The protocols ("mptcp", "tcp") systemd listens with on PORT."""
    return set(entry.get("protocol") for entry in systemd_listeners(listeners, port))


def is_active(properties):
    return (properties or {}).get("ActiveState") == "active"


def is_loaded(properties):
    return (properties or {}).get("LoadState") == "loaded"


def needs_reload(properties):
    """systemd has not loaded the unit's files as they are on disk."""
    return (properties or {}).get("NeedDaemonReload") == "yes"
