"""The state graph and its picture: drawn from the table, shaped like RFC 9293 Figure 5, readable."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from collections import Counter

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
pytest.importorskip("networkx")

import tcpedu  # noqa: E402
from tcpedu import TRANSITIONS, State  # noqa: E402
from tcpedu import graph as tg  # noqa: E402

S = State
# RFC 9293 Figure 5, arrow by arrow, as the figure writes the labels (an independent copy, to test against)
FIGURE_5 = [
    (S.CLOSED, "passive OPEN / -", S.LISTEN),
    (S.CLOSED, "active OPEN / snd SYN", S.SYN_SENT),
    (S.LISTEN, "CLOSE / -", S.CLOSED),
    (S.LISTEN, "rcv SYN / snd SYN,ACK", S.SYN_RECEIVED),
    (S.LISTEN, "SEND / snd SYN", S.SYN_SENT),
    (S.SYN_RECEIVED, "rcv RST / -", S.LISTEN),
    (S.SYN_SENT, "rcv SYN / snd SYN,ACK", S.SYN_RECEIVED),
    (S.SYN_SENT, "CLOSE / -", S.CLOSED),
    (S.SYN_RECEIVED, "rcv ACK of SYN / -", S.ESTABLISHED),
    (S.SYN_SENT, "rcv SYN,ACK / snd ACK", S.ESTABLISHED),
    (S.SYN_RECEIVED, "CLOSE / snd FIN", S.FIN_WAIT_1),
    (S.ESTABLISHED, "CLOSE / snd FIN", S.FIN_WAIT_1),
    (S.ESTABLISHED, "rcv FIN / snd ACK", S.CLOSE_WAIT),
    (S.FIN_WAIT_1, "rcv ACK of FIN / -", S.FIN_WAIT_2),
    (S.FIN_WAIT_1, "rcv FIN / snd ACK", S.CLOSING),
    (S.CLOSE_WAIT, "CLOSE / snd FIN", S.LAST_ACK),
    (S.FIN_WAIT_2, "rcv FIN / snd ACK", S.TIME_WAIT),
    (S.CLOSING, "rcv ACK of FIN / -", S.TIME_WAIT),
    (S.LAST_ACK, "rcv ACK of FIN / -", S.CLOSED),
    (S.TIME_WAIT, "timeout=2MSL / -", S.CLOSED),
]
SETTINGS = [(profile, paths) for profile in (None, "rfc", "linux") for paths in ("normal", "all")]
BLUE, VERMILLION = "#0072B2", "#D55E00"


def rows_for(profile, paths):
    return [r for r in TRANSITIONS
            if (profile is None or r.applies_to(profile)) and (paths == "all" or r.figure5)]


def edges(graph):
    return Counter((u, d["label"], v) for u, v, d in graph.edges(data=True))


# ----------------------------------------------------------------------------- the graph

def test_nodes_are_the_eleven_states_named_as_the_rfc_names_them():
    graph = tcpedu.graph.state_graph()
    assert graph.is_directed() and graph.is_multigraph()
    assert set(graph.nodes) == set(State) and graph.number_of_nodes() == 11
    assert graph.nodes[S.SYN_RECEIVED]["name"] == "SYN-RECEIVED"
    assert {d["name"] for _, d in graph.nodes(data=True)} == {str(s) for s in State}


@pytest.mark.parametrize("profile,paths", SETTINGS)
def test_one_edge_per_table_row_with_the_rows_attributes(profile, paths):
    graph = tg.state_graph(profile=profile, paths=paths)
    rows = rows_for(profile, paths)
    assert graph.number_of_edges() == len(rows)
    assert Counter(d["row"] for *_, d in graph.edges(data=True)) == Counter(rows)
    for u, v, d in graph.edges(data=True):
        row = d["row"]
        assert (u, v) == (row.state, row.next)
        assert (d["label"], d["event"], d["send"], d["section"], d["figure5"]) == \
            (row.label, row.event, row.send, row.section, row.figure5)


def test_normal_paths_are_exactly_the_arrows_of_figure_5():
    for profile in (None, "rfc", "linux"):
        assert edges(tg.state_graph(profile, paths="normal")) == Counter(FIGURE_5)
    graph = tg.state_graph()
    assert graph.get_edge_data(S.LISTEN, S.SYN_RECEIVED)[0]["label"] == "rcv SYN / snd SYN,ACK"
    assert all(edges(graph)[arrow] == 1 for arrow in FIGURE_5)


def test_profiles_filter_rows_the_linux_fin_wait_2_timeout():
    fin_timeout = (S.FIN_WAIT_2, "FIN-WAIT-2 timeout / -", S.CLOSED)
    assert edges(tg.state_graph("linux"))[fin_timeout] == 1
    assert edges(tg.state_graph("rfc"))[fin_timeout] == 0
    assert edges(tg.state_graph(None))[fin_timeout] == 1
    # keep-alive expiry: Linux sends RST, the textbook sends nothing
    linux, rfc = edges(tg.state_graph("linux")), edges(tg.state_graph("rfc"))
    assert linux[(S.ESTABLISHED, "keepalive probes unanswered / snd RST", S.CLOSED)] == 1
    assert rfc[(S.ESTABLISHED, "keepalive probes unanswered / -", S.CLOSED)] == 1
    assert linux[(S.ESTABLISHED, "keepalive probes unanswered / -", S.CLOSED)] == 0


def test_self_loops_are_rows_and_stay_in_the_graph():
    graph = tg.state_graph("rfc")
    loops = {d["label"] for u, v, d in graph.edges(data=True) if u is v is S.TIME_WAIT}
    assert loops == {"rcv FIN / snd ACK", "CLOSE / -"}
    assert not any(u is v for u, v in tg.state_graph(paths="normal").edges())


def test_bad_arguments_name_the_allowed_values():
    with pytest.raises(ValueError, match="'normal', 'all'"):
        tg.state_graph(paths="some")
    with pytest.raises(ValueError, match="rfc"):
        tg.state_graph(profile="bsd")
    with pytest.raises(ValueError, match="'normal', 'all'"):
        tg.draw_state_graph(paths="every")


def test_importing_the_module_loads_neither_networkx_nor_matplotlib():
    code = ("import sys, tcpedu.graph; print(sorted({'networkx', 'matplotlib', 'pydot'} "
            "& set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- DOT

def check_dot(text, graph):
    assert text.lstrip().startswith("digraph")
    for state in State:        # a node statement per state, quoted where DOT needs it
        assert re.search(rf'(^|\n)"?{re.escape(str(state))}"? \[', text), state
    assert text.count("->") == graph.number_of_edges()
    assert text.count("label=") == graph.number_of_edges() + graph.number_of_nodes()
    assert '"rcv SYN / snd SYN,ACK"' in text


@pytest.mark.parametrize("paths", ["normal", "all"])
def test_dot_without_pydot(monkeypatch, paths):
    monkeypatch.setitem(sys.modules, "pydot", None)       # import pydot now fails
    graph = tg.state_graph("linux", paths=paths)
    text = tg.to_dot(graph)
    check_dot(text, graph)
    assert '"LISTEN" -> "SYN-RECEIVED" [label="rcv SYN / snd SYN,ACK"];' in text
    if paths == "all":
        assert '"FIN-WAIT-2" -> "CLOSED" [label="FIN-WAIT-2 timeout / -", style="dashed"];' in text


# pydot's DOT parser (up to 4.0.1) still calls pyparsing's camelCase names, deprecated in pyparsing 3.3
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot.dot_parser")
@pytest.mark.parametrize("paths", ["normal", "all"])
def test_dot_with_pydot_and_both_parse_back_the_same(monkeypatch, paths):
    import pydot  # in the test extra: a missing pydot fails here rather than skipping

    graph = tg.state_graph("rfc", paths=paths)
    text = tg.to_dot(graph)
    check_dot(text, graph)
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "pydot", None)
        handwritten = tg.to_dot(graph)

    def parsed(dot):
        (g,) = pydot.graph_from_dot_data(dot)
        return Counter((e.get_source().strip('"'), e.get_label().strip('"'),
                        e.get_destination().strip('"')) for e in g.get_edges())

    expected = Counter((str(u), d["label"], str(v)) for u, v, d in graph.edges(data=True))
    assert parsed(text) == expected
    assert handwritten != text and parsed(handwritten) == expected


# ----------------------------------------------------------------------------- the drawing

@pytest.fixture(scope="module")
def drawings():
    cache = {}

    def draw(**options):
        key = repr(sorted(options.items(), key=lambda kv: kv[0]))
        if key not in cache:
            fig = tg.draw_state_graph(**options)
            fig.canvas.draw()
            cache[key] = fig
        return cache[key]
    return draw


def by_gid(fig, prefix):
    ax = fig.axes[0]
    return {a.get_gid(): a for a in [*ax.patches, *ax.texts] if (a.get_gid() or "").startswith(prefix)}


def centre(patch):
    return patch.get_x() + patch.get_width() / 2, patch.get_y() + patch.get_height() / 2


def test_layout_has_the_shape_of_figure_5(drawings):
    fig = drawings()
    pos = {gid.removeprefix("node:"): centre(p) for gid, p in by_gid(fig, "node:").items()}
    x, y = {k: v[0] for k, v in pos.items()}, {k: v[1] for k, v in pos.items()}
    assert y["CLOSED"] > y["LISTEN"] > y["ESTABLISHED"] > y["TIME-WAIT"]
    assert y["SYN-RECEIVED"] == y["SYN-SENT"] and y["LISTEN"] > y["SYN-SENT"] > y["ESTABLISHED"]
    assert x["SYN-RECEIVED"] < x["LISTEN"] < x["SYN-SENT"]
    assert x["FIN-WAIT-1"] < x["ESTABLISHED"] < x["CLOSE-WAIT"]
    assert x["FIN-WAIT-1"] == x["FIN-WAIT-2"] and y["FIN-WAIT-1"] > y["FIN-WAIT-2"]   # active close
    assert x["CLOSE-WAIT"] == x["LAST-ACK"] and y["CLOSE-WAIT"] > y["LAST-ACK"]       # passive close
    assert x["FIN-WAIT-2"] < x["CLOSING"] < x["LAST-ACK"] and y["CLOSING"] == y["FIN-WAIT-2"]
    assert x["TIME-WAIT"] == x["ESTABLISHED"]
    # CLOSED drawn again at the bottom right, as the RFC does, where LAST-ACK and TIME-WAIT go
    assert y["CLOSED:again"] == y["TIME-WAIT"] and x["CLOSED:again"] == x["LAST-ACK"]
    assert {t.get_text() for t in by_gid(fig, "name:node:").values()} == {str(s) for s in State}


def arrow_labels(fig):
    return [t.get_text() for gid, t in by_gid(fig, "label:").items()]


@pytest.mark.parametrize("profile", [None, "rfc", "linux"])
def test_normal_drawing_labels_are_the_table_labels(drawings, profile):
    fig = drawings(profile=profile)
    assert Counter(arrow_labels(fig)) == Counter(label for _, label, _ in FIGURE_5)
    assert len(by_gid(fig, "edge:")) == len(FIGURE_5)
    assert not by_gid(fig, "loop:") and not by_gid(fig, "abort:")


@pytest.mark.parametrize("profile", [None, "rfc", "linux"])
def test_all_drawing_shows_every_row(drawings, profile):
    fig = drawings(paths="all", profile=profile)
    rows = rows_for(profile, "all")
    lines = Counter(line for text in arrow_labels(fig) for line in text.replace(" /\n", " / ").split("\n"))
    grouped = [r for r in rows if r.next is S.CLOSED and r.state is not S.CLOSED and not r.figure5]
    for row in rows:
        if row not in grouped:
            assert lines[row.label] >= 1, row
    # one light dashed arrow per state for its resets, aborts and timeouts, labelled from its rows
    aborts = by_gid(fig, "abort:")
    assert set(aborts) == {f"abort:{r.state}->CLOSED" for r in grouped}
    for arrow in aborts.values():
        assert arrow.get_linestyle() == "dashed"
    labels = {gid.removeprefix("label:abort:").removesuffix("->CLOSED"): t.get_text()
              for gid, t in by_gid(fig, "label:abort:").items()}
    assert labels["TIME-WAIT"] == "rcv RST / ABORT"
    assert labels["LISTEN"] == "ABORT"
    assert labels["ESTABLISHED"] == "rcv RST / ABORT / timeout"
    assert labels["FIN-WAIT-2"] == ("rcv RST / ABORT" if profile == "rfc" else "rcv RST / ABORT / timeout")


def test_every_arrow_between_two_states_has_a_hand_tuned_place():
    for row in TRANSITIONS:
        if tg._is_abort(row):
            assert row.state in tg._ABORTS or row.state in tg._ABORTS_TO_CLOSED_AGAIN, row
        elif row.state is row.next:
            assert row.state in tg._LOOPS, row
        else:
            assert (row.state, row.next) in tg._EDGES, row


READABLE = {
    "normal": {},
    "all": {"paths": "all"},
    "all-linux": {"paths": "all", "profile": "linux"},
    "all-rfc": {"paths": "all", "profile": "rfc"},
    "current": {"current": {"client": S.FIN_WAIT_2, "server": S.CLOSE_WAIT}},
    "all-both-established": {"current": {"client": S.ESTABLISHED, "server": S.ESTABLISHED},
                             "paths": "all"},
    "trace-four-way-close": {"trace": "four_way_close"},
    "all-trace-simultaneous-close": {"trace": "simultaneous_close", "paths": "all"},
    "trace-abortive-close": {"trace": "abortive_close"},
}


def draw_case(drawings, name):
    case = dict(READABLE[name])
    if "trace" in case:
        case["trace"] = tcpedu.scenarios.run(case["trace"]).trace
    return drawings(**case)


@pytest.mark.parametrize("case", READABLE)
def test_labels_do_not_overlap_and_fit_at_the_default_size(drawings, case):
    fig = draw_case(drawings, case)
    renderer = fig.canvas.get_renderer()
    texts = {**by_gid(fig, "label:"), **by_gid(fig, "tag:")}
    assert texts
    # each label's extent with the white box drawn behind it, a little larger than the text's
    extents = {gid: (t.get_bbox_patch() or t).get_window_extent(renderer) for gid, t in texts.items()}
    assert all(extent.contains(*texts[gid].get_window_extent(renderer).p0) for gid, extent in extents.items())
    for (a, box_a), (b, box_b) in itertools.combinations(extents.items(), 2):
        assert not box_a.overlaps(box_b), (a, b)
    # nor do they sit on a state's box (a host's tag sits in the box of its state)
    for gid, box in extents.items():
        for node_gid, patch in {**by_gid(fig, "node:"), **by_gid(fig, "marker:")}.items():
            if gid.startswith("tag:") and node_gid.startswith(f"node:{gid.split(':')[2]}"):
                continue
            assert not box.overlaps(patch.get_window_extent(renderer)), (gid, node_gid)
    legend = fig.axes[0].get_legend()
    for text in fig.axes[0].texts + [fig.axes[0].title]:
        assert text.get_fontsize() >= 9, text.get_text()
        extent = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= extent.x0 and extent.x1 <= fig.bbox.x1, text.get_text()
        assert fig.bbox.y0 <= extent.y0 and extent.y1 <= fig.bbox.y1, text.get_text()
        if legend is not None:
            assert not extent.overlaps(legend.get_window_extent(renderer)), text.get_text()


@pytest.mark.parametrize("case", list(READABLE)[:4])
def test_arrows_do_not_pass_under_other_states(drawings, case):
    fig = draw_case(drawings, case)
    ax = fig.axes[0]
    nodes = by_gid(fig, "node:")
    arrows = {gid: a for gid, a in by_gid(fig, "").items()
              if gid.startswith(("edge:", "loop:", "abort:"))}
    assert arrows
    for gid, arrow in arrows.items():
        ends = gid.split(":")[1].split("->")
        points = ax.transData.transform(arrow.get_path().interpolated(40).vertices)
        for node_gid, patch in nodes.items():
            if node_gid.split(":")[1] in ends:
                continue
            extent = patch.get_window_extent()
            assert not any(extent.contains(x, y) for x, y in points), (gid, node_gid)


def test_current_states_are_marked_per_host_and_not_by_colour_alone(drawings):
    fig = drawings(current={"client": S.FIN_WAIT_2, "server": S.CLOSE_WAIT})
    nodes = by_gid(fig, "node:")
    client, server = nodes.pop("node:FIN-WAIT-2"), nodes.pop("node:CLOSE-WAIT")
    to_rgb = matplotlib.colors.to_rgb
    plain = {(p.get_linewidth(), p.get_linestyle(), to_rgb(p.get_edgecolor())) for p in nodes.values()}
    assert plain == {(1.6, "solid", (0.0, 0.0, 0.0))}
    assert client.get_linewidth() > 1.6 and server.get_linewidth() > 1.6
    assert to_rgb(client.get_edgecolor()) == to_rgb(BLUE) and client.get_linestyle() == "solid"
    assert to_rgb(server.get_edgecolor()) == to_rgb(VERMILLION) and server.get_linestyle() == "dashed"
    tags = by_gid(fig, "tag:")
    assert {gid: t.get_text() for gid, t in tags.items()} == {
        "tag:client:FIN-WAIT-2": "client", "tag:server:CLOSE-WAIT": "server"}
    assert tags["tag:server:CLOSE-WAIT"].get_bbox_patch().get_linestyle() == "dashed"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "client" in legend and "server" in legend


def test_two_hosts_in_one_state_get_a_box_and_a_ring(drawings):
    fig = drawings(current={"client": S.ESTABLISHED, "server": "ESTABLISHED"})
    box = by_gid(fig, "node:ESTABLISHED")["node:ESTABLISHED"]
    ring = by_gid(fig, "ring:")["ring:server:ESTABLISHED"]
    assert box.get_linestyle() == "solid" and ring.get_linestyle() == "dashed"
    assert ring.get_width() > box.get_width()
    assert set(by_gid(fig, "tag:")) == {"tag:client:ESTABLISHED", "tag:server:ESTABLISHED"}


def path_of(fig, host):
    return {gid.split(":", 2)[2]: a for gid, a in by_gid(fig, f"path:{host}:").items()}


def test_trace_marks_each_hosts_path_in_its_style(drawings):
    trace = tcpedu.scenarios.four_way_close(profile="rfc").trace
    fig = drawings(trace=trace)
    client, server = path_of(fig, "client"), path_of(fig, "server")
    assert set(client) == {"edge:CLOSED->SYN-SENT", "edge:SYN-SENT->ESTABLISHED",
                           "edge:ESTABLISHED->FIN-WAIT-1", "edge:FIN-WAIT-1->FIN-WAIT-2",
                           "edge:FIN-WAIT-2->TIME-WAIT", "edge:TIME-WAIT->CLOSED"}
    assert set(server) == {"edge:CLOSED->LISTEN", "edge:LISTEN->SYN-RECEIVED",
                           "edge:SYN-RECEIVED->ESTABLISHED", "edge:ESTABLISHED->CLOSE-WAIT",
                           "edge:CLOSE-WAIT->LAST-ACK", "edge:LAST-ACK->CLOSED"}
    # the same states as the trace says, in order
    visited = [S.CLOSED] + [s for _, s in trace.states("client")]
    drawn = {tuple(gid.removeprefix("edge:").split("->")) for gid in client}
    assert drawn == {(str(a), str(b)) for a, b in itertools.pairwise(visited)}
    def looks(arrows):
        return {(matplotlib.colors.to_hex(a.get_edgecolor()).upper(), a.get_linestyle()) for a in arrows}

    assert looks(client.values()) == {(BLUE, "solid")}
    assert looks(server.values()) == {(VERMILLION, "dashed")}
    for a in [*client.values(), *server.values()]:
        assert a.get_linewidth() > 3
    # both ended in CLOSED, reached from TIME-WAIT and LAST-ACK: the bottom CLOSED is marked
    assert set(by_gid(fig, "tag:")) == {"tag:client:CLOSED", "tag:server:CLOSED"}
    assert by_gid(fig, "node:CLOSED:again")["node:CLOSED:again"].get_linewidth() > 3
    assert by_gid(fig, "node:CLOSED")["node:CLOSED"].get_linewidth() == 1.6


def test_trace_through_a_row_figure_5_leaves_out_draws_that_row(drawings):
    sim = tcpedu.scenarios.abortive_close()
    fig = drawings(trace=sim.trace)          # paths="normal"
    assert set(by_gid(fig, "abort:")) == {"abort:ESTABLISHED->CLOSED"}
    assert "abort:ESTABLISHED->CLOSED" in path_of(fig, "client")
    assert "abort:ESTABLISHED->CLOSED" in path_of(fig, "server")


def test_a_simulation_will_do_for_a_trace_and_explicit_current_wins(drawings):
    sim = tcpedu.scenarios.handshake()
    fig = tg.draw_state_graph(trace=sim, current={"client": S.ESTABLISHED})
    assert set(by_gid(fig, "tag:")) == {"tag:client:ESTABLISHED"}
    assert "edge:SYN-SENT->ESTABLISHED" in path_of(fig, "client")
    assert "edge:SYN-RECEIVED->ESTABLISHED" in path_of(fig, "server")


def test_draws_on_a_given_axes():
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 7))
    ax = fig.add_subplot()
    assert tg.draw_state_graph(ax=ax) is fig
    assert len(by_gid(fig, "edge:")) == len(FIGURE_5)


# ----------------------------------------------------------------------------- saving

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.mark.parametrize("ext", sorted(MAGIC))
def test_save_state_graph(tmp_path, ext):
    path = tg.save_state_graph(tmp_path / f"graph{ext}", current={"client": S.LISTEN})
    assert path.read_bytes().startswith(MAGIC[ext])


def test_save_state_graph_png_resolution(tmp_path):
    from matplotlib.image import imread
    fig = tg.draw_state_graph()
    small = imread(tg.save_state_graph(tmp_path / "small.png", dpi=50))
    default = imread(tg.save_state_graph(tmp_path / "default.png"))
    width, height = fig.get_size_inches()
    for image, dpi in ((small, 50), (default, 150)):
        assert abs(image.shape[0] - height * dpi) <= 1 and abs(image.shape[1] - width * dpi) <= 1


def test_jupyter_shows_the_figure_as_a_png_without_pyplot():
    png = tg.draw_state_graph()._repr_png_()
    assert png.startswith(MAGIC[".png"])
    assert "matplotlib.pyplot" not in sys.modules


def test_save_state_graph_refuses_other_extensions(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
        tg.save_state_graph(tmp_path / "graph.jpg")
    assert not (tmp_path / "graph.jpg").exists()
