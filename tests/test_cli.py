"""The instructor CLI: scenarios, traces, ladders and the state graph from the command line."""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tcpedu import scenarios
from tcpedu.cli import _parser, main

DATA = os.path.join(os.path.dirname(__file__), "data")
SOURCE = str(Path(__file__).resolve().parent.parent / "exercises" / "handshake_numbers.ipynb")
COMMANDS = ("scenarios", "run", "profiles", "table", "ladder", "graph", "assign", "grade")


def tcpedu(*argv, **options) -> subprocess.CompletedProcess:
    """The real command line, python -m tcpedu ARGV; its output as text."""
    return subprocess.run([sys.executable, "-m", "tcpedu", *argv], capture_output=True, text=True,
                          **options)


def test_run_prints_the_trace_and_rejects_unknown_parameters(capsys):
    assert main(["run", "three_way_close", "--profile", "linux", "--param", "client_isn=1000",
                 "--relative"]) == 0
    out = capsys.readouterr().out
    assert "Flags [F.]" in out and out.count("\n") == 6
    assert main(["run", "handshake", "--param", "bogus=1"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_ladder_of_a_scenario_and_of_a_capture(tmp_path, capsys):
    svg = tmp_path / "close.svg"
    assert main(["ladder", "three_way_close", "--profile", "linux", "--param", "client_isn=1000",
                 "--hide", "ack", "-o", str(svg)]) == 0
    text = svg.read_text()            # labels are glyph paths; test_ladder checks hidden fields
    assert text.startswith("<?xml") and "<svg" in text and text.count("<path") > 20
    png = tmp_path / "capture.png"
    assert main(["ladder", "--pcap", os.path.join(DATA, "three_way_close.pcap"), "--numbers",
                 "relative", "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.count("wrote") == 2


@pytest.mark.parametrize("argv, message", [
    (["ladder", "-o", "x.png"], "SCENARIO or --pcap"),
    (["ladder", "handshake", "-o", "x.bmp"], ".png"),
    (["graph"], "-o FILE"),
])
def test_bad_requests_exit_2_and_say_why(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_graph_to_file_and_dot(tmp_path, capsys):
    out = tmp_path / "states.svg"
    assert main(["graph", "--trace", "four_way_close", "--paths", "all", "-o", str(out)]) == 0
    assert out.read_text().startswith("<?xml") and "wrote" in capsys.readouterr().out
    assert main(["graph", "--dot"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph") and "LISTEN -> SYN-RECEIVED" in dot.replace('"', "")  # pydot or not


@pytest.fixture
def workdir(tmp_path):
    """A folder with a regular file (file), folders (folder, folder.png), a secret, a roster of
    two and their handed-in notebooks (submitted/<student_id>/handshake_numbers.ipynb)."""
    (tmp_path / "file").write_text("a regular file\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "secret.txt").write_text("a test secret\n")
    (tmp_path / "roster.csv").write_text("student_id\nann\nbob\n")
    assert main(["assign", SOURCE, "--roster", str(tmp_path / "roster.csv"), "--out",
                 str(tmp_path / "submitted"), "--secret-file", str(tmp_path / "secret.txt")]) == 0
    return tmp_path


ASSIGN = ["assign", SOURCE, "--roster", "roster.csv", "--secret-file", "secret.txt"]
GRADE = ["grade", "submitted", "--secret-file", "secret.txt"]
NOENT, NOTDIR, ISDIR = "No such file or directory", "Not a directory", "Is a directory"


@pytest.mark.parametrize("argv, message", [
    (["ladder", "handshake", "-o", "no/such/x.png"], f"ladder: cannot write no/such/x.png: {NOENT}"),
    (["ladder", "handshake", "-o", "folder.png"], f"ladder: cannot write folder.png: {ISDIR}"),
    (["ladder", "handshake", "-o", "file/x.gif"], f"ladder: cannot write file/x.gif: {NOTDIR}"),
    (["graph", "-o", "no/such/states.svg"], f"graph: cannot write no/such/states.svg: {NOENT}"),
    (["graph", "-o", "folder.png"], f"graph: cannot write folder.png: {ISDIR}"),
    (["graph", "-o", "file/states.pdf"], f"graph: cannot write file/states.pdf: {NOTDIR}"),
    ([*ASSIGN, "--out", "file"], f"assign: cannot write file: {NOTDIR}"),
    ([*ASSIGN, "--out", "file/release"], f"assign: cannot write file/release: {NOTDIR}"),
    ([*GRADE, "--out", "folder"], f"grade: cannot write folder: {ISDIR}"),
    ([*GRADE, "--out", "file/grades.csv"], f"grade: cannot write file/grades.csv: {NOTDIR}"),
    ([*GRADE, "--out", "g.csv", "--feedback-dir", "file"], f"grade: cannot write file: {NOTDIR}"),
    ([*GRADE, "--out", "g.csv", "--feedback-dir", "file/fb"], f"grade: cannot write file/fb: {NOTDIR}"),
    ([*GRADE, "--out", "folder/g.csv", "--format", "gradescope"],
     f"grade: cannot write folder/gradescope: {NOTDIR}"),
    (["ladder", "--pcap", "no/such.pcap", "-o", "x.png"], f"ladder: cannot read no/such.pcap: {NOENT}"),
    (["ladder", "--pcap", "folder", "-o", "x.png"], f"ladder: cannot read folder: {ISDIR}"),
    (["assign", "no/handshake_numbers.ipynb", *ASSIGN[2:], "--out", "release"],
     f"assign: cannot read no/handshake_numbers.ipynb: {NOENT}"),
    ([*ASSIGN[:2], "--roster", "no/roster.csv", "--out", "release"],
     f"assign: cannot read no/roster.csv: {NOENT}"),
    ([*GRADE, "--out", "g.csv", "--roster", "folder"], f"grade: cannot read folder: {ISDIR}"),
    (["grade", "submitted", "--secret-file", "no/secret", "--out", "g.csv"],
     f"grade: cannot read no/secret: {NOENT}"),
])
def test_a_file_that_cannot_be_written_or_read_is_one_line_status_1_and_nothing_written(
        argv, message, workdir):
    """The exact line (so no traceback either) naming the path as given; as root too, so no
    permission cases.  grade checks its outputs before it writes any feedback."""
    (workdir / "folder" / "gradescope").write_text("in the way\n")
    before = sorted(p for p in workdir.rglob("*") if p.is_file())
    done = tcpedu(*argv, cwd=workdir)
    assert (done.returncode, done.stderr) == (1, f"tcpedu {message}\n")
    assert sorted(p for p in workdir.rglob("*") if p.is_file()) == before


@pytest.mark.parametrize("argv", [["scenarios"], ["profiles"], ["run", "four_way_close"], ["table"],
                                  ["graph", "--dot"], ["run", "--help"]])
def test_a_reader_that_closes_the_pipe_early_stops_tcpedu_quietly(argv):
    """tcpedu scenarios | head -1, the reader gone before tcpedu writes (so this cannot pass by
    luck): nothing on stderr, neither a BrokenPipeError nor Python's "Exception ignored" when it
    flushes at exit (the output fits the buffer: PYTHONUNBUFFERED unset), and status 1, as the
    signal module's note on SIGPIPE does (argparse drops its own write errors: an unbuffered
    --help ends with 0)."""
    for unbuffered in ({}, {"PYTHONUNBUFFERED": "1"}):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | unbuffered
        reader, writer = os.pipe()
        os.close(reader)
        try:
            done = subprocess.run([sys.executable, "-m", "tcpedu", *argv], stdout=writer,
                                  stderr=subprocess.PIPE, text=True, env=env)
        finally:
            os.close(writer)
        assert done.stderr == "", unbuffered
        assert done.returncode == (0 if unbuffered and "--help" in argv else 1), unbuffered


def _parsers(parser: argparse.ArgumentParser, name: str):
    """(name, parser) for tcpedu and each of its subcommands."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {command}")


def test_every_command_argument_and_option_says_what_it_is():
    parsers = dict(_parsers(_parser(), "tcpedu"))
    assert sorted(parsers) == sorted(["tcpedu"] + [f"tcpedu {c}" for c in COMMANDS])
    silent = [name for name, parser in parsers.items() if not parser.description]
    for name, parser in parsers.items():
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                silent += [f"{name} {a.dest}" for a in action._choices_actions if not a.help]
            if not action.help or action.help == argparse.SUPPRESS:
                silent.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert silent == []


def test_help_has_no_backticks_and_run_lists_the_scenarios_as_ladder_does():
    helps = {c: tcpedu(*c.split(), "--help") for c in ("", *COMMANDS)}
    assert all(h.returncode == 0 and h.stdout.startswith("usage: tcpedu") for h in helps.values())
    assert [c for c, h in helps.items() if "`" in h.stdout] == []
    heading = "scenarios and their parameters:\n"
    catalogue = helps["ladder"].stdout.split(heading)[1]
    assert helps["run"].stdout.endswith(heading + catalogue)
    assert all(f"\n  {name} " in "\n" + catalogue for name in scenarios.names())
    assert "half_close" in catalogue and "closer='client'" in catalogue
