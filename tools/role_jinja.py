# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How much Jinja the roles' vars/main.yml files hold, per variable.

Role logic belongs in filter plugins and modules, which unit tests drive;
vars/main.yml holds data and short expressions. This prints, for each role,
the number of Jinja lines and loops, and fails when a variable's Jinja is
longer than the limit (--max-lines, default 5) or contains a loop.

    tools/role_jinja.py [--max-lines N] [--table]
"""

import argparse
import glob
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(path):
    """{variable: its source lines} for the variables whose value holds
    Jinja. The source, not the loaded value: a folded scalar loads as one line."""
    blocks, name = {}, None
    with open(path) as handle:
        for line in handle:
            if line[:1] not in ("", " ", "\n", "#", "-") and ":" in line:
                name = line.split(":", 1)[0]
                blocks[name] = []
            elif line[:1] in ("#", "\n") or line.startswith("---"):
                name = None
                continue
            if name is not None:
                blocks[name].append(line.rstrip("\n"))
    return {n: lines for n, lines in blocks.items() if any("{{" in x or "{%" in x for x in lines)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-lines", type=int, default=5)
    parser.add_argument("--table", action="store_true", help="print the per-role table (Markdown)")
    args = parser.parse_args(argv)
    problems, rows = [], []
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "vars", "main.yml"))):
        role = path.split(os.sep)[-3]
        variables = measure(path)
        lines = sum(len(v) for v in variables.values())
        loops = sum(sum(line.count("{% for") + line.count("{%- for") for line in v) for v in variables.values())
        longest = max((len(v) for v in variables.values()), default=0)
        rows.append((role, len(variables), lines, loops, longest))
        for name, found in sorted(variables.items()):
            if len(found) > args.max_lines:
                problems.append("roles/%s/vars/main.yml: %s has %d lines of Jinja (at most %d)"
                                % (role, name, len(found), args.max_lines))
            if any("{% for" in line or "{%- for" in line for line in found):
                problems.append("roles/%s/vars/main.yml: %s loops in Jinja; a filter plugin does that" % (role, name))
    if args.table:
        print("| role | variables | Jinja lines | loops | longest variable |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for row in rows:
            print("| %s | %d | %d | %d | %d |" % row)
        print("| **all** | %d | %d | %d | %d |" % tuple(
            [sum(r[i] for r in rows) for i in (1, 2, 3)] + [max(r[4] for r in rows)]))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
