"""``kefu config show|check|docs``: the settings registry (``kefu.conf``) from the command line.

None of them sets Django up: they read the environment through the registry, so they still
answer when a malformed value keeps Django from starting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from kefu import conf


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="show, check or document the KEFU_* settings")
    config_sub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    cp = config_sub.add_parser(
        "show", help="every setting, its effective value (secrets masked) and its source"
    )
    cp.add_argument(
        "--json", action="store_true", help="print JSON: {settings: [{name, value, source, secret}]}"
    )
    cp.set_defaults(func=cmd_show)
    cp = config_sub.add_parser(
        "check", help="report unknown variables, invalid values and unsafe combinations; exit 1 if any"
    )
    cp.set_defaults(func=cmd_check)
    cp = config_sub.add_parser("docs", help="print the README's configuration table (Markdown)")
    cp.set_defaults(func=cmd_docs)


def cmd_show(args: argparse.Namespace) -> int:
    rows = conf.show(os.environ)
    if args.json:
        print(json.dumps({"settings": rows}, ensure_ascii=False, indent=2))
        return 0
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        print(f"{row['name']:<{width}}  {row['source']:<7}  {row['value']}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    problems = conf.check(os.environ)
    for problem in problems:
        label = "error" if problem.severe else "warning"
        print(f"{label}: {problem.message}", file=sys.stderr)
    if any(problem.severe for problem in problems):
        return 1
    print("configuration ok" + (f" ({len(problems)} warnings)" if problems else ""))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    sys.stdout.write(conf.docs_table())
    return 0
