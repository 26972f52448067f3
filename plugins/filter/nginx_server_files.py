# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: nginx_server_files
short_description: Render nginx server or stream blocks as files for mptcp.linux.staged_files
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Renders a list of blocks in the shape of the mptcp.linux.mptcp_nginx
    role's C(mptcp_nginx_servers) or C(mptcp_nginx_streams) into the C(files)
    entries of mptcp.linux.staged_files - one C(mptcp-<name>.conf) per block
    in O(directory), rendered (mode C(0644)) when present, removed when
    absent.
  - Every argument is written again word by word, each word quoted as nginx
    must read it, so that the file holds exactly the words that
    mptcp.linux.nginx_server_problems checked. Check the blocks with it first -
    this filter fails on what it refuses.
  - C(listen) directives get O(keyword) (C(multipath), the patch-era
    C(mptcp), or nothing for a plain listen).
  - With O(include_in), the result also holds the C(stream { }) file
    O(include_file) that includes C(<directory>/*.conf), and the main
    configuration O(include_in) with an C(include) of it at its end (its
    current text is O(main_text); unchanged when the line is there).
positional: directory, context, keyword
options:
  _input:
    description: The blocks.
    type: list
    elements: dict
    required: true
  directory:
    description: Directory of the block files.
    type: str
    required: true
  context:
    description: C(http) for server blocks, C(stream) for stream blocks.
    type: str
    choices: [http, stream]
    default: http
  keyword:
    description: The MPTCP keyword of the C(listen) directives; empty for none.
    type: str
    default: ""
  include_file:
    description: Path of the C(stream { }) file (with O(include_in)).
    type: str
  include_in:
    description: Path of the main configuration that includes O(include_file).
    type: str
  main_text:
    description: Current text of O(include_in).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Install the server blocks, validated by nginx
  mptcp.linux.staged_files:
    name: web
    files: "{{ mptcp_nginx_servers | mptcp.linux.nginx_server_files('/etc/nginx/conf.d', 'http', 'multipath') }}"
    validate: [nginx, -t]
"""

RETURN = r"""
_value:
  description: The files, in the order to put them in place - the stream wrapper first, the main configuration last.
  type: list
  elements: dict
  sample:
    - path: /etc/nginx/conf.d/mptcp-web.conf
      content: "# Managed by the mptcp.linux.mptcp_nginx role: local changes are overwritten.\nserver {\n    listen 8080 multipath;\n}\n"
      mode: "0644"
    - path: /etc/nginx/conf.d/mptcp-old.conf
      state: absent
"""

from ansible.errors import AnsibleFilterError


def nginx_server_files(entries, directory, context="http", keyword="", include_file=None, include_in=None, main_text=""):
    from ansible_collections.mptcp.linux.plugins.module_utils import _nginx
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError
    if context not in ("http", "stream"):
        raise AnsibleFilterError("nginx_server_files: context must be http or stream, not %r" % (context,))
    problems = _nginx.block_problems(entries, "blocks", context)
    if problems:
        raise AnsibleFilterError("nginx_server_files: %s" % "; ".join(problems))
    try:
        files = _nginx.block_files(entries, directory, context, keyword or "")
        if include_in:
            if not include_file:
                raise AnsibleFilterError("nginx_server_files: include_in needs include_file")
            files.insert(0, {"path": include_file, "content": _nginx.streams_file(directory), "mode": "0644"})
            files.append({"path": include_in, "content": _nginx.with_include(main_text or "", include_file)})
    except QuoteError as err:
        raise AnsibleFilterError("nginx_server_files: %s" % err)
    return files


class FilterModule(object):
    def filters(self):
        return {"nginx_server_files": nginx_server_files}
