# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: what a role asks of a host before it changes anything, in the
read that also gives the kernel's MPTCP state (mptcp_info's host option):
whether systemd runs the host, which files of an earlier run are there,
and what the modules and the restore unit need that is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

# sd_booted(3): systemd runs the host when this is a directory.
SYSTEMD_RUNTIME_DIR = "/run/systemd/system"

# What the collection needs on a host, by the name mptcp_info reports it
# missing under; the roles map each to a package of the OS family.
#   pyroute2: the modules' netlink client (endpoints, limits, routing)
#   ip: iproute2's command, which the restore unit runs (ip -batch)
NEEDED_COMMANDS = ("ip",)


def systemd_booted(runtime_dir=SYSTEMD_RUNTIME_DIR):
    """As sd_booted(3): its lstat of "/run/systemd/system/" (trailing slash)
    follows a symlink to a directory, and so does isdir."""
    return os.path.isdir(runtime_dir)


def files_present(paths):
    """Each path: whether something is there (a dangling symlink counts, as
    for the stat module without follow)."""
    return dict((path, os.path.lexists(path)) for path in paths)


def missing(pyroute2_importable, find_command):
    """The needs this host lacks, pyroute2 first. FIND_COMMAND(name) returns
    the command's path or None."""
    found = [] if pyroute2_importable else ["pyroute2"]
    return found + [name for name in NEEDED_COMMANDS if not find_command(name)]


def report(files, pyroute2_importable, find_command, runtime_dir=SYSTEMD_RUNTIME_DIR):
    return {"systemd": systemd_booted(runtime_dir), "files": files_present(files),
            "missing": missing(pyroute2_importable, find_command)}
