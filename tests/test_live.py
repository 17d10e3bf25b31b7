"""The live lab: scripts on this machine's real sockets next to the engine."""

import os
import sys

import pytest

from tcpedu import live
from tcpedu.script import check_script

from .conformance.scripts import SCRIPTS

linux_only = pytest.mark.skipif(not live.states_supported(),
                                reason=f"kernel TCP states are read from Linux's /proc/net/tcp; "
                                       f"this is {sys.platform}")


def open_fds():
    return set(os.listdir("/proc/self/fd"))


@linux_only
def test_lab_puts_the_kernel_next_to_the_engine_and_cleans_up():
    before = open_fds()
    run = live.lab(SCRIPTS["three_way_close"], capture=False)
    assert len(open_fds()) <= len(before)                              # every socket closed
    assert run.agree, str(run)
    assert [r[2] for r in run.rows][8] == "EOF"                       # server.recv() after FIN
    assert run.rows[-1][4] == {"client": "TIME-WAIT", "server": "CLOSED"}
    assert run.why_no_capture == "not asked for" and run.capture is None
    html = run._repr_html_()
    assert html.count("<tr>") == len(SCRIPTS["three_way_close"]) + 1 and "✓ same" in html


@linux_only
def test_lab_uses_ports_the_os_chooses_and_reports_a_refusal():
    run = live.lab(SCRIPTS["connection_refused"], capture=False)
    assert run.rows[0][1] == run.rows[0][2] == "ConnectionRefusedError"
    runs = [live.run_live([("server", "listen"), ("client", "connect")]) for _ in range(2)]
    assert runs[0].ports["server"] != runs[1].ports["server"]        # never a fixed port
    assert all(p > 0 for r in runs for p in r.ports.values())


@linux_only
def test_lab_captures_the_segments_where_it_may(tmp_path):
    why = live.capture_supported()
    run = live.lab(SCRIPTS["abortive_close"])
    if why:
        assert run.capture is None and run.why_no_capture == why
        assert why in run._repr_html_()
    else:
        assert run.capture is not None and run.agree
        assert [s.flags.tcpdump() for s in run.capture][-1] == "R."
        assert run.capture[-1].client_state is not None          # states inferred
    fig = run.ladder()
    texts = {t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))}
    assert ("this machine's kernel" in texts) != bool(why) and "ESTABLISHED" in texts


def test_platforms_without_proc_net_tcp_are_explained(monkeypatch):
    monkeypatch.setattr(live, "states_supported", lambda: False)
    run = live.lab(SCRIPTS["handshake"], capture=False)
    assert "cannot be filled" in run.platform_note and "Linux" in run.platform_note
    assert all(r[2] == "unknown" for r in run.rows)
    assert "cannot be filled" in run._repr_html_()


def test_bad_scripts_are_value_errors_naming_the_step():
    for bad, words in [([("client", "dance")], "action"), ([("server", "connect")], "only the server"),
                       ([("client", "send", 0)], "byte count"), ([("sleep", -1)], "sleep"),
                       ([("robot", "connect")], "side"), ([("client", "connect", "other")], "'self'"),
                       ([("server", "listen", -2)], "backlog")]:
        with pytest.raises(ValueError, match="step 0") as err:
            check_script(bad)
        assert words in str(err.value)


@linux_only
@pytest.mark.parametrize("diag", [True, False])
def test_kernel_states_by_sock_diag_or_proc_net_tcp(monkeypatch, diag):
    """The same answers whichever way the kernel is asked (sock_diag's exact lookup, or
    /proc/net/tcp where sock_diag does not answer for TCP)."""
    import socket

    if diag:
        assert live._diag_works.__wrapped__()                       # sock_diag really answers here
    monkeypatch.setattr(live, "_diag_works", lambda: diag)
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.connect(server.getsockname())
        conn, _ = server.accept()
        with conn:
            me, peer = client.getsockname(), server.getsockname()
            assert live.kernel_state(me, peer) == "ESTABLISHED"
            assert live.kernel_state(peer, me) == "ESTABLISHED"
            assert live.kernel_state(me, ("127.0.0.1", 1)) == "CLOSED"          # no such connection
            client.close()
            assert live.kernel_state(me, peer) in ("FIN-WAIT-1", "FIN-WAIT-2")
            assert live.kernel_state(peer, me) == "CLOSE-WAIT"
