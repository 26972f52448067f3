# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.mptcp.linux`` importable as this working tree.

The modules import their helpers as
``ansible_collections.mptcp.linux.plugins.module_utils...``. ansible-core only
resolves that name inside ansible processes, so the unit tests put on
``sys.path`` a directory in which ``ansible_collections/mptcp/linux`` is this
repository. ``ansible_collections`` and everything below it are plain (PEP 420)
namespace packages, so the ``ansible`` package's own ``site-packages/
ansible_collections`` merges with ours without hiding it.

``.build/collections`` (made by ``make unit``) is used when its link leads
here; otherwise a throw-away symlink tree is made under pytest's tmp.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import sys
import tempfile

import pytest

# tests/unit/conftest.py -> the repository root
ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
_CLEANUP = []


def _links_here(collections):
    link = os.path.join(collections, "ansible_collections", "mptcp", "linux")
    return os.path.isdir(link) and os.path.realpath(link) == ROOT


def _make_tree(config):
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        base = str(factory.mktemp("collections", numbered=True))
    else:
        base = tempfile.mkdtemp(prefix="mptcp-linux-collections-")
        _CLEANUP.append(base)
    parent = os.path.join(base, "ansible_collections", "mptcp")
    os.makedirs(parent)
    os.symlink(ROOT, os.path.join(parent, "linux"))
    return base


@pytest.hookimpl(trylast=True)  # after pytest's tmp_path plugin has configured
def pytest_configure(config):
    collections = os.path.join(ROOT, ".build", "collections")
    if not _links_here(collections):
        collections = _make_tree(config)
    if collections not in sys.path:
        sys.path.insert(0, collections)
    # Fail here, once, with a clear message rather than in every test module.
    from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints

    found = os.path.realpath(_endpoints.__file__)
    expected = os.path.join(ROOT, "plugins", "module_utils", "_endpoints.py")
    if found != expected:
        raise pytest.UsageError("ansible_collections.mptcp.linux resolves to %s, not to %s" % (found, expected))


def pytest_unconfigure(config):
    while _CLEANUP:
        shutil.rmtree(_CLEANUP.pop(), ignore_errors=True)
