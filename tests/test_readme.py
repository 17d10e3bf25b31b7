"""What README.md says, checked: each sentence about how calls fail, and the "Real traces" code.

The paragraph that starts "Calls answer like the `socket` module's" must be exactly
``CALLS_PARAGRAPH`` (whitespace aside), and each of its claims has a test here, so the
README cannot change without the claims being checked, nor the simulator without the
README being corrected.  The "Real traces" example is taken from README.md and run as
written, from the repository root's point of view.
"""

from __future__ import annotations

import errno
import pathlib
import re
import socket

import pytest

import tcpedu
from tcpedu import Flags, State

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PROFILES = ["rfc", "linux"]

CALLS_PARAGRAPH = " ".join("""
Calls answer like the `socket` module's, with its exceptions and errno values. `send` after
`shutdown(SHUT_WR)` raises `BrokenPipeError`, and `connect` on a socket already connecting or
connected raises `OSError(EISCONN)`. After a RST arrives, the first `send` or `recv` raises
`ConnectionResetError`; from then on `send` raises `BrokenPipeError` and `recv` returns `b""`,
as on Linux. If the peer's FIN came before its RST (CLOSE-WAIT), `recv` returns `b""` and the
first `send` raises `BrokenPipeError` instead. `connect` returns once its SYN is sent; when
the SYN reaches a port where nothing listens, the first `send` or `recv` after the RST,ACK
comes back raises `ConnectionRefusedError` (or `connect` itself, if the RST,ACK arrives before
it returns, as with `latency=0`), and later calls answer as after a reset. Bad arguments raise
`ValueError` saying what is allowed (`send` of anything but bytes: `TypeError`, as in
`socket`). `sim.trace.relative()` shows Wireshark's relative numbers; in Jupyter a trace
displays as a table.
""".split())


def readme_paragraph(start: str) -> str:
    """The README paragraph that begins with ``start``, its whitespace collapsed."""
    at = README.index(start)
    end = README.find("\n\n", at)
    return " ".join(README[at:end].split())


def test_readme_says_what_these_tests_check():
    assert readme_paragraph("Calls answer like the `socket` module's") == CALLS_PARAGRAPH, \
        "README.md's paragraph on how calls fail changed: update CALLS_PARAGRAPH and the tests"


def connected(profile: str, latency: float = 0.01) -> tcpedu.Simulation:
    sim = tcpedu.Simulation(profile=profile, latency=latency, client_isn=100, server_isn=300)
    sim.server.listen()
    sim.client.connect()
    sim.wait(3 * latency)
    assert (sim.client.state, sim.server.state) == (State.ESTABLISHED, State.ESTABLISHED)
    return sim


def call(sim: tcpedu.Simulation, host: str, name: str):
    return sim.hosts[host].send(b"x") if name == "send" else sim.hosts[host].recv()


def assert_later_calls_answer_as_after_a_reset(sim: tcpedu.Simulation, host: str) -> None:
    for _ in range(2):
        with pytest.raises(BrokenPipeError) as info:
            sim.hosts[host].send(b"x")
        assert info.value.errno == errno.EPIPE
        assert sim.hosts[host].recv() == b""


# "`send` after `shutdown(SHUT_WR)` raises `BrokenPipeError`, and `connect` on a socket already
# connecting or connected raises `OSError(EISCONN)`."

@pytest.mark.parametrize("profile", PROFILES)
def test_send_after_shut_wr_is_broken_pipe(profile):
    sim = connected(profile)
    sim.client.shutdown(socket.SHUT_WR)
    with pytest.raises(BrokenPipeError) as info:
        sim.client.send(b"x")
    assert info.value.errno == errno.EPIPE


@pytest.mark.parametrize("profile", PROFILES)
def test_connect_while_connecting_or_connected_is_eisconn(profile):
    sim = tcpedu.Simulation(profile=profile, latency=0.01)
    sim.server.listen()
    sim.client.connect()
    for expected in (State.SYN_SENT, State.ESTABLISHED):
        assert sim.client.state is expected
        with pytest.raises(OSError) as info:
            sim.client.connect()
        assert info.value.errno == errno.EISCONN
        sim.wait(0.05)


# "After a RST arrives, the first `send` or `recv` raises `ConnectionResetError`; from then on
# `send` raises `BrokenPipeError` and `recv` returns `b""`, as on Linux."

def rst_by_close_with_unread_data(sim):
    sim.client.send(b"0123456789")
    sim.wait(0.05)
    sim.server.close()               # the client's 10 bytes unread: RST, not FIN


def rst_by_abort(sim):
    sim.server.abort()


@pytest.mark.parametrize("reset", [rst_by_close_with_unread_data, rst_by_abort])
@pytest.mark.parametrize("first", ["send", "recv"])
@pytest.mark.parametrize("profile", PROFILES)
def test_first_call_after_a_rst_is_connection_reset_then_broken_pipe_and_eof(
        profile, first, reset):
    sim = connected(profile)
    reset(sim)
    sim.wait(0.05)
    assert Flags.RST in sim.trace[-1].flags and sim.trace[-1].sender == "server"
    assert sim.client.state is State.CLOSED
    with pytest.raises(ConnectionResetError) as info:
        call(sim, "client", first)
    assert info.value.errno == errno.ECONNRESET
    assert_later_calls_answer_as_after_a_reset(sim, "client")


# "If the peer's FIN came before its RST (CLOSE-WAIT), `recv` returns `b""` and the first `send`
# raises `BrokenPipeError` instead."

@pytest.mark.parametrize("first", ["send", "recv"])
@pytest.mark.parametrize("profile", PROFILES)
def test_rst_in_close_wait_is_eof_and_broken_pipe(profile, first):
    sim = connected(profile)
    sim.client.shutdown(socket.SHUT_WR)
    sim.wait(1)
    assert sim.server.state is State.CLOSE_WAIT
    sim.client.abort()
    sim.wait(0.05)
    assert sim.server.state is State.CLOSED
    if first == "recv":
        assert sim.server.recv() == b""
    with pytest.raises(BrokenPipeError) as info:
        sim.server.send(b"x")
    assert info.value.errno == errno.EPIPE
    assert_later_calls_answer_as_after_a_reset(sim, "server")


# "`connect` returns once its SYN is sent; when the SYN reaches a port where nothing listens,
# the first `send` or `recv` after the RST,ACK comes back raises `ConnectionRefusedError` (or
# `connect` itself, if the RST,ACK arrives before it returns, as with `latency=0`), and later
# calls answer as after a reset."

@pytest.mark.parametrize("first", ["send", "recv"])
@pytest.mark.parametrize("profile", PROFILES)
def test_refusal_is_raised_by_the_first_call_after_the_rst_arrives(profile, first):
    sim = tcpedu.Simulation(profile=profile, latency=0.01, client_isn=100)
    assert sim.client.connect() is None
    assert sim.client.state is State.SYN_SENT
    assert [s.flags for s in sim.trace] == [Flags.SYN]
    sim.wait(0.02)
    assert [s.flags for s in sim.trace] == [Flags.SYN, Flags.RST | Flags.ACK]
    assert sim.client.state is State.CLOSED
    with pytest.raises(ConnectionRefusedError) as info:
        call(sim, "client", first)
    assert info.value.errno == errno.ECONNREFUSED
    assert_later_calls_answer_as_after_a_reset(sim, "client")


@pytest.mark.parametrize("profile", PROFILES)
def test_refusal_is_raised_by_connect_when_the_rst_comes_before_it_returns(profile):
    sim = tcpedu.Simulation(profile=profile, latency=0)
    with pytest.raises(ConnectionRefusedError) as info:
        sim.client.connect()
    assert info.value.errno == errno.ECONNREFUSED
    assert_later_calls_answer_as_after_a_reset(sim, "client")


# "Bad arguments raise `ValueError` saying what is allowed (`send` of anything but bytes:
# `TypeError`, as in `socket`)."

def test_bad_arguments_say_what_is_allowed():
    sim = connected("rfc")
    bad = {
        "a non-negative integer": lambda: sim.client.recv(-1),
        "SHUT_RD, SHUT_WR or SHUT_RDWR": lambda: sim.client.shutdown(7),
        "hosts are ['client', 'server']": lambda: sim.client.connect("nobody"),
        "seconds >= 0": lambda: sim.wait(-1),
    }
    for allowed, bad_call in bad.items():
        with pytest.raises(ValueError) as info:
            bad_call()
        assert allowed in str(info.value)
    with pytest.raises(TypeError, match="bytes-like"):
        sim.client.send("text")


# "`sim.trace.relative()` shows Wireshark's relative numbers; in Jupyter a trace displays as a
# table."

def test_relative_numbers_and_the_table():
    sim = connected("rfc")
    syn, syn_ack, ack = sim.trace.relative()
    assert (syn.seq, syn_ack.seq, syn_ack.ack, ack.seq, ack.ack) == (0, 0, 1, 1, 1)
    assert sim.trace._repr_html_().startswith("<table")


# ----------------------------------------------------------------------------- Real traces

def test_real_traces_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """The first Python block under "## Real traces": a capture that ships, read, compared
    with its simulation ("differences: none here") and a simulated run written as a pcap."""
    section = README[README.index("## Real traces"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "notebooks").symlink_to(ROOT / "notebooks")   # its paths are the root's
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md (Real traces)", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "handshake and close seen" in out
    assert "Flags [R.], seq 1, ack 11" in out
    assert "the traces agree" in out
    assert tcpedu.list_connections(tmp_path / "simulated.pcap")
