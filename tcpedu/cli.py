"""``tcpedu`` on the command line: list and run scenarios, print the profiles and the table; homework.

    tcpedu scenarios
    tcpedu run four_way_close --profile linux --param client_isn=1000 --relative
    tcpedu profiles
    tcpedu table
    tcpedu assign exercises/handshake_numbers.ipynb --roster roster.csv --out release [--solutions]
    tcpedu grade submitted --out grades.csv [--roster roster.csv] [--format gradescope]
"""

from __future__ import annotations

import argparse
import ast
import pathlib
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
    _homework_parsers(sub)
    return p


def _homework_parsers(sub) -> None:
    secret = "the course secret, first line of PATH (default: $TCPEDU_SECRET)"
    a = sub.add_parser("assign", help="write each student's notebook: OUT/<student_id>/<exercise>.ipynb")
    a.add_argument("source", metavar="SOURCE", help="an instructor source, exercises/<exercise>.ipynb")
    a.add_argument("--roster", required=True, metavar="CSV", help="a CSV with a student_id column")
    a.add_argument("--out", required=True, metavar="DIR")
    a.add_argument("--solutions", action="store_true", help="fill in the correct answers (the key)")
    a.add_argument("--secret-file", metavar="PATH", help=secret)
    g = sub.add_parser("grade", help="grade DIR/<student_id>/<exercise>.ipynb without running any of it")
    g.add_argument("folder", metavar="DIR")
    g.add_argument("--out", required=True, metavar="CSV", help="the gradebook to write")
    g.add_argument("--format", choices=("csv", "gradescope"), default="csv",
                   help="gradescope: also write <CSV's folder>/gradescope/<student_id>/results.json")
    g.add_argument("--roster", metavar="CSV", help="lists missing notebooks and notes other folders")
    g.add_argument("--assignment", action="append", metavar="EXERCISE",
                   help="grade only these exercises (repeatable; default: every one found)")
    g.add_argument("--feedback-dir", metavar="DIR",
                   help="write <student_id>/<exercise>.feedback.txt here (default: next to the notebooks)")
    g.add_argument("--secret-file", metavar="PATH", help=secret)


def _progress(i: int, n: int) -> None:
    """``graded i/n`` on stdout: one line rewritten with \\r on a terminal, every 100 otherwise."""
    out = sys.stdout
    if getattr(out, "isatty", lambda: False)():
        out.write(f"\rgraded {i}/{n}" + ("\n" if i == n else ""))
        out.flush()
    elif i == n or i % 100 == 0:
        print(f"graded {i}/{n}", file=out)


def _homework(args) -> int:
    from .assign import HomeworkError, assign, course_secret, read_roster
    from .grading import grade_folder, write_results

    try:
        secret = course_secret(args.secret_file)
        roster = read_roster(args.roster) if args.roster else None
        if args.command == "assign":
            paths = assign(args.source, roster, args.out, secret, solutions=args.solutions)
            kind = pathlib.Path(args.source).stem
            print(f"wrote {len(paths)} notebooks: {args.out}/<student_id>/{kind}.ipynb"
                  + (" (with solutions)" if args.solutions else ""))
            return 0
        rows = grade_folder(args.folder, secret, roster, args.assignment, progress=_progress)
        write_results(rows, args.folder, args.out, gradescope=args.format == "gradescope",
                      feedback_dir=args.feedback_dir)
    except HomeworkError as exc:
        print(f"tcpedu {args.command}: {exc}", file=sys.stderr)
        return 2
    flagged = sum(r.status not in ("ok", "missing") for r in rows)
    print(f"wrote {args.out}: {len(rows)} rows, {sum(r.status == 'ok' for r in rows)} ok, "
          f"{sum(r.status == 'missing' for r in rows)} missing, {flagged} with a status to read")
    read = [r for r in rows if r.status != "missing" and not r.status.startswith("not a notebook")]
    if len(read) > 1 and all("numbers do not match" in r.status or "copied?" in r.status for r in read):
        print("tcpedu grade: no notebook has the numbers this secret gives its student: "
              "is this the secret the notebooks were assigned with?", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("assign", "grade"):
        return _homework(args)
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
