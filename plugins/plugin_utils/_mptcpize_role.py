# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private, controller side: the rules of the mptcpize role, used by its
filters: what to refuse, the drop-in it writes, which services to restart
and whether they listen over MPTCP."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.mptcp.linux.plugins.module_utils import _quote
from ansible_collections.mptcp.linux.plugins.plugin_utils import _systemd

SERVICES = "mptcpize_services"
DROPIN_FILE = "50-mptcpize.conf"
# ld.so splits LD_PRELOAD on blanks and ':', so a path holding one cannot be
# preloaded, however it is quoted in the unit.
_LIBRARY = re.compile(r"/[A-Za-z0-9._+/-]+")


def normalize(services, verify_default=True):
    """mptcpize_services with every default filled in and '.service'
    stripped."""
    out = []
    for item in services if isinstance(services, (list, tuple)) else []:
        item = item if isinstance(item, dict) else {}
        name = _systemd.text(item.get("name"))
        verify = item.get("verify_listeners")
        out.append({
            "name": _systemd.strip_suffix(name, (".service",)) if name else name,
            "state": item.get("state") or "present",
            "verify": boolean(verify_default if verify is None else verify, strict=False),
        })
    return out


def problems(services, library=""):
    """Every reason to refuse the input, each naming its variable path."""
    found = []
    seen = []
    for index, item in enumerate(normalize(services)):
        where = "%s[%d].name" % (SERVICES, index)
        name = item["name"]
        reason = _systemd.name_problem(name, ".service", _systemd.UNIT_INSTANCE)
        if reason:
            found.append("%s: %r %s (letters, digits, ':', '_', '.', '-', optionally '@instance')"
                         % (where, name, reason.replace("a unit name", "a systemd service name")))
        elif name in seen:
            found.append("%s: %r is listed twice" % (where, name))
        seen.append(name)
    if library and not (isinstance(library, str) and _LIBRARY.fullmatch(library)):
        found.append("mptcpize_library: %r is not an absolute path of letters, digits, '.', '_', '+', '-' and '/' "
                     "(LD_PRELOAD splits paths at blanks and ':')" % (library,))
    return found


def host_problems(services, state):
    """Present services that are not units on this host."""
    found = []
    for index, item in enumerate(normalize(services)):
        properties = (state or {}).get(item["name"] + ".service", {})
        if item["state"] == "present" and not _systemd.is_loaded(properties):
            found.append("%s[%d].name: %s.service is not a unit on this host (LoadState=%s)"
                         % (SERVICES, index, item["name"], properties.get("LoadState", "unknown")))
    return found


def dropin(library):
    """The drop-in: every value quoted for systemd's Environment=."""
    return ("# Managed by the mptcp.linux.mptcpize role: local changes are overwritten.\n"
            "# Forces MPTCP on this service: libmptcpwrap turns its TCP sockets into\n"
            "# MPTCP ones; GODEBUG does the same for Go programs.\n"
            "[Service]\n"
            "Environment=%s\n"
            "Environment=%s\n" % (_quote.systemd_env("LD_PRELOAD", library),
                                  _quote.systemd_env("GODEBUG", "multipathtcp=1")))


def plan(services, unit_dir, library, verify_default=True):
    """``services`` (normalized), ``queried`` (the units `systemctl show`
    reads), ``write`` [{name, file, path, content}], ``remove`` [{name,
    path}], ``dirs`` (drop-in directories to create), ``emptied`` (drop-in
    directories to remove when left empty), ``verify`` (the services
    `systemd-analyze verify` loads with the staged drop-ins)."""
    services = normalize(services, verify_default)
    write, remove, dirs, emptied = [], [], [], []
    for item in services:
        directory = "%s/%s.service.d" % (unit_dir, item["name"])
        file_name = "%s.service.d/%s" % (item["name"], DROPIN_FILE)
        if item["state"] == "present":
            dirs.append(directory)
            write.append({"name": item["name"], "file": file_name, "path": "%s/%s" % (unit_dir, file_name),
                          "content": dropin(library)})
        else:
            remove.append({"name": item["name"], "path": "%s/%s" % (unit_dir, file_name)})
            emptied.append(directory)
    return {"services": services, "queried": [s["name"] + ".service" for s in services],
            "write": write, "remove": remove, "dirs": dirs, "emptied": emptied,
            "verify": [s["name"] + ".service" for s in services if s["state"] == "present"]}


def preloaded_pids(lines):
    """The pids whose /proc/PID/maps or /proc/PID/environ name libmptcpwrap,
    from the file names `grep -l` printed."""
    pids = []
    for line in lines or []:
        match = re.fullmatch(r"/proc/([0-9]+)/(?:maps|environ)", line.strip())
        if match and int(match.group(1)) not in pids:
            pids.append(int(match.group(1)))
    return pids


def main_pids(state):
    """The main process of each running service in STATE."""
    pids = {}
    for unit, properties in (state or {}).items():
        try:
            pid = int(properties.get("MainPID", "0"))
        except ValueError:
            pid = 0
        if pid > 0:
            pids[unit] = pid
    return pids


def actions(the_plan, state, preloaded, changed):
    """Which services run something else than their drop-ins say, from what
    this run changed (CHANGED: names whose drop-in it wrote or removed), what
    systemd says (STATE, read before anything changed) and whether each
    running main process has libmptcpwrap (PRELOADED: the files
    `grep -l libmptcpwrap /proc/PID/maps /proc/PID/environ` named).

    - ``reload``: a drop-in changed, or systemd has not loaded one
      (NeedDaemonReload).
    - ``restart``: services whose drop-in changed or is not loaded yet (a
      present one is started even if it was stopped; an absent one only if
      it runs), and running services whose main process has libmptcpwrap
      although their drop-in is gone, or lacks it although it is there: a
      run interrupted after the reload leaves those."""
    state = state or {}
    changed = set(changed or [])
    preloaded = set(preloaded_pids(preloaded))
    pids = main_pids(state)
    reload_ = bool(changed) or any(_systemd.needs_reload(p) for p in state.values())
    restart = []
    for item in the_plan["services"]:
        unit = item["name"] + ".service"
        properties = state.get(unit, {})
        present = item["state"] == "present"
        if item["name"] in changed or _systemd.needs_reload(properties):
            if present or _systemd.is_active(properties):
                restart.append(item["name"])
        elif _systemd.is_active(properties) and unit in pids and (pids[unit] in preloaded) != present:
            restart.append(item["name"])
    return {"reload": reload_, "restart": restart}


def listener_problems(the_plan, state, listeners, skip=()):
    """Per present service to check: its main process must hold an MPTCP
    listener and no plain TCP one. STATE: `systemctl show` after the
    restarts (MainPID); LISTENERS: mptcp_info's; SKIP: names not checked
    (not restarted onto their drop-in)."""
    found = []
    pids = main_pids(state)
    skip = set(skip or [])
    for item in the_plan["services"]:
        if item["state"] != "present" or not item["verify"] or item["name"] in skip:
            continue
        pid = pids.get(item["name"] + ".service")
        if pid is None:
            found.append("%s.service is not running" % item["name"])
            continue
        held = [entry for entry in listeners or [] if pid in entry.get("pids", [])]
        tcp = [entry["local"] for entry in held if entry.get("protocol") == "tcp"]
        if not any(entry.get("protocol") == "mptcp" for entry in held):
            found.append("%s.service (pid %d) has no MPTCP listener" % (item["name"], pid))
        if tcp:
            found.append("%s.service (pid %d) still listens on plain TCP at %s" % (item["name"], pid, ", ".join(tcp)))
    return found
