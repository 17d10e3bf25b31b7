"""tcpedu on the command line: list and run scenarios, print the profiles and the table; homework.

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
import contextlib
import errno
import os
import pathlib
import sys
import tempfile
from collections.abc import Iterator

from . import scenarios
from .assign import HomeworkError
from .machine import TRANSITIONS
from .profiles import PROFILES, profile_table_markdown

__all__ = [
    "main",
]


def _param(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param takes key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _parser() -> argparse.ArgumentParser:
    catalogue = "\n".join(f"  {n:22} {scenarios.get(n).summary.replace('``', '')}"   # reST literals as text
                          for n in scenarios.names())
    p = argparse.ArgumentParser(prog="tcpedu", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=f"scenarios:\n{catalogue}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           help="one of these; tcpedu COMMAND --help tells more")
    _command(sub, "scenarios", "list the scenarios and their parameters")
    run = _command(sub, "run", "run a scenario and print its trace", **_scenario_catalogue())
    _scenario_arguments(run)
    run.add_argument("--relative", action="store_true", help="numbers relative to each ISN")
    _command(sub, "profiles", "the rfc and linux profiles, with sources")
    _command(sub, "table", "the state-machine table (RFC 9293 Figure 5 and more)")
    lad = _command(sub, "ladder", "draw a scenario's (or a capture's) ladder to a file",
                   **_scenario_catalogue())
    _scenario_arguments(lad, optional=True)
    lad.add_argument("--pcap", metavar="FILE", help="draw a captured connection instead")
    lad.add_argument("--connection", type=int, default=0, help="which connection of the capture")
    lad.add_argument("--numbers", choices=("absolute", "relative"), default="absolute",
                     help="sequence numbers as sent, or counted from each side's ISN "
                          "(default: absolute)")
    lad.add_argument("--symbolic", action="store_true", help="seq=x, ack=y+1 ... as textbooks write")
    lad.add_argument("--hide", default="", metavar="FIELDS", help="e.g. seq,ack to leave blanks")
    lad.add_argument("--title", help="the title above the ladder (default: the scenario's name or "
                                     "the capture's file name)")
    lad.add_argument("-o", "--output", required=True, metavar="FILE",
                     help="a .png, .svg, .pdf or .gif (animated) file; .mp4 with ffmpeg")
    graph = _command(sub, "graph", "draw the state graph (RFC 9293 Figure 5) to a file")
    graph.add_argument("--paths", choices=("normal", "all"), default="normal",
                       help="normal: the arrows RFC 9293 Figure 5 draws; all: also the ones it "
                            "leaves out (default: normal)")
    graph.add_argument("--profile", choices=sorted(PROFILES),
                       help="only the transitions this profile takes (default: every one)")
    graph.add_argument("--trace", choices=scenarios.names(), metavar="SCENARIO",
                       help="light the path each host takes in this scenario")
    graph.add_argument("-o", "--output", metavar="FILE", help="a .png, .svg or .pdf file")
    graph.add_argument("--dot", action="store_true", help="print Graphviz DOT instead")
    _homework_parsers(sub)
    return p


def _command(sub, name: str, summary: str, **options) -> argparse.ArgumentParser:
    """A subcommand whose one-line summary is its entry in tcpedu --help and heads its own --help."""
    return sub.add_parser(name, help=summary, description=summary, **options)


def _scenario_catalogue() -> dict:
    """Options for a command that takes a SCENARIO: its --help ends with every scenario and
    the parameters it takes, with their defaults."""
    params = "\n".join(f"  {n:22} " + ", ".join(f"{k}={v!r}" for k, v in scenarios.get(n).params.items())
                       for n in scenarios.names())
    return {"formatter_class": argparse.RawDescriptionHelpFormatter,
            "epilog": f"scenarios and their parameters:\n{params}"}


def _scenario_arguments(parser, optional: bool = False) -> None:
    parser.add_argument("scenario", choices=scenarios.names(), metavar="SCENARIO",
                        nargs="?" if optional else None, help="one of the scenarios listed below")
    default = "the scenario's own" + ("; linux for a capture" if optional else "")
    parser.add_argument("--profile", choices=sorted(PROFILES),
                        help=f"the rules the hosts follow (default: {default})")
    parser.add_argument("--param", action="append", type=_param, default=[], metavar="KEY=VALUE",
                        help="set one of the scenario's parameters listed below, e.g. "
                             "client_isn=1000 (repeatable)")


class _Failure(Exception):
    """A file the command needs that cannot be read or written; main says it in one line and
    exits with status 1 (2 is for bad requests)."""


@contextlib.contextmanager
def _file(verb: str, path, *, any_file: bool = False) -> Iterator[None]:
    """An OSError inside becomes a _Failure, "cannot <verb> <path>: <strerror>"; with
    ``any_file`` (many files are written inside) it names the file the error names, if any."""
    try:
        yield
    except OSError as exc:           # ffmpeg's has no strerror but its own (multi-line) text
        if any_file:
            path = exc.filename2 or exc.filename or path      # filename2: the target of a rename
        raise _Failure(f"cannot {verb} {path}: {exc.strerror or ' '.join(str(exc).split())}") from None


def _check_readable(*paths) -> None:
    """Fail now, "cannot read PATH: ...", for the first of these input files (None: not given)
    that cannot be opened, rather than in the words of whichever reader trips on it."""
    for path in paths:
        if path is not None:
            with _file("read", path):
                open(path, "rb").close()


def _check_writable(path, folder: bool = False) -> None:
    """Fail with "cannot write PATH: ..." if a file cannot be written at ``path`` (or, with
    ``folder``, into it); makes the missing folders, as writing it would."""
    path = pathlib.Path(path)
    home = path if folder else path.parent
    with _file("write", path):
        if home.exists() and not home.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
        home.mkdir(parents=True, exist_ok=True)
        if not folder and path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        tempfile.TemporaryFile(dir=home).close()


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

        _check_readable(args.pcap)
        trace = read_pcap(args.pcap, args.connection, profile=args.profile or "linux")
    else:
        trace = _simulate(args).trace
    hide = tuple(f for f in args.hide.split(",") if f)
    with _file("write", args.output):
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
    with _file("write", args.output):
        graph.save_state_graph(args.output, paths=args.paths, profile=args.profile, trace=trace)
    print(f"wrote {args.output}")
    return 0


def _homework_parsers(sub) -> None:
    secret = "the course secret, first line of PATH (default: $TCPEDU_SECRET)"
    a = _command(sub, "assign", "write each student's notebook: OUT/<student_id>/<exercise>.ipynb")
    a.add_argument("source", metavar="SOURCE", help="an instructor source, exercises/<exercise>.ipynb")
    a.add_argument("--roster", required=True, metavar="CSV", help="a CSV with a student_id column")
    a.add_argument("--out", required=True, metavar="DIR",
                   help="the folder to write the notebooks into (made if missing)")
    a.add_argument("--solutions", action="store_true", help="fill in the correct answers (the key)")
    a.add_argument("--secret-file", metavar="PATH", help=secret)
    g = _command(sub, "grade", "grade DIR/<student_id>/<exercise>.ipynb without running any of it")
    g.add_argument("folder", metavar="DIR", help="the handed-in notebooks, one folder per student")
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
    from .assign import assign, course_secret, read_roster
    from .grading import grade_folder, write_results

    _check_readable(args.secret_file, args.roster, args.source if args.command == "assign" else None)
    secret = course_secret(args.secret_file)
    roster = read_roster(args.roster) if args.roster else None
    if args.command == "assign":
        with _file("write", args.out):
            paths = assign(args.source, roster, args.out, secret, solutions=args.solutions)
        kind = pathlib.Path(args.source).stem
        print(f"wrote {len(paths)} notebooks: {args.out}/<student_id>/{kind}.ipynb"
              + (" (with solutions)" if args.solutions else ""))
        return 0
    rows = grade_folder(args.folder, secret, roster, args.assignment, progress=_progress)
    _check_writable(args.feedback_dir or args.folder, folder=True)   # the folder now exists
    if args.format == "gradescope":
        _check_writable(pathlib.Path(args.out).parent / "gradescope", folder=True)
    _check_writable(args.out)
    with _file("write", args.out, any_file=True):     # a student's folder, a full disk...
        write_results(rows, args.folder, args.out, gradescope=args.format == "gradescope",
                      feedback_dir=args.feedback_dir)
    flagged = sum(r.status not in ("ok", "missing") for r in rows)
    print(f"wrote {args.out}: {len(rows)} rows, {sum(r.status == 'ok' for r in rows)} ok, "
          f"{sum(r.status == 'missing' for r in rows)} missing, {flagged} with a status to read")
    read = [r for r in rows if r.status != "missing" and not r.status.startswith("not a notebook")]
    if len(read) > 1 and all("numbers do not match" in r.status or "copied?" in r.status for r in read):
        print("tcpedu grade: no notebook has the numbers this secret gives its student: "
              "is this the secret the notebooks were assigned with?", file=sys.stderr)
    return 0


def _print(args) -> int:
    """scenarios, run, profiles and table: print what they show."""
    if args.command == "scenarios":
        for name in scenarios.names():
            print(scenarios.describe(name), end="\n\n")
    elif args.command == "run":
        sim = _simulate(args)
        print(sim.trace.relative() if args.relative else sim.trace)
    elif args.command == "profiles":
        print(profile_table_markdown())
    else:
        for row in TRANSITIONS:
            print(f"{str(row.state):13} {row.label:45} -> {str(row.next):13} §{row.section}")
    return 0


def _run(args) -> int:
    """The command; what stops it is said in one line, "tcpedu COMMAND: why", with status 1
    for a file it cannot read or write and 2 for a bad request (parameters, formats, a capture
    or notebook it cannot make sense of, a missing secret)."""
    command = {"scenarios": _print, "run": _print, "profiles": _print, "table": _print,
               "ladder": _ladder, "graph": _graph, "assign": _homework, "grade": _homework}
    try:
        return command[args.command](args)
    except (_Failure, ValueError, HomeworkError) as exc:
        print(f"tcpedu {args.command}: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, _Failure) else 2


def main(argv: list[str] | None = None) -> int:
    """tcpedu ARGS (argv, default the command line's); returns the exit status."""
    try:
        try:
            return _run(_parser().parse_args(argv))
        finally:            # a reader that went away shows here, not as "Exception ignored" at exit
            sys.stdout.flush()
    except BrokenPipeError:
        # tcpedu scenarios | head -1: stop quietly, as the signal module's "Note on SIGPIPE" does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
