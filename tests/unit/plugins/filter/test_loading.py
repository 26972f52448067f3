# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Looking up any of the collection's filters makes Ansible load every
filter file of the collection, in each worker process that evaluates a
template using one (ansible-core's Jinja2Loader walks the whole filter
package). What a filter file imports at its top is therefore paid per host
and per task: the collection's module_utils and plugin_utils (and pyroute2
behind some of them) are imported only when a filter that needs them runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.mptcp.linux.plugins.filter import follow_files

PROBE = r"""
import json, sys
from ansible.plugins.loader import init_plugin_loader, filter_loader
init_plugin_loader([sys.argv[1]])
before = set(sys.modules)
found = filter_loader.get(sys.argv[2]) is not None
loaded = sorted(name for name in set(sys.modules) - before)
print(json.dumps({"found": found, "loaded": loaded}))
"""

PLUGINS = "ansible_collections.mptcp.linux.plugins"


def _collections_path():
    """The directory that holds ansible_collections/mptcp/linux, as imported here."""
    path = os.path.dirname(follow_files.__file__)  # .../ansible_collections/mptcp/linux/plugins/filter
    for dummy in range(5):
        path = os.path.dirname(path)
    return path


@pytest.mark.parametrize("name", ["mptcp.linux.os_family_values", "mptcp.linux.mptcp_role_problems"])
def test_loading_the_filters_imports_no_other_module_of_the_collection(name):
    out = subprocess.run([sys.executable, "-c", PROBE, _collections_path(), name], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    result = json.loads(out.splitlines()[-1])
    assert result["found"]
    # every filter file of the collection was loaded ...
    assert "ansible_collections.mptcp.linux.plugins.filter.follow_files" in result["loaded"], result["loaded"]
    # ... and none of them imported another module of the collection, or pyroute2
    others = [module for module in result["loaded"]
              if module.startswith(("pyroute2", PLUGINS + ".module_utils.", PLUGINS + ".plugin_utils."))]
    assert others == [], ("a filter file imports these at its top; import them inside the function that uses "
                          "them, as every filter file is loaded in each worker: %s" % others)
