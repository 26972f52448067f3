# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate each role's variable reference from its meta/argument_specs.yml.

The section between the BEGIN/END markers of roles/<role>/README.md is
rewritten from the argument specs, so the README and the specs that Ansible
enforces never drift. With --check nothing is written; the exit status is 1
when a README is out of date (make lint runs this).

Usage: tools/role-docs [--check] [ROLE_DIR ...]   (default: every roles/*)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import glob
import os
import re
import sys

import yaml

BEGIN = "<!-- BEGIN ARGUMENT SPECS -->"
END = "<!-- END ARGUMENT SPECS -->"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Ansible's documentation markup, as Markdown.
MARKUP = (
    (re.compile(r"L\(([^)]+?),\s*([^)]+)\)"), r"[\1](\2)"),
    (re.compile(r"[COVMPE]\(([^)]+)\)"), r"`\1`"),
    (re.compile(r"I\(([^)]+)\)"), r"*\1*"),
    (re.compile(r"B\(([^)]+)\)"), r"**\1**"),
    (re.compile(r"U\(([^)]+)\)"), r"<\1>"),
)


def _text(value):
    """One Markdown table cell: a description may be a string or a list."""
    if isinstance(value, list):
        value = " ".join(str(item) for item in value)
    value = " ".join(str(value).split())
    for pattern, replacement in MARKUP:
        value = pattern.sub(replacement, value)
    return value.replace("|", "\\|")


def _code(value):
    return "`%s`" % yaml.safe_dump(value, default_flow_style=True, width=1000).strip().replace("\n...", "").strip()


def _type(spec):
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        kind = "list of %s" % spec["elements"]
    return kind


def _rows(options, prefix=""):
    for name in sorted(options):
        spec = options[name] or {}
        path = prefix + name
        if spec.get("required"):
            default = "*required*"
        elif "default" in spec:
            default = _code(spec["default"])
        else:
            default = ""
        choices = ", ".join(_code(choice) for choice in spec.get("choices", []))
        yield "| `%s` | %s | %s | %s | %s |" % (path, _type(spec), default, choices, _text(spec.get("description", "")))
        if spec.get("options"):
            suffix = "[]." if spec.get("type") == "list" else "."
            yield from _rows(spec["options"], path + suffix)


def render(specs):
    """The Markdown of all entry points of one role."""
    lines = []
    entry_points = specs.get("argument_specs", {})
    for entry in sorted(entry_points, key=lambda name: (name != "main", name)):
        spec = entry_points[entry]
        lines.append("### Entry point `%s`" % entry)
        lines.append("")
        if spec.get("short_description"):
            lines.append(_text(spec["short_description"]))
            lines.append("")
        if spec.get("description"):
            lines.append(_text(spec["description"]))
            lines.append("")
        options = spec.get("options") or {}
        if not options:
            lines.append("This entry point takes no variables.")
            lines.append("")
            continue
        lines.append("| Variable | Type | Default | Choices | Description |")
        lines.append("| --- | --- | --- | --- | --- |")
        lines.extend(_rows(options))
        lines.append("")
    return "\n".join(lines)


def update(readme_text, section):
    """readme_text with the generated section between the markers replaced."""
    start = readme_text.find(BEGIN)
    stop = readme_text.find(END)
    if start < 0 or stop < start:
        raise ValueError("missing %s ... %s markers" % (BEGIN, END))
    head = readme_text[: start + len(BEGIN)]
    return "%s\n\n%s\n%s" % (head, section, readme_text[stop:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail instead of writing when a README is out of date")
    parser.add_argument("roles", nargs="*", help="role directories (default: roles/*)")
    args = parser.parse_args(argv)
    roles = args.roles or sorted(glob.glob(os.path.join(ROOT, "roles", "*", "")))
    stale = []
    for role in roles:
        role = role.rstrip("/")
        specs_path = os.path.join(role, "meta", "argument_specs.yml")
        readme_path = os.path.join(role, "README.md")
        name = os.path.basename(role)
        if not os.path.exists(specs_path):
            stale.append("%s: no meta/argument_specs.yml" % name)
            continue
        with open(specs_path) as handle:
            specs = yaml.safe_load(handle)
        try:
            with open(readme_path) as handle:
                current = handle.read()
            wanted = update(current, render(specs))
        except (IOError, OSError, ValueError) as exc:
            stale.append("%s: README.md: %s" % (name, exc))
            continue
        if wanted == current:
            continue
        if args.check:
            stale.append("%s: README.md is out of date: run tools/role-docs" % name)
        else:
            with open(readme_path + ".tmp", "w") as handle:
                handle.write(wanted)
            os.rename(readme_path + ".tmp", readme_path)
            print("role-docs: updated %s" % os.path.relpath(readme_path, ROOT))
    for problem in stale:
        print("role-docs: " + problem, file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
