# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_common: the numeric checks every module applies to its int and float options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils._common import LOCK_TIMEOUT_MAX, lock_timeout_problem, number_problem


@pytest.mark.parametrize("value, low_open, expected", [
    (float("nan"), False, "timeout: nan is not a finite number"),
    (float("inf"), False, "timeout: inf is not a finite number"),
    (float("-inf"), True, "timeout: -inf is not a finite number"),
    (0.0, True, "timeout: 0.0 is out of range: more than 0, at most 3600"),
    (-1, True, "timeout: -1 is out of range: more than 0, at most 3600"),
    (3600.5, True, "timeout: 3600.5 is out of range: more than 0, at most 3600"),
    (-0.5, False, "timeout: -0.5 is out of range 0..3600"),
    (3601, False, "timeout: 3601 is out of range 0..3600"),
])
def test_number_problem(value, low_open, expected):
    assert number_problem("timeout", value, 0, 3600, low_open=low_open) == expected


@pytest.mark.parametrize("value, low_open", [(0, False), (0.001, True), (3600, True), (3600.0, False), (None, False)])
def test_number_problem_accepts(value, low_open):
    assert number_problem("timeout", value, 0, 3600, low_open=low_open) is None


class FakeModule(object):
    def __init__(self, **params):
        self.params = params


def test_lock_timeout_bounds():
    assert lock_timeout_problem(FakeModule(lock_timeout=0)) is None
    assert lock_timeout_problem(FakeModule(lock_timeout=LOCK_TIMEOUT_MAX)) is None
    assert lock_timeout_problem(FakeModule(lock_timeout=-1)) == "lock_timeout: -1 is out of range 0..3600"
    assert lock_timeout_problem(FakeModule()) is None
