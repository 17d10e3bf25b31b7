"""``tcpedu`` on the command line: list and run scenarios, print the profiles and the table; homework.

    tcpedu scenarios
    tcpedu run four_way_close --profile linux --param client_isn=1000 --relative
    tcpedu profiles
    tcpedu table
    tcpedu ladder three_way_close --profile linux --param client_isn=1000 -o close.svg
    tcpedu ladder --pcap capture.pcap [--connection 0] -o capture.png
    tcpedu graph [--paths all] [--trace four_way_close] -o states.svg
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
    _scenario_arguments(run)
    run.add_argument("--relative", action="store_true", help="numbers relative to each ISN")
    sub.add_parser("profiles", help="the rfc and linux profiles, with sources")
    sub.add_parser("table", help="the state-machine table (RFC 9293 Figure 5 and more)")
    params = "\n".join(f"  {n:22} " + ", ".join(f"{k}={v!r}" for k, v in scenarios.get(n).params.items())
                       for n in scenarios.names())
    lad = sub.add_parser("ladder", help="draw a scenario's (or a capture's) ladder to a file",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         epilog=f"scenarios and their parameters:\n{params}")
    _scenario_arguments(lad, optional=True)
    lad.add_argument("--pcap", metavar="FILE", help="draw a captured connection instead")
    lad.add_argument("--connection", type=int, default=0, help="which connection of the capture")
    lad.add_argument("--numbers", choices=("absolute", "relative"), default="absolute")
    lad.add_argument("--symbolic", action="store_true", help="seq=x, ack=y+1 ... as textbooks write")
    lad.add_argument("--hide", default="", metavar="FIELDS", help="e.g. seq,ack to leave blanks")
    lad.add_argument("--title")
    lad.add_argument("-o", "--output", required=True, metavar="FILE",
                     help="a .png, .svg, .pdf or .gif (animated) file; .mp4 with ffmpeg")
    graph = sub.add_parser("graph", help="draw the state graph (RFC 9293 Figure 5) to a file")
    graph.add_argument("--paths", choices=("normal", "all"), default="normal")
    graph.add_argument("--profile", choices=sorted(PROFILES))
    graph.add_argument("--trace", choices=scenarios.names(), metavar="SCENARIO",
                       help="light the path each host takes in this scenario")
    graph.add_argument("-o", "--output", metavar="FILE", help="a .png, .svg or .pdf file")
    graph.add_argument("--dot", action="store_true", help="print Graphviz DOT instead")
    _homework_parsers(sub)
    return p


def _scenario_arguments(parser, optional: bool = False) -> None:
    parser.add_argument("scenario", choices=scenarios.names(), metavar="SCENARIO",
                        nargs="?" if optional else None)
    parser.add_argument("--profile", choices=sorted(PROFILES))
    parser.add_argument("--param", action="append", type=_param, default=[], metavar="KEY=VALUE")


def _simulate(args):
    """The scenario the arguments name, run; ValueError for bad parameters."""
    params = dict(args.param)
    if args.profile:
        params["profile"] = args.profile
    return scenarios.run(args.scenario, **params)


def _ladder(args) -> int:
    if (args.scenario is None) == (args.pcap is None):
        raise ValueError("give a SCENARIO or --pcap FILE (one of them)")
    if args.pcap:
        from .capture import read_pcap

        trace = read_pcap(args.pcap, args.connection, profile=args.profile or "linux")
    else:
        trace = _simulate(args).trace
    hide = tuple(f for f in args.hide.split(",") if f)
    trace.save(args.output, numbers=args.numbers, symbolic=args.symbolic, hide=hide,
               title=args.title or (args.scenario or pathlib.Path(args.pcap).name))
    print(f"wrote {args.output}")
    return 0


def _graph(args) -> int:
    from . import graph

    if args.dot:
        print(graph.to_dot(graph.state_graph(args.profile, args.paths)))
        return 0
    if not args.output:
        raise ValueError("give -o FILE (or --dot)")
    trace = scenarios.run(args.trace, **({"profile": args.profile} if args.profile else {})
                          ).trace if args.trace else None
    graph.save_state_graph(args.output, paths=args.paths, profile=args.profile, trace=trace)
    print(f"wrote {args.output}")
    return 0


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
    elif args.command in ("run", "ladder", "graph"):
        try:
            if args.command == "ladder":
                return _ladder(args)
            if args.command == "graph":
                return _graph(args)
            sim = _simulate(args)
        except ValueError as exc:           # bad parameters, unreadable captures, bad formats
            print(f"tcpedu {args.command}: {exc}", file=sys.stderr)
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
