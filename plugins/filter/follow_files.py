# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: follow_files
short_description: The files of the follow service's or the metrics exporter's program, for mptcp.linux.staged_files
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - The follow service of the C(mptcp.linux.mptcp) role is the collection's own
    C(module_utils/_follow.py), run by the host's C(python3), with the
    module_utils it imports. This filter returns them as entries of the
    C(files) option of M(mptcp.linux.staged_files), read from the collection
    that runs the play, so the host plans with the same code as
    M(mptcp.linux.mptcp_endpoints).
  - Each file goes to O(_input)C(/ansible_collections/mptcp/linux/plugins/module_utils/),
    where C(python3 -m ansible_collections.mptcp.linux.plugins.module_utils._follow)
    finds it with O(_input) on C(PYTHONPATH).
  - With O(program=metrics), the files of the textfile metrics exporter
    (C(module_utils/_metrics.py) and what it imports) instead.
options:
  _input:
    description: The directory the program is installed under (an absolute path).
    type: path
    required: true
  state:
    description: V(present) gives each file's content and mode; V(absent) asks for its removal.
    type: str
    choices: [present, absent]
    default: present
  program:
    description: Whose files; V(metrics) added in 1.1.0.
    type: str
    choices: [follow, metrics]
    default: follow
"""

EXAMPLES = r"""
- name: Install the follow service
  mptcp.linux.staged_files:
    name: mptcp-follow
    files: "{{ '/usr/local/lib/mptcp-linux' | mptcp.linux.follow_files }}"
"""

RETURN = r"""
_value:
  description: One entry per file, in the shape of the C(files) option of M(mptcp.linux.staged_files).
  type: list
  elements: dict
  sample:
    - path: /usr/local/lib/mptcp-linux/ansible_collections/mptcp/linux/plugins/module_utils/_follow.py
      content: "# -*- coding: utf-8 -*-..."
      mode: "0644"
"""

import importlib
import io
import os

from ansible.errors import AnsibleFilterError

PACKAGE = ("ansible_collections", "mptcp", "linux", "plugins", "module_utils")

# Imported when the filter runs, not when Ansible loads this file: Ansible
# loads every filter file of the collection in each worker process that
# looks up any of its filters, and these programs import pyroute2.
PROGRAMS = {"follow": "_follow", "metrics": "_metrics"}


def follow_files(lib_dir, state="present", program="follow"):
    if not isinstance(lib_dir, str) or not lib_dir.startswith("/"):
        raise AnsibleFilterError("follow_files: %r is not an absolute path" % (lib_dir,))
    if state not in ("present", "absent"):
        raise AnsibleFilterError("follow_files: state must be present or absent, not %r" % (state,))
    if program not in PROGRAMS:
        raise AnsibleFilterError("follow_files: program must be follow or metrics, not %r" % (program,))
    module = importlib.import_module(".".join(PACKAGE + (PROGRAMS[program],)))
    source = os.path.dirname(os.path.abspath(module.__file__))
    files = []
    for name in module.SHIPPED:
        entry = {"path": os.path.join(lib_dir, *PACKAGE + (name,))}
        if state == "absent":
            entry["state"] = "absent"
        else:
            with io.open(os.path.join(source, name), encoding="utf-8") as handle:
                entry.update(content=handle.read(), mode="0644")
        files.append(entry)
    return files


class FilterModule(object):
    def filters(self):
        return {"follow_files": follow_files}
