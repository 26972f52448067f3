# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

"""Which MPTCP keyword does the installed nginx accept in `listen`?

Usage: python3 - [NGINX] < nginx_probe.py

Tests a scratch configuration per keyword with `nginx -t` (own prefix, pid
and temp paths in a temporary directory, errors on stderr), the released
`multipath` first and the patch-era `mptcp` second, and prints one JSON
object: version (from `nginx -v`), keyword (the first one accepted, or ""
when none is) and verdicts (per keyword: accepted, and nginx's message).

A build without IPPROTO_MPTCP accepts `multipath` with the warning
"multipath is not supported on this platform, ignored" and exit status 0:
that counts as not accepted. Nothing is left behind; the host is not
changed, so the role runs this in check mode too.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile

KEYWORDS = ("multipath", "mptcp")
IGNORED = "not supported on this platform"

PROBE = """\
pid {dir}/nginx.pid;
error_log stderr;
events {{
}}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:9 {keyword};
    }}
}}
"""


def message(stderr):
    """nginx's own words: its [emerg]/[warn] lines without time, pid and
    the scratch file's name, else its last line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    found = []
    for line in lines:
        match = re.search(r"\[(emerg|alert|crit|error|warn)\] [0-9#]+: (.*)$", line)
        if match:
            found.append(re.sub(r" in \S+:[0-9]+$", "", match.group(2)))
    if found:
        return "; ".join(found)
    return lines[-1] if lines else ""


def verdict(returncode, stderr):
    """(accepted, message) of one probe."""
    text = message(stderr)
    return returncode == 0 and IGNORED not in stderr, text or ("exit status %d" % returncode)


def version(stderr):
    match = re.search(r"nginx version: (\S+)", stderr)
    return match.group(1) if match else ""


def probe(nginx):
    result = {"version": "", "keyword": "", "verdicts": {}}
    scratch = tempfile.mkdtemp(prefix="mptcp-nginx-probe.")
    try:
        for keyword in KEYWORDS:
            conf = "%s/%s.conf" % (scratch, keyword)
            with open(conf, "w") as handle:
                handle.write(PROBE.format(dir=scratch, keyword=keyword))
            # -v prints the version, then -t still tests the configuration.
            proc = subprocess.run([nginx, "-v", "-t", "-e", "stderr", "-p", scratch, "-c", conf],
                                  capture_output=True, text=True, check=False)
            result["version"] = result["version"] or version(proc.stderr)
            accepted, text = verdict(proc.returncode, proc.stderr)
            result["verdicts"][keyword] = {"accepted": accepted, "message": text}
            if accepted and not result["keyword"]:
                result["keyword"] = keyword
    except OSError as err:
        result["error"] = "cannot run %s: %s" % (nginx, err)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def main(argv):
    print(json.dumps(probe(argv[1] if len(argv) > 1 else "nginx"), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
