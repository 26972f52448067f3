# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""follow_files: the follow service's program as staged_files entries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mptcp.linux.plugins.filter.follow_files import follow_files
from ansible_collections.mptcp.linux.plugins.module_utils import _follow

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
