# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Import the repository's harness (tools/) for its unit tests.

tools/ is no collection content: the built collection leaves it out (galaxy.yml
build_ignore), so `ansible-test units` on an installed collection has none.
There the tests of tools/ skip, saying why; in a checkout, where tools/ is,
an import error fails as usual instead of turning into a skip.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

import pytest

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir, "tools")


def import_tool(name):
    """ansible_collections.mptcp.linux.tools.NAME, or a skip of the calling
    test module where this collection has no tools/."""
    if not os.path.isdir(TOOLS):
        pytest.skip("tools/ is the repository's test harness, which the built collection leaves out "
                    "(galaxy.yml build_ignore)", allow_module_level=True)
    return importlib.import_module("ansible_collections.mptcp.linux.tools." + name)
