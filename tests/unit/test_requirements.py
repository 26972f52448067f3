# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/unit/requirements.txt (read by ansible-test units) pins what
tests/requirements.txt (read by tools/bootstrap for make unit) pins: both run
the same tests, on the same versions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)


def pins(path):
    """{name: requirement} of a requirements file, comments dropped."""
    found = {}
    with open(path) as handle:
        for line in handle:
            requirement = line.split("#", 1)[0].strip()
            if requirement:
                name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
                found[name.lower().replace("_", "-")] = requirement.replace(" ", "")
    return found


def test_unit_requirements_are_pinned_as_the_venv_pins_them():
    venv = os.path.join(TESTS, "requirements.txt")
    if not os.path.isfile(venv):
        pytest.skip("tests/requirements.txt is not here")
    unit = pins(os.path.join(TESTS, "unit", "requirements.txt"))
    assert unit, "tests/unit/requirements.txt names no package"
    venv_pins = pins(venv)
    assert {name: venv_pins.get(name) for name in unit} == unit


def test_lab_requirements_are_pinned_as_the_venv_pins_them():
    """make lab installs lab/requirements.txt into the .venv that the tests
    fill from tests/requirements.txt: the same versions, so that a .venv made
    by either serves both."""
    lab = os.path.join(TESTS, os.pardir, "lab", "requirements.txt")
    venv = os.path.join(TESTS, "requirements.txt")
    if not (os.path.isfile(lab) and os.path.isfile(venv)):
        pytest.skip("lab/requirements.txt or tests/requirements.txt is not here")
    wanted = pins(lab)
    assert set(wanted) == {"ansible-core", "pyroute2"}
    venv_pins = pins(venv)
    assert {name: venv_pins.get(name) for name in wanted} == wanted
