"""Ladders (sequence diagrams), their text version, the stepper widget and the exports.

The tests look at what is drawn: the arrows (their number, which timeline they
leave and reach, their order down the page), the exact label texts, the state
names beside each timeline, crosses for lost segments, break marks for idle
gaps, and the frames and links of the stepper.
"""

from __future__ import annotations

import base64
import io
import math
import shutil
import warnings
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from PIL import Image  # noqa: E402

import tcpedu  # noqa: E402
from tcpedu import Flags, State, scenarios  # noqa: E402
from tcpedu import ladder as ladder_mod  # noqa: E402

ISN = {"client_isn": 100, "server_isn": 300}


def run(name, **params):
    return scenarios.run(name, **params).trace


def texts(fig) -> list[str]:
    ax = fig.axes[0]
    return [t.get_text() for t in ax.texts + fig.texts]


def segment_arrows(fig) -> dict[int, FancyArrowPatch]:
    ax = fig.axes[0]
    out = {}
    for a in ax.get_children():
        gid = a.get_gid() or ""
        if isinstance(a, FancyArrowPatch) and gid.startswith("segment:"):
            out[int(gid.split(":")[1])] = a
    return out


def ends(arrow: FancyArrowPatch):
    """(start, x range, y range) of an arrow as drawn, in data coordinates."""
    path = arrow.get_path()
    codes = path.codes if path.codes is not None else [Path.LINETO] * len(path.vertices)
    pts = [v for v, c in zip(path.vertices, codes, strict=True) if c != Path.CLOSEPOLY]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return tuple(pts[0]), (min(xs), max(xs)), (min(ys), max(ys))


def label_texts(fig) -> list[str]:
    ax = fig.axes[0]
    found = {int(t.get_gid().split(":")[1]): t.get_text() for t in ax.texts
             if (t.get_gid() or "").startswith("label:")}
    return [found[i] for i in sorted(found)]


# ----------------------------------------------------------------------------- the handshake

@pytest.fixture(scope="module")
def handshake_fig():
    return run("handshake", **ISN).ladder()


def test_handshake_arrows_go_from_timeline_to_timeline_down_the_page(handshake_fig):
    fig = handshake_fig
    info = fig.ladder
    arrows = segment_arrows(fig)
    assert sorted(arrows) == [0, 1, 2]
    xc, xs = info.x["client"], info.x["server"]
    assert xc < xs                                    # client on the left, server on the right
    expected = [(xc, xs), (xs, xc), (xc, xs)]         # SYN ->, SYN,ACK <-, ACK ->
    starts = []
    for i, (x0, x1) in enumerate(expected):
        (sx, sy), (lo, hi), (ylo, yhi) = ends(arrows[i])
        assert sx == pytest.approx(x0, abs=0.05)
        assert lo == pytest.approx(min(x0, x1), abs=0.05) and hi == pytest.approx(max(x0, x1), abs=0.05)
        assert yhi > sy + 0.3                         # it slants down: arrival after sending
        seg = info.segments[i]
        assert seg.start[0] == pytest.approx(x0) and seg.end[0] == pytest.approx(x1, abs=0.01)
        starts.append(sy)
    assert starts == sorted(starts)
    # each answer leaves where the segment it answers arrived
    assert info.segments[1].start[1] == pytest.approx(info.segments[0].end[1])
    assert info.segments[2].start[1] == pytest.approx(info.segments[1].end[1])


def test_handshake_labels_are_the_textbook_ones(handshake_fig):
    assert label_texts(handshake_fig) == ["SYN, seq=100", "SYN,ACK seq=300 ack=101",
                                          "ACK seq=101 ack=301"]


def test_states_are_written_beside_their_own_timeline(handshake_fig):
    info = handshake_fig.ladder
    ax = handshake_fig.axes[0]
    by_host = {"client": [], "server": []}
    for t in ax.texts:
        gid = t.get_gid() or ""
        if gid.startswith("state:"):
            by_host[gid.split(":")[1]].append((t.get_position()[1], t.get_position()[0],
                                              t.get_text()))
    client = [text for _, _, text in sorted(by_host["client"])]
    server = [text for _, _, text in sorted(by_host["server"])]
    assert client == ["CLOSED", "SYN-SENT", "ESTABLISHED"]
    assert server == ["CLOSED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
    assert all(x < info.x["client"] for _, x, _ in by_host["client"])
    assert all(x > info.x["server"] for _, x, _ in by_host["server"])
    # SYN-RECEIVED begins where the SYN arrives, ESTABLISHED (server) where the ACK does
    ys = {text: y for host, y, text in info.states if host == "server"}
    assert ys["SYN-RECEIVED"] == pytest.approx(info.segments[0].end[1])
    assert ys["ESTABLISHED"] == pytest.approx(info.segments[2].end[1])


def test_calls_are_marked_where_they_happen(handshake_fig):
    found = texts(handshake_fig)
    assert "connect()" in found and "listen()" in found
    fig = run("half_close", **ISN).ladder()
    assert "shutdown(SHUT_WR)" in texts(fig)
    ax = fig.axes[0]
    markers = [a for a in ax.lines if (a.get_gid() or "").startswith("call:client")]
    assert len(markers) == sum(1 for t in ax.texts if (t.get_gid() or "") == "calltext:client")


def test_relative_numbers_and_hidden_fields():
    tr = run("handshake", **ISN)
    assert label_texts(tr.ladder(numbers="relative")) == [
        "SYN, seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1"]
    hidden = tr.ladder(hide=("seq", "ack"))
    assert label_texts(hidden) == ["SYN, seq=?", "SYN,ACK seq=? ack=?", "ACK seq=? ack=?"]
    assert not any("101" in t or "301" in t or "100" in t for t in texts(hidden))
    quiz = tr.ladder(hide=("flags", "states"))
    assert label_texts(quiz)[1] == "? seq=300 ack=101"
    states = [t for t in quiz.axes[0].texts if (t.get_gid() or "").startswith("state:")]
    assert states and {t.get_text() for t in states} == {"?"}
    assert not {"SYN-SENT", "LISTEN", "ESTABLISHED"} & set(texts(quiz))


def test_data_segments_show_their_byte_range_and_length():
    sim = tcpedu.Simulation(latency=0.01, **ISN)
    sim.server.listen()
    sim.client.connect()
    sim.wait(0.03)
    sim.client.send(b"hello")
    sim.wait(0.05)
    labels = label_texts(sim.trace.ladder())
    assert "ACK seq=101:106 ack=301 (5 B)" in labels
    assert "ACK seq=301 ack=106" in labels
    assert "ACK seq=101:? ack=301 (? B)" not in label_texts(sim.trace.ladder(hide=("len",)))
    assert "ACK seq=101 ack=301 (? B)" in label_texts(sim.trace.ladder(hide=("len",)))


def test_symbolic_numbers_follow_the_textbook():
    close = label_texts(run("four_way_close", **ISN).ladder(symbolic=True))
    assert close == ["SYN, seq=x", "SYN,ACK seq=y ack=x+1", "ACK seq=x+1 ack=y+1",
                     "FIN,ACK seq=u ack=v", "ACK seq=v ack=u+1", "FIN,ACK seq=v ack=u+1",
                     "ACK seq=u+1 ack=v+1"]
    half = label_texts(run("half_close", data=100, **ISN).ladder(symbolic=True))
    assert "ACK seq=v:v+100 ack=u+1 (100 B)" in half        # the peer's data after v
    assert "FIN,ACK seq=w ack=u+1" in half                    # so its FIN is w, not v
    assert half[-1] == "ACK seq=u+1 ack=w+1"
    assert not any(ch.isdigit() and ch not in "+:" for t in close for ch in t.replace("x+1", "")
                   .replace("y+1", "").replace("u+1", "").replace("v+1", ""))


def test_highlight_takes_the_segment_numbers_ladder_text_shows():
    """highlight=[k] bolds the segment ladder_text() and the trace's table number k (from 1)."""
    trace = run("handshake", **ISN)
    numbered = {line.split(".")[0]: line for line in trace.ladder_text().splitlines()
                if line[:1].isdigit()}
    for k in (1, 3):
        fig = trace.ladder(highlight=[k])
        bold = [t.get_text() for t in fig.axes[0].texts
                if (t.get_gid() or "").startswith("label:") and t.get_fontweight() == "bold"]
        assert len(bold) == 1 and bold[0] in numbered[str(k)], (k, bold, numbered)
        widths = {i: a.get_linewidth() for i, a in segment_arrows(fig).items()}
        assert [w > 1.5 * min(widths.values()) for _, w in sorted(widths.items())] == \
            [i == k for i in (1, 2, 3)]
        assert fig.ladder.options["highlight"] == [k]
    for bad in (0, 4, -1, 1.0, True):
        with pytest.raises(ValueError, match=r"highlight .*\(1 \.\. 3\)"):
            trace.ladder(highlight=[bad])


def test_bad_options_say_what_is_allowed():
    tr = run("handshake")
    with pytest.raises(ValueError, match="absolute"):
        tr.ladder(numbers="hex")
    with pytest.raises(ValueError, match="seq, ack, flags, len, states"):
        tr.ladder(hide=("window",))
    with pytest.raises(ValueError, match="timers"):
        tr.ladder(timers="some")
    with pytest.raises(ValueError, match="figsize"):
        tr.ladder(figsize=(0, 3))


# ----------------------------------------------------------------------------- losses, timers, gaps

def test_a_lost_segment_ends_in_a_cross_half_way_and_the_retransmission_is_dashed():
    tr = run("lost_final_ack", **ISN)
    lost = [i for i, s in enumerate(tr) if s.lost]
    retx = [i for i, s in enumerate(tr) if s.retransmission]
    assert len(lost) == 1 and len(retx) == 1
    fig = tr.ladder()
    info = fig.ladder
    i = lost[0]
    crosses = [a for a in fig.axes[0].lines if a.get_gid() == f"lost:{i}"]
    assert len(crosses) == 1 and crosses[0].get_marker() == "X"
    (cx,), (cy,) = crosses[0].get_xdata(), crosses[0].get_ydata()
    assert info.x["client"] < cx < info.x["server"]          # it never reaches the server
    assert (cx, cy) == pytest.approx(info.segments[i].end)
    tags = {t.get_gid(): t.get_text() for t in fig.axes[0].texts}
    assert "lost" in tags[f"tag:{i}"]
    assert tags[f"tag:{retx[0]}"] == "retransmission"
    arrows = segment_arrows(fig)
    assert arrows[retx[0]].get_linestyle() != arrows[0].get_linestyle()    # dashed
    assert "--X" in tr.ladder_text().splitlines()[
        [k for k, line in enumerate(tr.ladder_text().splitlines()) if line.startswith("7.")][0]]


def test_timers_are_brackets_with_their_length():
    fig = run("lost_final_ack", **ISN).ladder()
    timers = {(host, name): text for host, name, _, _, text in fig.ladder.timers}
    assert timers[("server", "retransmit")] == "RTO 1 s"
    assert ("client", "time-wait") in timers
    assert "TIME-WAIT 2MSL = 240 s" in [t for _, _, _, _, t in fig.ladder.timers]
    assert "TIME-WAIT (restarted)" in [t for _, _, _, _, t in fig.ladder.timers]
    brackets = [a for a in fig.axes[0].lines if (a.get_gid() or "").startswith("timer:")]
    assert len(brackets) == len(fig.ladder.timers)
    linux = run("four_way_close", profile="linux", **ISN).ladder()
    names = [t for _, _, _, _, t in linux.ladder.timers]
    assert "TIME-WAIT 60 s" in names and "delayed ACK 2 ms" in names
    assert run("four_way_close", **ISN).ladder(timers="none").ladder.timers == []


def test_idle_gaps_are_cut_out_so_time_wait_does_not_stretch_the_picture():
    rfc = run("four_way_close", profile="rfc", **ISN).ladder()
    linux = run("four_way_close", profile="linux", **ISN).ladder()
    gaps = [round(s) for _, _, s in rfc.ladder.breaks]
    assert 240 in gaps and 60 in [round(s) for _, _, s in linux.ladder.breaks]
    assert any(t == "≈ 240 s later" for t in texts(rfc))
    zigzags = [a for a in rfc.axes[0].lines if a.get_gid() == "break"]
    assert len(zigzags) == 2 * len(rfc.ladder.breaks)             # one on each timeline
    h_rfc, h_linux = rfc.get_size_inches()[1], linux.get_size_inches()[1]
    # four times the TIME-WAIT, the same height (the linux one has a 2 ms delayed ACK more)
    assert h_rfc <= h_linux + 0.01
    assert abs(h_rfc - h_linux) < 0.1 * h_rfc
    # and the 240 s take no more room than a few segments
    (y0, y1, _), = [b for b in rfc.ladder.breaks if round(b[2]) == 240]
    drop = rfc.ladder.segments[0].end[1] - rfc.ladder.segments[0].start[1]
    assert y1 - y0 < 2 * drop


# ----------------------------------------------------------------------------- more hosts, more segments

def test_a_thirty_segment_transfer_draws_and_collapses():
    tr = run("data_transfer", mss=100, request=1300, response=200, **ISN)
    assert len(tr) >= 30
    fig = tr.ladder()
    assert len(segment_arrows(fig)) == len(tr)
    collapsed = tr.ladder(collapse_data=True)
    blocks = [t.get_text() for t in collapsed.axes[0].texts if t.get_gid() == "block:text"]
    assert len(blocks) == 1
    assert "13 with data (seq=101:1401, 1300 B)" in blocks[0]
    assert len(segment_arrows(collapsed)) == 3                     # only the handshake's
    assert collapsed.get_size_inches()[1] < fig.get_size_inches()[1] / 2


def test_one_timeline_per_host_server_on_the_right():
    tr = run("backlog_overflow")
    fig = tr.ladder()
    info = fig.ladder
    assert info.hosts == ["client", "client2", "client3", "client4", "server"]
    xs = [info.x[h] for h in info.hosts]
    assert xs == sorted(xs)
    hosts = {t.get_text() for t in fig.axes[0].texts if (t.get_gid() or "").startswith("host:")}
    assert hosts == set(info.hosts)
    arrows = segment_arrows(fig)
    for i, s in enumerate(tr):
        (sx, _), (lo, hi), _ = ends(arrows[i])
        assert sx == pytest.approx(info.x[s.sender], abs=0.05)
        xs = sorted((info.x[s.sender], info.x[s.receiver]))
        assert (lo, hi) == pytest.approx(xs, abs=0.05)
    # the server's states say which connection they belong to
    assert any(text == "SYN-RECEIVED\n(client2)" for host, _, text in info.states
               if host == "server")


def test_a_trace_without_events_takes_its_states_from_the_segments():
    tr = run("four_way_close", **ISN)
    bare = tcpedu.Trace(list(tr.segments), [], tr.profile, dict(tr.isn), source="capture.pcap")
    fig = bare.ladder()
    client = [text for host, _, text in fig.ladder.states if host == "client"]
    assert client == ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    assert len(segment_arrows(fig)) == len(tr)


def test_a_captured_trace_draws_with_slanted_arrows():
    from tcpedu.capture import read_pcap

    tr = read_pcap(str(pytest.importorskip("pathlib").Path(__file__).parent / "data"
                       / "handshake.pcap"))
    fig = tr.ladder(numbers="relative")
    assert label_texts(fig)[:2] == ["SYN, seq=0", "SYN,ACK seq=0 ack=1"]
    first = fig.ladder.segments[0]
    assert first.end[1] > first.start[1]                        # latency read from the answers


def test_arrival_times_come_from_the_trace():
    tr = run("handshake", latency=0.02, **ISN)
    assert ladder_mod.latency(tr) == pytest.approx(0.02)
    assert ladder_mod.arrival_times(tr) == pytest.approx([0.02, 0.04, 0.06])
    dup = run("old_duplicate_syn")            # the real SYN is held back 3 latencies
    real = next(i for i, s in enumerate(dup) if Flags.SYN in s.flags and s.seq == 100)
    assert ladder_mod.arrival_times(dup)[real] == pytest.approx(dup[real].time + 0.04)
    lost = run("lost_syn", **ISN)
    assert ladder_mod.arrival_times(lost)[0] is None
    zero = tcpedu.Simulation(latency=0.0, **ISN)
    zero.server.listen()
    zero.client.connect()
    assert ladder_mod.arrival_times(zero.trace) == [0.0, 0.0, 0.0]
    fig = zero.trace.ladder()              # everything at t = 0: one arrow below the other
    ys = [(s.start[1], s.end[1]) for s in fig.ladder.segments]
    assert all(b >= a for a, b in ys)
    assert [a for a, _ in ys] == sorted(a for a, _ in ys) and len({a for a, _ in ys}) == 3


def test_simultaneous_open_and_close_arrows_cross():
    fig = run("simultaneous_close", **ISN).ladder()
    segs = fig.ladder.segments
    fin_c, fin_s = segs[3], segs[4]
    # both FINs are on the wire together: each leaves before the other arrives
    assert fin_c.start[1] < fin_s.end[1] and fin_s.start[1] < fin_c.end[1]
    server = [text for host, _, text in fig.ladder.states if host == "server"]
    assert "CLOSING" in server and "TIME-WAIT" in server


def test_cjk_title_renders_without_missing_glyphs(tmp_path):
    from matplotlib import font_manager

    ladder_mod._ensure_cjk_font(["三"])
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not names & set(ladder_mod.FONT_FAMILY[1:]):
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    tr = run("handshake", **ISN)
    fig = tr.ladder(title="三次握手 (three-way handshake)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # "Glyph ... missing from font(s)" is a UserWarning
        fig.canvas.draw()
        for ext in ("png", "svg", "pdf"):  # each format lays out and embeds the glyphs itself
            tr.save(tmp_path / f"x.{ext}", title="三次握手")
    assert "三次握手 (three-way handshake)" in texts(fig)


# ----------------------------------------------------------------------------- text

def test_ladder_text_is_a_two_column_ladder():
    tr = run("four_way_close", **ISN)
    lines = tr.ladder_text().splitlines()
    assert lines[0].split() == ["time", "client", "server"]
    assert lines[1].split() == ["CLOSED", "CLOSED"]
    syn = next(line for line in lines if line.startswith("1."))
    assert syn.split() == ["1.", "0.000", "SYN-SENT", "-->", "SYN,", "seq=100", "-->",
                           "SYN-RECEIVED"]
    synack = next(line for line in lines if line.startswith("2."))
    assert "ESTABLISHED  <-- SYN,ACK seq=300 ack=101" in synack and synack.endswith("SYN-RECEIVED")
    assert any("close()" in line for line in lines)
    assert any(line.strip() == "~~~ 240 s later ~~~" for line in lines)
    assert lines[-1].split() == ["240.250", "CLOSED", "CLOSED"]
    assert "--> FIN,ACK seq=u ack=v" in tr.ladder_text(symbolic=True)
    hidden = run("handshake", **ISN).ladder_text(hide=("states",))
    assert "ESTABLISHED" not in hidden and "?" in hidden


def test_figures_display_as_picture_with_the_text_ladder_as_plain_text(handshake_fig):
    bundle = handshake_fig._repr_mimebundle_()
    assert bundle["text/plain"] == handshake_fig.ladder.text
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "--> SYN, seq=100" in bundle["text/plain"]


# ----------------------------------------------------------------------------- frames, stepper

def test_frames_reveal_one_segment_at_a_time():
    tr = run("handshake", **ISN)
    fig = tr.ladder()
    frames = ladder_mod.ladder_frames(fig, dpi=40)
    assert len(frames) == len(tr) + 1 and len(set(frames)) == len(frames)
    sizes = {Image.open(io.BytesIO(f)).size for f in frames}
    assert len(sizes) == 1
    info = fig.ladder
    assert info.states_at(0) == {"client": State.CLOSED, "server": State.LISTEN}
    assert info.states_at(1) == {"client": State.SYN_SENT, "server": State.SYN_RECEIVED}
    assert info.states_at(3) == {"client": State.ESTABLISHED, "server": State.ESTABLISHED}
    assert all(a.get_visible() for a, _, _ in info._dynamic)          # the figure is whole again


def _notifiers(widget) -> dict:
    return {name: {kind: len(handlers) for kind, handlers in kinds.items()}
            for name, kinds in widget._trait_notifiers.items()}


def test_stepper_switches_frames_in_the_browser_only():
    ipywidgets = pytest.importorskip("ipywidgets")
    tr = run("four_way_close", **ISN)
    st = tr.stepper(dpi=40)
    n = len(tr)
    assert len(st.frames) == n + 1 and len(st.ladder.children) == n + 1
    assert all(isinstance(c, ipywidgets.Image) for c in st.ladder.children)
    assert [c.value for c in st.ladder.children] == st.frames
    assert st.play.max == st.slider.max == st.step.max == n
    links = {(k.source[0], k.source[1], k.target[0], k.target[1]) for k in st.links}
    assert all(isinstance(k, ipywidgets.widgets.widget_link.Link) for k in st.links)
    assert (st.play, "value", st.slider, "value") in links
    assert (st.slider, "value", st.ladder, "selected_index") in links
    assert (st.slider, "value", st.step, "value") in links
    if st.graph is not None:
        assert (st.slider, "value", st.graph, "selected_index") in links
        assert len(st.graph.children) == n + 1
        assert st.graph_frames[0] != st.graph_frames[-1]       # the lit states change
    # no Python callbacks: every widget has only the observers a fresh one of its kind has
    stack = [st.widget]
    while stack:
        w = stack.pop()
        stack.extend(getattr(w, "children", ()))
        assert _notifiers(w) == _notifiers(type(w)()), type(w).__name__
        assert not any(isinstance(c, ipywidgets.Output) for c in getattr(w, "children", ()))


def test_stepper_shows_the_whole_ladder_where_widgets_cannot_run():
    tr = run("handshake", **ISN)
    st = tr.stepper(dpi=40, graph=False)
    bundle = st._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    png = base64.b64decode(bundle["image/png"])
    assert Image.open(io.BytesIO(png)).size[0] > 500
    assert bundle["text/plain"] == tr.ladder_text()
    assert st.graph is None


def test_stepper_without_a_state_graph_says_so(monkeypatch):
    """Where the state graph cannot be imported (networkx missing), the ladder still steps."""
    import sys

    monkeypatch.delattr(tcpedu, "graph")
    monkeypatch.setitem(sys.modules, "tcpedu.graph", None)        # import tcpedu.graph fails
    st = run("handshake", **ISN).stepper(dpi=40)
    assert st.graph is None and "state diagram not available" in st.graph_note
    assert len(st.frames) == 4


# ----------------------------------------------------------------------------- saving

@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
@pytest.mark.filterwarnings("error")    # any warning fails it, e.g. a glyph missing from every font
def test_save_writes_valid_pictures(tmp_path, ext):
    tr = run("handshake", **ISN)
    path = tr.save(tmp_path / f"x.{ext}", title="three-way handshake")
    data = path.read_bytes()
    if ext == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        with Image.open(path) as im:
            assert im.size[0] > 1000                          # 150 dpi by default
    elif ext == "svg":
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
    else:
        assert data.startswith(b"%PDF") and b"%%EOF" in data[-1024:]


def test_save_gif_has_a_frame_per_segment(tmp_path):
    tr = run("lost_final_ack", **ISN)
    path = tr.save(tmp_path / "x.gif", dpi=30)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == len(tr)
        assert im.info.get("loop") == 0


def test_save_mp4_needs_ffmpeg(tmp_path, monkeypatch):
    tr = run("handshake", **ISN)
    if shutil.which("ffmpeg"):
        path = tr.save(tmp_path / "x.mp4", dpi=30)
        assert path.stat().st_size > 1000 and b"ftyp" in path.read_bytes()[:64]
    monkeypatch.setattr(ladder_mod.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="ffmpeg"):
        tr.save(tmp_path / "y.mp4")


def test_save_refuses_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf, \.gif, \.mp4"):
        run("handshake").save(tmp_path / "x.jpg")


def test_durations_read_like_a_person_wrote_them():
    f = ladder_mod.fmt_duration
    assert [f(240), f(239.99), f(0.19), f(0.002), f(0.9999), f(1.5), f(2.5e-5)] == \
        ["240 s", "240 s", "190 ms", "2 ms", "1 s", "1.5 s", "25 µs"]
    assert not math.isnan(ladder_mod.latency(run("connection_refused")))


def test_a_timer_label_is_its_length_to_the_millisecond_late_in_a_run():
    """Timer deadlines travel as numbers: at t = 1235 s a 0.2269 s RTO is labelled 227 ms
    (read back from "set until 1235.33" text it came out as 230 ms)."""
    sim = tcpedu.Simulation(profile="linux", latency=0.01345, client_isn=1000, server_isn=5000)
    sim.wait(1235.0)
    sim.server.listen()
    sim.client.connect()
    sim.wait(0.1)
    sim.drop_next("client", Flags.PSH)
    sim.client.send(b"x" * 10)
    sim.wait(1)
    (armed,) = [e for e in sim.trace.events if e.name == "retransmit" and e.deadline
                and 0.2 < e.deadline - e.time < 0.25 and e.time < 1235.2]
    assert round(armed.deadline - armed.time, 4) == 0.2269
    assert "RTO 227 ms" in [text for *_, text in sim.trace.ladder().ladder.timers]
