# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private, controller side: the rules of the mptcpd role, used by its
filter. mptcpd.conf is read by ell's settings parser: a value is the rest of
the line, and a backslash starts an escape; so plugin names are checked
against what mptcpd accepts, and the plugin directory may hold neither a
control character nor a backslash."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import unicodedata


PLUGIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_NAMES = "letters, digits, '_', '-', '.'"


def _quoted(value):
    return json.dumps(value if isinstance(value, str) else "%s" % (value,), ensure_ascii=False)


def _plugin_problem(value):
    if not isinstance(value, str) or not PLUGIN_NAME.fullmatch(value):
        return "%s is not a plugin name (%s)" % (_quoted(value), _NAMES)
    return None


def _directory_problem(path):
    if not isinstance(path, str) or not path.startswith("/"):
        return "%s is not an absolute path" % _quoted(path)
    bad = [c for c in path if unicodedata.category(c).startswith("C") or c == "\\"]
    if bad:
        return "%s holds %r, which mptcpd.conf cannot carry" % (_quoted(path), bad[0])
    if path != path.strip():
        return "%s starts or ends with a blank, which mptcpd strips" % _quoted(path)
    return None


def problems(settings, plugin_dir=None, installed=None, searched=("/usr/lib", "/usr/lib64")):
    """Every reason to refuse the role's settings (SETTINGS: the role's
    variables by name), each naming its variable. With INSTALLED (the
    plugins found in PLUGIN_DIR; no PLUGIN_DIR: none was found under
    SEARCHED), also the plugins that are not installed."""
    found = []
    path_manager = settings.get("mptcpd_path_manager")
    load_plugins = list(settings.get("mptcpd_load_plugins") or [])
    directory = settings.get("mptcpd_plugin_dir") or ""
    flags = list(settings.get("mptcpd_addr_flags") or [])
    reason = _plugin_problem(path_manager)
    if reason:
        found.append("mptcpd_path_manager: " + reason)
    for index, plugin in enumerate(load_plugins):
        reason = _plugin_problem(plugin)
        if reason:
            found.append("mptcpd_load_plugins[%d]: %s" % (index, reason))
    if "signal" in flags and "fullmesh" in flags:
        found.append("mptcpd_addr_flags: signal and fullmesh cannot be combined (the kernel refuses such endpoints)")
    if load_plugins and path_manager not in load_plugins:
        found.append("mptcpd_path_manager: %s is not in mptcpd_load_plugins (%s), so mptcpd would not load it"
                     % (_quoted(path_manager), ", ".join("%s" % (p,) for p in load_plugins)))
    if directory:
        reason = _directory_problem(directory)
        if reason:
            found.append("mptcpd_plugin_dir: " + reason)
    if installed is None:
        return found
    installed = sorted(installed)
    listed = ", ".join(installed) or "none"
    if not plugin_dir:
        found.append("mptcpd has no plugin directory under %s: install mptcpd-plugins "
                     "(mptcpd_install_packages) or set mptcpd_plugin_dir" % " or ".join(searched))
        return found
    if path_manager not in installed:
        found.append("mptcpd_path_manager: plugin %s is not installed in %s (installed: %s)"
                     % (path_manager, plugin_dir, listed))
    missing = [plugin for plugin in load_plugins if plugin not in installed]
    if missing:
        found.append("mptcpd_load_plugins: %s not installed in %s (installed: %s)"
                     % (", ".join(missing), plugin_dir, listed))
    return found
