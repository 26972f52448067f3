# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""follow_files: the follow service's program as staged_files entries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mptcp.linux.plugins.filter.follow_files import follow_files
from ansible_collections.mptcp.linux.plugins.module_utils import _follow, _metrics

PREFIX = "/opt/x/ansible_collections/mptcp/linux/plugins/module_utils/"


def test_the_files_are_the_collections_own():
    files = follow_files("/opt/x")
    assert [f["path"] for f in files] == [PREFIX + name for name in _follow.SHIPPED]
    with open(_follow.__file__.replace(".pyc", ".py")) as handle:
        assert files[0]["content"] == handle.read()
    assert set(f["mode"] for f in files) == {"0644"}


def test_absent_names_the_paths_only():
    assert follow_files("/opt/x", "absent")[1] == {"path": PREFIX + "_endpoints.py", "state": "absent"}


@pytest.mark.parametrize("args", [("opt/x",), (None,), ("/opt/x", "gone")])
def test_refused(args):
    with pytest.raises(AnsibleFilterError):
        follow_files(*args)


def test_every_shipped_file_exists():
    source = os.path.dirname(_follow.__file__)
    assert all(os.path.isfile(os.path.join(source, name)) for name in _follow.SHIPPED)


def test_metrics_program_files():
    files = follow_files("/opt/x", program="metrics")
    assert [f["path"] for f in files] == [PREFIX + name for name in _metrics.SHIPPED]
    assert files[0]["content"].startswith("# -*- coding: utf-8 -*-") and "def write_atomically" in files[0]["content"]


def test_unknown_program_refused():
    with pytest.raises(AnsibleFilterError, match="program must be follow or metrics"):
        follow_files("/opt/x", program="other")


@pytest.mark.parametrize("program", [_follow, _metrics])
def test_shipped_files_hold_every_module_utils_they_import(program):
    """What the program imports from module_utils, recursively, is shipped
    with it: the host has nothing else of the collection."""
    source = os.path.dirname(program.__file__)
    imported = re.compile(r"^from ansible_collections\.mptcp\.linux\.plugins\.module_utils(?:\.(\w+))? import \(?([\w, ]+)",
                          re.M)
    for name in program.SHIPPED:
        with open(os.path.join(source, name)) as handle:
            for module, names in imported.findall(handle.read()):
                needed = [module] if module else [word.strip() for word in names.split(",")]
                assert all(n + ".py" in program.SHIPPED for n in needed), (name, needed)
