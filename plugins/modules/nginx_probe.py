#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nginx_probe
short_description: Find the MPTCP keyword that the installed nginx accepts in listen
version_added: 1.0.0
description:
  - Asks nginx itself, with C(nginx -t) on a scratch configuration per
    keyword, whether it accepts C(listen ... multipath) (nginx 1.29.7 and
    later, freenginx 1.27.5 and later) or the patch-era C(listen ... mptcp);
    no version number is trusted.
  - A build without IPPROTO_MPTCP accepts C(multipath) with the warning
    "multipath is not supported on this platform, ignored" and exit status
    0 - that counts as not accepted.
  - The scratch configurations live in a temporary directory with their own
    prefix, pid and temp paths, and errors on stderr; it is removed
    afterwards. Nothing else on the host is read or changed, so the module
    runs the same in check mode.
  - An nginx that cannot be run is not an error here - RV(keyword) is empty
    and RV(error) says why, for the caller to decide.
author:
  - mptcp.linux maintainers (@mptcp-linux)
options:
  nginx:
    description: The nginx binary, a path or a name looked up in C(PATH).
    type: str
    default: nginx
attributes:
  check_mode:
    support: full
    description: Changes nothing on the managed host, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
  idempotent:
    support: full
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Which MPTCP keyword does this nginx take
  mptcp.linux.nginx_probe:
  register: probe

- name: Listen with it
  ansible.builtin.debug:
    msg: "listen 443 ssl {{ probe.keyword }};"
  when: probe.keyword != ''
"""

RETURN = r"""
keyword:
  description: The first keyword nginx accepted, C(multipath) before C(mptcp); empty when none.
  returned: always
  type: str
  sample: multipath
version:
  description: What C(nginx -v) printed after "nginx version:"; empty when unknown.
  returned: always
  type: str
  sample: nginx/1.30.0
verdicts:
  description: Per keyword tried, C(accepted) and nginx's C(message) (its error or warning lines, or its last line).
  returned: always
  type: dict
  sample:
    multipath: {accepted: false, message: invalid parameter "multipath"}
    mptcp: {accepted: false, message: invalid parameter "mptcp"}
error:
  description: Why nginx could not be run.
  returned: when nginx could not be run
  type: str
  sample: "cannot run nginx: No such file or directory"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils._nginx import probe


def main():
    module = AnsibleModule(argument_spec=dict(nginx=dict(type="str", default="nginx")), supports_check_mode=True)
    module.exit_json(changed=False, **probe(module.run_command, module.params["nginx"]))


if __name__ == "__main__":
    main()
