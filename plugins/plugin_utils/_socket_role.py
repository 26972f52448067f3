# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private, controller side: the rules of the mptcp_socket role, used by its
filters. The role's tasks run the checklist; what to refuse, what to write
and what to restart is decided here, where unit tests can reach it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.mptcp.linux.plugins.module_utils import _quote
from ansible_collections.mptcp.linux.plugins.plugin_utils import _systemd

UNITS = "mptcp_socket_units"
DROPINS = "mptcp_socket_dropins"
DROPIN_FILE = "50-mptcp.conf"
HEADER = "# Managed by the mptcp.linux.mptcp_socket role: local changes are overwritten.\n"
# User= takes a user name or a numeric id.
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else []


def _flag(value, default=False):
    if value is None:
        return default
    try:
        return boolean(value, strict=False)
    except TypeError:
        return default


def normalize_units(units):
    """mptcp_socket_units with every default filled in and the suffix
    stripped from the names."""
    out = []
    for item in _as_list(units):
        item = item if isinstance(item, dict) else {}
        name = _systemd.text(item.get("name"))
        out.append({
            "name": _systemd.strip_suffix(name, (".socket", ".service")) if name else name,
            "state": item.get("state") or "present",
            "listen": [_systemd.text(address) for address in _as_list(item.get("listen"))],
            "accept": _flag(item.get("accept")),
            "exec_start": item.get("exec_start"),
            "user": _systemd.text(item.get("user")),
            "description": _systemd.text(item.get("description")),
            "environment": item.get("environment") or {},
        })
    return out


def normalize_dropins(dropins):
    out = []
    for item in _as_list(dropins):
        item = item if isinstance(item, dict) else {}
        name = _systemd.text(item.get("name"))
        out.append({"name": _systemd.strip_suffix(name, (".socket",)) if name else name,
                    "state": item.get("state") or "present"})
    return out


class FieldError(ValueError):
    """A value the role cannot write: ``suffix`` continues the variable path
    (".NAME", "[2]"), the message is the reason."""

    def __init__(self, suffix, reason):
        super(FieldError, self).__init__(reason)
        self.suffix = suffix


def _scalar(value):
    return not isinstance(value, (dict, list, tuple, bool)) and value is not None


def exec_start_line(exec_start):
    """The value of ExecStart=: a list is quoted word by word, a string is
    systemd syntax, checked and written as it is."""
    try:
        if isinstance(exec_start, str):
            return _quote.systemd_exec_string_problems(exec_start)
        if isinstance(exec_start, (list, tuple)):
            for index, word in enumerate(exec_start):
                if not _scalar(word):
                    raise FieldError("[%d]" % index, "%r is not a string" % (word,))
            return _quote.systemd_exec_argv([_systemd.text(word) for word in exec_start])
    except _quote.QuoteError as exc:
        raise FieldError("", str(exc))
    raise FieldError("", "must be a string or a list of arguments")


def environment_lines(environment):
    """Environment= lines, one per variable, sorted by name."""
    if not isinstance(environment, dict):
        raise FieldError("", "must be a dictionary of variable names and values")
    lines = []
    for name in sorted(environment, key=_systemd.text):
        value = environment[name]
        if not _scalar(value):
            raise FieldError(".%s" % name, "%r is not a string (quote it in YAML)" % (value,))
        try:
            lines.append("Environment=" + _quote.systemd_env(_systemd.text(name), _systemd.text(value)))
        except _quote.QuoteError as exc:
            raise FieldError(".%s" % name, str(exc))
    return lines


def problems(units, dropins):
    """Every reason to refuse the input, each naming its variable path."""
    found = []
    names = []
    listens = []
    for index, item in enumerate(normalize_units(units)):
        where = "%s[%d]" % (UNITS, index)
        name = item["name"]
        reason = _systemd.name_problem(name, ".service")
        if reason:
            found.append("%s.name: %r %s (letters, digits, ':', '_', '.', '-')" % (where, name, reason))
        elif name in names:
            found.append("%s.name: %r is listed twice" % (where, name))
        names.append(name)
        if item["state"] != "present":
            continue
        if not item["listen"]:
            found.append("%s.listen: required, a list of PORT, IPV4:PORT or [IPV6]:PORT" % where)
        for position, address in enumerate(item["listen"]):
            try:
                _systemd.parse_listen(address)
            except ValueError as exc:
                found.append("%s.listen[%d]: %r %s" % (where, position, address, exc))
                continue
            if address in listens:
                found.append("%s.listen[%d]: %r is listened on twice" % (where, position, address))
            listens.append(address)
        if item["exec_start"] is None or item["exec_start"] in ("", [], ()):
            found.append("%s.exec_start: required, the command the service runs (a string or a list of arguments)"
                         % where)
        else:
            try:
                exec_start_line(item["exec_start"])
            except FieldError as exc:
                found.append("%s.exec_start%s: %s" % (where, exc.suffix, exc))
        if item["user"] is not None and not _USER.fullmatch(item["user"]):
            found.append("%s.user: %r is not a user name" % (where, item["user"]))
        if item["description"] is not None:
            try:
                _quote.systemd_value(item["description"])
            except _quote.QuoteError as exc:
                found.append("%s.description: %s" % (where, exc))
        environment = item["environment"]
        for variables in ([dict([pair]) for pair in environment.items()] if isinstance(environment, dict)
                          else [environment]):
            try:
                environment_lines(variables)
            except FieldError as exc:
                found.append("%s.environment%s: %s" % (where, exc.suffix, exc))
    seen = []
    for index, item in enumerate(normalize_dropins(dropins)):
        where = "%s[%d].name" % (DROPINS, index)
        name = item["name"]
        reason = _systemd.name_problem(name, ".socket", _systemd.UNIT_INSTANCE)
        if reason:
            found.append("%s: %r %s (letters, digits, ':', '_', '.', '-', optionally '@instance')"
                         % (where, name, reason.replace("a unit name", "a socket unit name")))
        elif name in seen:
            found.append("%s: %r is listed twice" % (where, name))
        elif name in names:
            found.append("%s: %r is also in %s, whose socket is MPTCP already" % (where, name, UNITS))
        seen.append(name)
    return found


def queried(units, dropins):
    """The units `systemctl show` reads before anything changes: every
    socket, the service of each socket without Accept, the switched
    sockets."""
    units = normalize_units(units)
    return ([u["name"] + ".socket" for u in units]
            + [u["name"] + ".service" for u in units if not u["accept"]]
            + [d["name"] + ".socket" for d in normalize_dropins(dropins)])


def host_problems(units, dropins, state, unit_dir):
    """What the host refuses: a unit the role would write over (or remove)
    that it did not write, a drop-in for a socket that is not there."""
    found = []
    for item in normalize_units(units):
        for unit in [item["name"] + ".socket"] + ([] if item["accept"] else [item["name"] + ".service"]):
            properties = state.get(unit, {})
            fragment = properties.get("FragmentPath", "")
            if _systemd.is_loaded(properties) and fragment not in ("", "%s/%s" % (unit_dir, unit)):
                found.append("%s: %s exists already as %s, which this role did not write (switch an existing "
                             "socket with %s)" % (UNITS, unit, fragment, DROPINS))
    for index, item in enumerate(normalize_dropins(dropins)):
        properties = state.get(item["name"] + ".socket", {})
        if item["state"] == "present" and not _systemd.is_loaded(properties):
            found.append("%s[%d].name: %s.socket is not a unit on this host (LoadState=%s)"
                         % (DROPINS, index, item["name"], properties.get("LoadState", "unknown")))
    return found


def _description(item):
    return _quote.systemd_value(item["description"] if item["description"] is not None
                                else "%s over MPTCP" % item["name"])


def socket_unit(item):
    lines = [HEADER.rstrip("\n"), "[Unit]", "Description=" + _description(item), "", "[Socket]"]
    lines += ["ListenStream=" + address for address in item["listen"]]
    lines.append("SocketProtocol=mptcp")
    if item["accept"]:
        lines.append("Accept=yes")
    lines += ["", "[Install]", "WantedBy=sockets.target"]
    return "\n".join(lines) + "\n"


def service_unit(item):
    lines = [HEADER.rstrip("\n"), "[Unit]", "Description=" + _description(item),
             "Requires=%s.socket" % item["name"], "After=%s.socket" % item["name"], "",
             "[Service]", "ExecStart=" + exec_start_line(item["exec_start"])]
    lines += environment_lines(item["environment"])
    if item["user"]:
        lines.append("User=" + item["user"])
    if item["accept"]:
        lines += ["StandardInput=socket", "StandardOutput=socket"]
    return "\n".join(lines) + "\n"


DROPIN = (HEADER + "# Switches this socket to MPTCP (mptcp.linux.mptcp_socket; systemd 257 and later).\n"
          "[Socket]\nSocketProtocol=mptcp\n")


def plan(units, dropins, unit_dir):
    """What the role writes and removes. ``write``: [{name, file, path,
    content}] (file relative to unit_dir); ``remove``: [{name, path}];
    ``dirs``: drop-in directories to create; ``emptied``: drop-in
    directories to remove when left empty; ``sockets``: the sockets of the
    present units; ``retire``: the units of absent entries, stopped (and the
    sockets disabled) before their files go; ``queried``: the units read
    with `systemctl show`."""
    units = normalize_units(units)
    dropins = normalize_dropins(dropins)
    write, remove, dirs, emptied, retire = [], [], [], [], []

    def add(name, file_name, content):
        write.append({"name": name, "file": file_name, "path": "%s/%s" % (unit_dir, file_name), "content": content})

    for item in units:
        if item["state"] == "present":
            add(item["name"], item["name"] + ".socket", socket_unit(item))
            add(item["name"], item["name"] + ("@" if item["accept"] else "") + ".service", service_unit(item))
        else:
            for file_name in (".socket", ".service", "@.service"):
                remove.append({"name": item["name"], "path": "%s/%s%s" % (unit_dir, item["name"], file_name)})
            retire.append({"unit": item["name"] + ".socket", "disable": True})
            if not item["accept"]:
                retire.append({"unit": item["name"] + ".service", "disable": False})
    for item in dropins:
        directory = "%s/%s.socket.d" % (unit_dir, item["name"])
        if item["state"] == "present":
            dirs.append(directory)
            add(item["name"], "%s.socket.d/%s" % (item["name"], DROPIN_FILE), DROPIN)
        else:
            remove.append({"name": item["name"], "path": "%s/%s" % (directory, DROPIN_FILE)})
            emptied.append(directory)
    return {
        "units": units,
        "dropins": dropins,
        "write": write,
        "remove": remove,
        "dirs": dirs,
        "emptied": emptied,
        "retire": retire,
        "sockets": [u["name"] + ".socket" for u in units if u["state"] == "present"],
        "queried": queried(units, dropins),
        "verify": ([f["file"] for f in write if "/" not in f["file"]]
                   + [d["name"] + ".socket" for d in dropins if d["state"] == "present"]),
    }


def _wrong_protocol(properties, listeners):
    """A running socket that listens with another protocol than the one
    systemd has loaded for it (it was not restarted after a reload)."""
    if not _systemd.is_active(properties):
        return False
    wanted = _systemd.loaded_protocol(properties)
    for port in _systemd.shown_ports(properties.get("Listen")):
        protocols = _systemd.port_protocols(listeners, port)
        if protocols and protocols != set([wanted]):
            return True
    return False


def actions(the_plan, state, listeners, changed):
    """What makes systemd run what is on disk, from what this run changed
    (CHANGED: names whose files it wrote or removed) and what systemd says
    (STATE, read before anything changed) and the listeners hold (LISTENERS,
    mptcp_info's, read then too).

    - ``stop``: units stopped before the reload: the sockets of the present
      units to start again, after the services holding their old listening
      socket (Accept=no). A unit goes through stop/reload/start when its files
      changed, systemd has not loaded them yet (NeedDaemonReload), or its
      socket listens with another protocol than the loaded one. An
      interrupted run leaves a unit that needs a reload or a socket that is
      not running, and the next run finds both.
    - ``reload``: whether to run daemon-reload: a file changed, or systemd has
      not loaded one (NeedDaemonReload, or a present unit it does not know).
    - ``restart``: switched sockets that run and must start again after the
      reload (their drop-in changed, systemd has not loaded it, or the socket
      listens with another protocol than the loaded one); a switched socket
      that is not running stays stopped.
    - ``stop_services``: the services holding the listening socket of those
      (Accept=no: the socket's Triggers=), stopped before the restart."""
    state = state or {}
    changed = set(changed or [])
    stop, restart, stop_services = [], [], []
    reload_ = bool(changed) or any(_systemd.needs_reload(p) for p in state.values())
    for item in the_plan["units"]:
        if item["state"] != "present":
            continue
        socket, service = item["name"] + ".socket", item["name"] + ".service"
        socket_state, service_state = state.get(socket, {}), state.get(service, {})
        if not _systemd.is_loaded(socket_state):
            reload_ = True
            continue  # new to systemd: started after the reload
        if (item["name"] in changed or _systemd.needs_reload(socket_state) or _systemd.needs_reload(service_state)
                or _wrong_protocol(socket_state, listeners)):
            if not item["accept"] and _systemd.is_loaded(service_state):
                stop.append(service)
            stop.append(socket)
    for item in the_plan["dropins"]:
        socket = item["name"] + ".socket"
        properties = state.get(socket, {})
        if not _systemd.is_active(properties):
            continue
        if item["name"] in changed or _systemd.needs_reload(properties) or _wrong_protocol(properties, listeners):
            restart.append(socket)
            if properties.get("Accept", "no") == "no":
                stop_services.extend(u for u in properties.get("Triggers", "").split() if u not in stop_services)
    return {"stop": stop, "reload": reload_, "restart": restart, "stop_services": stop_services}


def listener_problems(the_plan, state, listeners, skip=()):
    """The ports of the present sockets that have no MPTCP listener: every
    port of the units, and those of the switched sockets that run. SKIP:
    names not to check (what check mode would have started)."""
    found = []
    skip = set(skip or [])
    for item in the_plan["units"]:
        if item["state"] != "present" or item["name"] in skip:
            continue
        ports = []
        for address in item["listen"]:
            port = _systemd.parse_listen(address)[1]
            if port not in ports:
                ports.append(port)
        found.extend("%s.socket: no MPTCP listener on port %d" % (item["name"], port) for port in ports
                     if "mptcp" not in _systemd.port_protocols(listeners, port))
    for item in the_plan["dropins"]:
        properties = (state or {}).get(item["name"] + ".socket", {})
        if item["state"] != "present" or item["name"] in skip or not _systemd.is_active(properties):
            continue
        found.extend("%s.socket: no MPTCP listener on port %d" % (item["name"], port)
                     for port in _systemd.shown_ports(properties.get("Listen"))
                     if "mptcp" not in _systemd.port_protocols(listeners, port))
    return found
