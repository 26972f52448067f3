#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_sysctl
short_description: Set the net.mptcp.* kernel settings in one call
version_added: 0.1.0
description:
  - Sets every given C(net.mptcp.*) knob of a network namespace through
    C(/proc/sys/net/mptcp), and optionally persists them in one sysctl.d file.
  - Options left unset are not touched.
  - The request is validated against the running kernel before anything is
    written. A knob this kernel does not have is an error that names the Linux
    version that added it. A scheduler or path manager the kernel does not
    offer is an error that lists the ones it offers.
  - If the kernel refuses one value, the values already written by this call are
    put back, so nothing is left half-applied.
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.netns.attributes
options:
  enabled:
    description:
      - C(net.mptcp.enabled). Whether applications may create MPTCP sockets.
      - Linux 5.6.
    type: bool
  path_manager:
    description:
      - The path manager that handles endpoints and subflows.
      - V(kernel) is the in-kernel path manager driven by C(ip mptcp endpoint)
        and this collection. V(userspace) hands the decisions to a daemon such as mptcpd.
      - Written to C(net.mptcp.path_manager) where it exists (Linux 6.15), to
        C(net.mptcp.pm_type) (0 or 1, Linux 5.19) before.
    type: str
    choices: [kernel, userspace]
  scheduler:
    description:
      - C(net.mptcp.scheduler). The packet scheduler for new connections.
      - Must be one of C(net.mptcp.available_schedulers). Linux 6.6.
    type: str
  add_addr_timeout:
    description:
      - C(net.mptcp.add_addr_timeout), in seconds. How long to wait before
        re-sending an unacknowledged ADD_ADDR. Linux 5.11.
    type: int
  checksum_enabled:
    description:
      - C(net.mptcp.checksum_enabled). Whether DSS checksums are used. Linux 5.14.
    type: bool
  allow_join_initial_addr_port:
    description:
      - C(net.mptcp.allow_join_initial_addr_port). Whether peers may join
        subflows to the initial address and port. Linux 5.14.
    type: bool
  stale_loss_cnt:
    description:
      - C(net.mptcp.stale_loss_cnt). Retransmission intervals without progress
        before a subflow is considered stale. Linux 5.16.
    type: int
  close_timeout:
    description:
      - C(net.mptcp.close_timeout), in seconds. How long an orphaned connection
        lingers after close. Linux 6.7.
    type: int
  blackhole_timeout:
    description:
      - C(net.mptcp.blackhole_timeout), in seconds. How long MPTCP stays
        disabled after a blackhole was detected. 0 disables the detection. Linux 6.12.
    type: int
  syn_retrans_before_tcp_fallback:
    description:
      - C(net.mptcp.syn_retrans_before_tcp_fallback). SYN retransmissions with
        MPTCP options before falling back to plain TCP. Linux 6.14.
    type: int
  persist:
    description:
      - Also write the given settings to O(persist_path), so that C(systemd-sysctl)
        applies them at boot.
      - The file is rendered deterministically and replaced atomically, only
        when its content changes.
      - The file holds exactly the knobs given in this call.
      - Cannot be combined with O(netns), because sysctl.d applies to the host namespace.
    type: bool
    default: false
  persist_path:
    description:
      - The sysctl.d file written when O(persist=true).
    type: path
    default: /etc/sysctl.d/90-mptcp.conf
notes:
  - Every C(net.mptcp.*) knob belongs to a network namespace.
seealso:
  - module: mptcp.linux.mptcp_info
  - name: MPTCP sysctl documentation
    description: The kernel's description of every net.mptcp knob.
    link: https://docs.kernel.org/networking/mptcp-sysctl.html
"""

EXAMPLES = r"""
- name: Enable MPTCP with the in-kernel path manager, and keep it across reboots
  mptcp.linux.mptcp_sysctl:
    enabled: true
    path_manager: kernel
    persist: true

- name: Let mptcpd drive the path management
  mptcp.linux.mptcp_sysctl:
    path_manager: userspace

- name: Tune a network namespace
  mptcp.linux.mptcp_sysctl:
    netns: blue
    enabled: true
    checksum_enabled: false
    add_addr_timeout: 60
    stale_loss_cnt: 4
"""

RETURN = r"""
before:
  description: The requested knobs as they were.
  returned: always
  type: dict
  sample: {"enabled": false, "path_manager": "kernel"}
after:
  description: The requested knobs as they are now (or would be, in check mode).
  returned: always
  type: dict
  sample: {"enabled": true, "path_manager": "kernel"}
changes:
  description: The C(sysctl -w) equivalents of what was (or would be) written.
  returned: always
  type: list
  elements: str
  sample: ["net.mptcp.enabled=1"]
persist_path:
  description: The sysctl.d file, when O(persist=true).
  returned: when persist is true
  type: str
  sample: /etc/sysctl.d/90-mptcp.conf
persist_changed:
  description: Whether the sysctl.d file was (or would be) rewritten.
  returned: when persist is true
  type: bool
  sample: true
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _sysctl
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _write_atomically(module, path, content):
    fd, tmp = tempfile.mkstemp(prefix=".mptcp-sysctl.", dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, path)


def main():
    # one option per knob, typed by the knob table
    argument_spec = dict((option, dict(type=kind)) for option, (dummy, kind, dummy2) in _sysctl.KNOBS.items())
    argument_spec["path_manager"]["choices"] = sorted(_sysctl.PM_TYPE)
    argument_spec.update(
        persist=dict(type="bool", default=False),
        persist_path=dict(type="path", default=_sysctl.DEFAULT_PERSIST_PATH),
        **NETNS_ARGUMENT
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["persist"] and params["netns"]:
        module.fail_json(msg="persist: cannot be combined with netns; sysctl.d files apply to the host namespace at boot")

    desired = dict((k, params[k]) for k in _sysctl.KNOBS if params[k] is not None)
    if not desired:
        module.fail_json(msg="no knob given: set at least one of %s" % ", ".join(sorted(_sysctl.KNOBS)))

    enter_netns(module)
    try:
        _sysctl.validate(desired)
        before, after, changes = _sysctl.plan(desired)
    except _sysctl.SysctlError as exc:
        module.fail_json(msg=str(exc))

    result = dict(
        changed=bool(changes),
        before=before,
        after=after,
        changes=["net.mptcp.%s=%s" % change for change in changes],
    )
    diff = dict(before=before, after=after)

    content = None
    if params["persist"]:
        path = params["persist_path"]
        if not os.path.isdir(os.path.dirname(path) or "."):
            module.fail_json(msg="persist_path: directory %s does not exist" % os.path.dirname(path))
        content = _sysctl.render_conf(desired)
        current = _read_text(path)
        result["persist_path"] = path
        result["persist_changed"] = current != content
        if result["persist_changed"]:
            result["changed"] = True
            diff = [diff, dict(before_header=path, after_header=path, before=current or "", after=content)]

    if module._diff:
        result["diff"] = diff

    if not module.check_mode:
        try:
            _sysctl.apply(changes)
        except _sysctl.SysctlError as exc:
            module.fail_json(msg=str(exc), before=before)
        if content is not None and result["persist_changed"]:
            _write_atomically(module, params["persist_path"], content)

    module.exit_json(**result)


if __name__ == "__main__":
    main()
