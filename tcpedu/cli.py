"""``tcpedu`` on the command line: list and run scenarios, print the profiles and the table.

    tcpedu scenarios
    tcpedu run four_way_close --profile linux --param client_isn=1000 --relative
    tcpedu profiles
    tcpedu table
"""

from __future__ import annotations

import argparse
import ast
import sys

from . import scenarios
from .machine import TRANSITIONS
from .profiles import PROFILES, profile_table_markdown


def _param(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param takes key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _parser() -> argparse.ArgumentParser:
    catalogue = "\n".join(f"  {n:22} {scenarios.get(n).summary}" for n in scenarios.names())
    p = argparse.ArgumentParser(prog="tcpedu", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=f"scenarios:\n{catalogue}")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("scenarios", help="list the scenarios and their parameters")
    run = sub.add_parser("run", help="run a scenario and print its trace")
    run.add_argument("scenario", choices=scenarios.names(), metavar="SCENARIO")
    run.add_argument("--profile", choices=sorted(PROFILES))
    run.add_argument("--param", action="append", type=_param, default=[], metavar="KEY=VALUE")
    run.add_argument("--relative", action="store_true", help="numbers relative to each ISN")
    sub.add_parser("profiles", help="the rfc and linux profiles, with sources")
    sub.add_parser("table", help="the state-machine table (RFC 9293 Figure 5 and more)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "scenarios":
        for name in scenarios.names():
            print(scenarios.describe(name), end="\n\n")
    elif args.command == "run":
        params = dict(args.param)
        if args.profile:
            params["profile"] = args.profile
        try:
            sim = scenarios.run(args.scenario, **params)
        except ValueError as exc:
            print(f"tcpedu: {exc}", file=sys.stderr)
            return 2
        print(sim.trace.relative() if args.relative else sim.trace)
    elif args.command == "profiles":
        print(profile_table_markdown())
    else:
        for row in TRANSITIONS:
            print(f"{str(row.state):13} {row.label:45} -> {str(row.next):13} §{row.section}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
