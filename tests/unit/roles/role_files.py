# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the roles' files for the role unit tests (a module of its own, not a
conftest.py: test modules import it by its collection name, under make unit
and ansible-test units alike)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

ROLES = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir, "roles"))


def role_path(role, *parts):
    return os.path.join(ROLES, role, *parts)


def load(role, *parts):
    """A role's YAML file, parsed."""
    with open(role_path(role, *parts)) as handle:
        return yaml.safe_load(handle)


def options(role):
    """The options of the role's main entry point."""
    return load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
