"""The instructor CLI: scenarios, traces, ladders and the state graph from the command line."""

import os
import subprocess
import sys

import pytest

from tcpedu.cli import main

DATA = os.path.join(os.path.dirname(__file__), "data")


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
    (["ladder", "--pcap", "/no/such.pcap", "-o", "x.png"], "cannot open"),
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
    assert dot.startswith("digraph") and '"LISTEN" -> "SYN-RECEIVED"' in dot


def test_help_lists_scenarios_and_their_parameters():
    out = subprocess.run([sys.executable, "-m", "tcpedu", "ladder", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "half_close" in out and "closer='client'" in out and "backlog_overflow" in out
