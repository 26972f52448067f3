# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: nginx for the mptcp_nginx role.

- The role's blocks: ``block_problems()`` checks a list of server or stream
  blocks and names every problem with its variable path;
  ``block_files()`` renders them, each argument re-quoted through
  ``_quote`` so that nginx reads exactly the words that were checked, into
  the entries that mptcp.linux.staged_files installs.
- The probe: which MPTCP keyword the installed nginx accepts in ``listen``
  (``probe()``), asked of nginx itself with ``nginx -t`` on scratch
  configurations.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re
import shutil
import tempfile

from ansible_collections.mptcp.linux.plugins.module_utils._quote import (
    QuoteError,
    nginx_arguments,
    nginx_directive,
    nginx_word,
)

HEADER = "# Managed by the mptcp.linux.mptcp_nginx role: local changes are overwritten.\n"
STREAMS_HEADER = "# Managed by the mptcp.linux.mptcp_nginx role: the stream server blocks.\n"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_HOST = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.?")
_CODE = re.compile(r"[0-9]{3}")
_LOCATION_MODIFIERS = ("=", "~", "~*", "^~")
_LINE_BREAKS = (("\n", "a newline"), ("\r", "a carriage return"), ("\x00", "a NUL byte"))

# listen parameters that cannot go with MPTCP, or that the role adds itself.
RESERVED_OPTIONS = {
    "quic": "QUIC runs over UDP and cannot be combined with multipath",
    "udp": "UDP cannot be combined with multipath",
    "multipath": "the role adds the MPTCP keyword itself",
    "mptcp": "the role adds the MPTCP keyword itself",
}


# ------------------------------------------------------------ checks


def _show(value):
    return json.dumps(value)


def _breaks(value):
    for char, name in _LINE_BREAKS:
        if char in value:
            return "contains %s" % name
    return None


def _words(value, where, problems):
    """The nginx words of an argument string, or None (a problem noted)."""
    if not isinstance(value, str):
        problems.append("%s: %s is not a string" % (where, _show(value)))
        return None
    reason = _breaks(value)
    if reason is None:
        try:
            return nginx_arguments(value)
        except QuoteError as err:
            reason = str(err)
    problems.append("%s: %s %s" % (where, _show(value), reason))
    return None


def _one_word(value, where, problems):
    words = _words(value, where, problems)
    if words is None:
        return None
    if len(words) != 1:
        problems.append("%s: %s is not one word (nginx reads %d: %s; quote it to keep a blank)"
                        % (where, _show(value), len(words), _show(words)))
        return None
    return words[0]


def _directive(value, where, problems):
    words = _words(value, where, problems)
    if words is not None and not words:
        problems.append("%s: %s is an empty directive" % (where, _show(value)))


def _return(value, where, problems):
    words = _words(value, where, problems)
    if words is None:
        return
    if not words or len(words) > 2 or (len(words) == 2 and not _CODE.fullmatch(words[0])):
        problems.append("%s: %s is not a return value (a status code, a code and a text or URL, or a URL; "
                        "nginx reads %s; quote a text with blanks)" % (where, _show(value), _show(words)))


def _location_path(value, where, problems):
    words = _words(value, where, problems)
    if words is None:
        return
    if not words or len(words) > 2 or (len(words) == 2 and words[0] not in _LOCATION_MODIFIERS):
        problems.append("%s: %s is not a location match (a URI, or one of %s and a URI; nginx reads %s)"
                        % (where, _show(value), " ".join(_LOCATION_MODIFIERS), _show(words)))


def _address(value, where, problems):
    word = _one_word(value, where, problems)
    if word is None:
        return
    bare = word[1:-1] if word.startswith("[") and word.endswith("]") else word
    try:
        ipaddress.ip_address(bare)
        return
    except ValueError:
        pass
    if word == "*" or (bare == word and _HOST.fullmatch(word)):
        return
    problems.append("%s: %s is not an IP address or host name" % (where, _show(value)))


def _port(value, where, problems):
    text = str(value)
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        problems.append("%s: %s is not a TCP port (1 to 65535)" % (where, _show(value)))


def _listen_problems(item, where, problems):
    if not isinstance(item, dict):
        problems.append("%s: %s is not a dictionary" % (where, _show(item)))
        return
    _port(item.get("port"), where + ".port", problems)
    if item.get("address") is not None:
        _address(item["address"], where + ".address", problems)
    for flag in ("quic", "udp"):
        if item.get(flag):
            problems.append("%s.%s: %s" % (where, flag, RESERVED_OPTIONS[flag]))
    for index, option in enumerate(item.get("options") or []):
        at = "%s.options[%d]" % (where, index)
        word = _one_word(option, at, problems)
        if word is not None and word.lower().split("=")[0] in RESERVED_OPTIONS:
            problems.append("%s: %s: %s" % (at, _show(option), RESERVED_OPTIONS[word.lower().split("=")[0]]))


def block_problems(entries, variable, context="http"):
    """One message per problem of the blocks ENTRIES (the role variable
    VARIABLE; CONTEXT http for server blocks, stream for stream blocks),
    each starting with the path of the field: nothing nginx would read
    differently from what was given (a comment, a ';' or a brace outside
    quotes, an unbalanced quote, a line break), nothing MPTCP cannot carry."""
    problems = []
    names = set()
    if not isinstance(entries, list):
        return ["%s: %s is not a list" % (variable, _show(entries))]
    for index, entry in enumerate(entries):
        at = "%s[%d]" % (variable, index)
        if not isinstance(entry, dict):
            problems.append("%s: %s is not a dictionary" % (at, _show(entry)))
            continue
        name = "" if entry.get("name") is None else str(entry.get("name"))
        if not _NAME.fullmatch(name):
            problems.append('%s.name: %s is not a valid name (letters, digits, ".", "_" and "-", '
                            'starting with a letter or digit)' % (at, _show(entry.get("name"))))
        elif name in names:
            problems.append("%s.name: %s is given twice" % (at, _show(name)))
        names.add(name)
        present = entry.get("state", "present") == "present"
        listen = entry.get("listen") or []
        if present and not listen:
            problems.append("%s.listen: a present block needs at least one listen entry" % at)
        for number, item in enumerate(listen):
            _listen_problems(item, "%s.listen[%d]" % (at, number), problems)
        for number, directive in enumerate(entry.get("directives") or []):
            _directive(directive, "%s.directives[%d]" % (at, number), problems)
        if context == "stream":
            if entry.get("proxy_pass") in (None, ""):
                if present:
                    problems.append('%s.proxy_pass: is required: one word, for example "127.0.0.1:22"' % at)
            else:
                _one_word(entry["proxy_pass"], at + ".proxy_pass", problems)
            continue
        for number, server_name in enumerate(entry.get("server_name") or []):
            _one_word(server_name, "%s.server_name[%d]" % (at, number), problems)
        if entry.get("root") not in (None, ""):
            _one_word(entry["root"], at + ".root", problems)
        if entry.get("return") not in (None, ""):
            _return(entry["return"], at + ".return", problems)
        for number, location in enumerate(entry.get("locations") or []):
            where = "%s.locations[%d]" % (at, number)
            if not isinstance(location, dict):
                problems.append("%s: %s is not a dictionary" % (where, _show(location)))
                continue
            _location_path(location.get("path"), where + ".path", problems)
            for count, directive in enumerate(location.get("directives") or []):
                _directive(directive, "%s.directives[%d]" % (where, count), problems)
            if location.get("return") not in (None, ""):
                _return(location["return"], where + ".return", problems)
    return problems


# ------------------------------------------------------------ rendering


def _quoted(text):
    """An argument string re-quoted word by word (checked before)."""
    return " ".join(nginx_word(word) for word in nginx_arguments(text))


def _listen(item, keyword):
    address = item.get("address")
    address = "" if address in (None, "") else nginx_arguments(address)[0]
    if ":" in address and not address.startswith("["):
        address = "[%s]" % address
    words = [(address + ":" if address else "") + str(int(item["port"]))]
    if item.get("default_server"):
        words.append("default_server")
    if item.get("ssl"):
        words.append("ssl")
    words.extend(nginx_arguments(option)[0] for option in item.get("options") or [])
    if keyword:
        words.append(keyword)
    return "listen %s;" % " ".join(nginx_word(word) for word in words)


def render_block(entry, context="http", keyword=""):
    """The file of one server (http) or stream block, every argument
    re-quoted from the words nginx will read (block_problems() first)."""
    lines = [HEADER.rstrip("\n"), "server {"]
    lines.extend("    " + _listen(item, keyword) for item in entry.get("listen") or [])
    if context == "stream":
        lines.append("    proxy_pass %s;" % _quoted(entry["proxy_pass"]))
    if context == "http" and entry.get("server_name"):
        lines.append("    server_name %s;" % " ".join(_quoted(name) for name in entry["server_name"]))
    if context == "http" and entry.get("root") not in (None, ""):
        lines.append("    root %s;" % _quoted(entry["root"]))
    lines.extend("    %s;" % nginx_directive(directive) for directive in entry.get("directives") or [])
    for location in entry.get("locations") or [] if context == "http" else []:
        lines.extend(["", "    location %s {" % _quoted(location["path"])])
        lines.extend("        %s;" % nginx_directive(directive) for directive in location.get("directives") or [])
        if location.get("return") not in (None, ""):
            lines.append("        return %s;" % _quoted(location["return"]))
        lines.append("    }")
    if context == "http" and entry.get("return") not in (None, ""):
        lines.extend(["", "    return %s;" % _quoted(entry["return"])])
    lines.append("}")
    return "\n".join(lines) + "\n"


def block_path(directory, entry):
    return "%s/mptcp-%s.conf" % (directory.rstrip("/"), entry["name"])


def block_files(entries, directory, context="http", keyword=""):
    """The staged_files entries of the blocks ENTRIES: present ones
    rendered (mode 0644), absent ones removed."""
    files = []
    for entry in entries:
        path = block_path(directory, entry)
        if entry.get("state", "present") == "absent":
            files.append({"path": path, "state": "absent"})
        else:
            files.append({"path": path, "content": render_block(entry, context, keyword), "mode": "0644"})
    return files


def include_line(path):
    return "include %s;" % nginx_word(path)


def streams_file(stream_dir):
    """The stream { } block that includes the stream server files."""
    return "%sstream {\n    %s\n}\n" % (STREAMS_HEADER, include_line(stream_dir.rstrip("/") + "/*.conf"))


def with_include(text, path):
    """TEXT (a main configuration) with a top-level ``include PATH;`` line
    at its end, unless a line says exactly that already."""
    line = include_line(path)
    if any(existing.strip() == line for existing in text.splitlines()):
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + line + "\n"


# ------------------------------------------------------------ the probe

KEYWORDS = ("multipath", "mptcp")
IGNORED = "not supported on this platform"

PROBE_CONF = """\
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


def probe_message(stderr):
    """nginx's own words: its [emerg]/[warn] lines without time, pid and
    the scratch file's name, else its last line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    found = []
    for line in lines:
        match = re.search(r"\[(?:emerg|alert|crit|error|warn)\] [0-9#]+: (.*)\Z", line)
        if match:
            found.append(re.sub(r" in \S+:[0-9]+\Z", "", match.group(1)))
    if found:
        return "; ".join(found)
    return lines[-1] if lines else ""


def probe_verdict(returncode, stderr):
    """(accepted, message) of one probe: exit status 0 and no "not
    supported on this platform" warning (a build without IPPROTO_MPTCP
    accepts `multipath` with that warning)."""
    text = probe_message(stderr)
    return returncode == 0 and IGNORED not in stderr, text or ("exit status %d" % returncode)


def probe_version(stderr):
    match = re.search(r"nginx version: (\S+)", stderr)
    return match.group(1) if match else ""


def probe(run_command, nginx="nginx"):
    """Which MPTCP keyword NGINX accepts in `listen`: the released
    `multipath` first, the patch-era `mptcp` second. Each is tested with
    `nginx -t`, run by RUN_COMMAND (the module's run_command), on a scratch
    configuration in a temporary directory (own prefix, pid and temp paths,
    errors on stderr), removed afterwards.
    Returns {version, keyword ("" when none), verdicts: {keyword:
    {accepted, message}}}, and error when nginx cannot be run."""
    result = {"version": "", "keyword": "", "verdicts": {}}
    scratch = tempfile.mkdtemp(prefix="mptcp-nginx-probe.")
    try:
        for keyword in KEYWORDS:
            conf = "%s/%s.conf" % (scratch, keyword)
            with open(conf, "w") as handle:
                handle.write(PROBE_CONF.format(dir=scratch, keyword=keyword))
            # -v prints the version, then -t still tests the configuration.
            rc, _stdout, stderr = run_command([nginx, "-v", "-t", "-e", "stderr", "-p", scratch, "-c", conf],
                                              encoding=None, expand_user_and_vars=False, handle_exceptions=False)
            stderr = stderr.decode("utf-8", "replace")
            result["version"] = result["version"] or probe_version(stderr)
            accepted, text = probe_verdict(rc, stderr)
            result["verdicts"][keyword] = {"accepted": accepted, "message": text}
            if accepted and not result["keyword"]:
                result["keyword"] = keyword
    except OSError as err:
        result["error"] = "cannot run %s: %s" % (nginx, err.strerror or err)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def listen_ports(entries):
    """The ports the present blocks of ENTRIES listen on, sorted, once each."""
    ports = set()
    for entry in entries:
        if entry.get("state", "present") == "present":
            ports.update(int(item["port"]) for item in entry.get("listen") or [])
    return sorted(ports)
