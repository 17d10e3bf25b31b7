"""The TCP state diagram, drawn from the state-machine table.

:func:`state_graph` turns ``TRANSITIONS`` into a networkx ``MultiDiGraph`` (one
edge per row), :func:`draw_state_graph` draws it in the shape of RFC 9293
Figure 5 and can light up where each endpoint is and the path a trace took,
:func:`to_dot` writes it for Graphviz and :func:`save_state_graph` saves the
picture.  Nothing here holds a copy of the table: every arrow comes from a row.

networkx and matplotlib are imported inside the functions, so ``import
tcpedu`` stays light.
"""

from __future__ import annotations

import functools
import io
import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .machine import TRANSITIONS, Event, State, Transition
from .profiles import PROFILES

__all__ = [
    "PATHS", "SAVE_FORMATS", "POSITIONS", "HOST_STYLES", "state_graph", "to_dot",
    "StateGraphFigure", "draw_state_graph", "save_state_graph",
]

if TYPE_CHECKING:
    import networkx
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .trace import Trace

PATHS = ("normal", "all")
SAVE_FORMATS = (".png", ".svg", ".pdf")


# ----------------------------------------------------------------------------- the graph

def _rows(profile: str | None, paths: str) -> list[Transition]:
    if paths not in PATHS:
        raise ValueError(f"paths must be one of {', '.join(map(repr, PATHS))}, not {paths!r}")
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    return [r for r in TRANSITIONS
            if (profile is None or r.applies_to(profile)) and (paths == "all" or r.figure5)]


def state_graph(profile: str | None = None, paths: str = "all") -> networkx.MultiDiGraph:
    """The state machine as a networkx ``MultiDiGraph``: the 11 states, one edge per table row.

    Each edge carries ``label`` (``rcv SYN / snd SYN,ACK``), ``event``, ``send``,
    ``section`` (of RFC 9293), ``figure5`` and the ``row`` itself.  ``profile``
    keeps the rows of one profile ("rfc" or "linux"; None: every row);
    ``paths="normal"`` keeps only the arrows RFC 9293 Figure 5 draws.
    """
    import networkx as nx

    graph = nx.MultiDiGraph(profile=profile, paths=paths)
    for state in State:
        graph.add_node(state, name=str(state))
    for row in _rows(profile, paths):
        graph.add_edge(row.state, row.next, label=row.label, event=row.event, send=row.send,
                       section=row.section, figure5=row.figure5, row=row)
    return graph


# ----------------------------------------------------------------------------- DOT

def _dot_id(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _plain_graph(graph: networkx.MultiDiGraph) -> networkx.MultiDiGraph:
    """The graph with string node names and only DOT-friendly attributes."""
    import networkx as nx

    plain = nx.MultiDiGraph(name="tcp")
    for node, data in graph.nodes(data=True):
        plain.add_node(str(node), label=data.get("name", str(node)), shape="box", style="rounded")
    for u, v, data in graph.edges(data=True):
        attrs = {"label": data.get("label", "")}
        if not data.get("figure5", True):
            attrs["style"] = "dashed"
        plain.add_edge(str(u), str(v), **attrs)
    return plain


def to_dot(graph: networkx.MultiDiGraph) -> str:
    """Graphviz DOT text for a :func:`state_graph`: one node per state, one labelled edge per row.

    Arrows Figure 5 does not draw are dashed.  Uses networkx's pydot bridge
    when pydot is installed, and writes the DOT itself otherwise.
    """
    plain = _plain_graph(graph)
    try:
        import pydot  # noqa: F401
    except ImportError:
        pass
    else:
        from networkx.drawing.nx_pydot import to_pydot

        return to_pydot(plain).to_string()
    lines = ["digraph tcp {"]
    for node, data in plain.nodes(data=True):
        attrs = ", ".join(f"{k}={_dot_id(v)}" for k, v in data.items())
        lines.append(f"{_dot_id(node)} [{attrs}];")
    for u, v, data in plain.edges(data=True):
        attrs = ", ".join(f"{k}={_dot_id(val)}" for k, val in data.items())
        lines.append(f"{_dot_id(u)} -> {_dot_id(v)} [{attrs}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- the drawing

# Rows that end the connection abnormally (a reset, an abort, a timeout) lead to
# CLOSED from nearly every state.  Figure 5 leaves them out; the drawing groups a
# state's rows into one light dashed arrow so they do not hide the figure.  The
# label names what the rows have in common:
_ABORT_KINDS = (
    ("rcv RST", {Event.RCV_RST}),
    # the connection aborted by this end: ABORT (§3.10.5), or a close() that loses
    # data, which sends RST as ABORT does (§3.6, SHLD-2)
    ("ABORT", {Event.ABORT, Event.CLOSE_UNREAD, Event.RCV_DATA_AFTER_CLOSE}),
    ("timeout", {Event.USER_TIMEOUT, Event.KEEPALIVE_TIMEOUT, Event.TIMEOUT_FIN_WAIT_2}),
)


def _is_abort(row: Transition) -> bool:
    return row.next is State.CLOSED and row.state is not State.CLOSED and not row.figure5


@dataclass
class _Arrow:
    """One arrow of the drawing: the table rows it stands for."""

    kind: str              # "edge", "loop" (stays in the state) or "abort" (grouped, to CLOSED)
    src: State
    dst: State
    rows: list
    extra: bool = False    # left out of Figure 5, beside an arrow Figure 5 draws between the same states

    @property
    def gid(self) -> str:
        return f"{self.kind}:{self.src}->{self.dst}" + (":extra" if self.extra else "")

    @property
    def figure5(self) -> bool:
        return all(r.figure5 for r in self.rows)

    @property
    def label(self) -> str:
        if self.kind != "abort":
            return "\n".join(_wrap(label) for label in dict.fromkeys(r.label for r in self.rows))
        events = {r.event for r in self.rows}
        words = [word for word, kinds in _ABORT_KINDS if events & kinds]
        known = set().union(*(kinds for _, kinds in _ABORT_KINDS))
        words += [str(e) for e in dict.fromkeys(r.event for r in self.rows) if e not in known]
        return " / ".join(words)


def _wrap(label: str) -> str:
    return label.replace(" / ", " /\n", 1) if len(label) > _WRAP else label


def _arrows(rows) -> list[_Arrow]:
    """The rows grouped into arrows: one per (from, to), Figure 5's rows apart from the others."""
    arrows: dict[tuple, _Arrow] = {}
    for row in rows:
        kind = "abort" if _is_abort(row) else "loop" if row.state is row.next else "edge"
        key = (kind, row.state, row.next, row.figure5 if kind == "edge" else None)
        arrows.setdefault(key, _Arrow(kind, row.state, row.next, [])).rows.append(row)
    for (kind, src, dst, figure5), arrow in arrows.items():
        arrow.extra = kind == "edge" and not figure5 and (kind, src, dst, True) in arrows
    return list(arrows.values())


S = State
# Hand-tuned positions in the shape of RFC 9293 Figure 5 (x right, y up): opening at the
# top, the active close down the left, the passive close down the right.
POSITIONS: dict[State, tuple[float, float]] = {
    S.CLOSED: (5.0, 13.0),
    S.LISTEN: (5.0, 10.6),
    S.SYN_RECEIVED: (0.0, 8.2), S.SYN_SENT: (10.0, 8.2),
    S.ESTABLISHED: (5.0, 6.0),
    S.FIN_WAIT_1: (0.0, 3.8), S.CLOSE_WAIT: (10.0, 3.8),
    S.FIN_WAIT_2: (0.0, 1.4), S.CLOSING: (5.0, 1.4), S.LAST_ACK: (10.0, 1.4),
    S.TIME_WAIT: (5.0, -1.0),
}
# Like the RFC, CLOSED is drawn a second time at the bottom right, where the arrows
# from LAST-ACK and TIME-WAIT end; every other arrow into CLOSED goes to the top.
CLOSED_AGAIN = (10.0, -1.0)
_TO_CLOSED_AGAIN = {S.LAST_ACK, S.TIME_WAIT}
_BOX = (2.3, 0.64)        # node width, height
_MARKER = (1.2, 0.42)     # the small copies of CLOSED that grouped abort arrows end at
_TAGS_HEIGHT = 0.36       # a box grows this much to hold the names of the hosts in that state


@dataclass(frozen=True)
class _Geometry:
    rad: float = 0.0           # arc3 curvature
    t: float = 0.5             # where along the arrow the label sits
    dx: float = 0.0            # label offset from that point
    dy: float = 0.0
    ha: str = "center"
    va: str = "center"


_G = _Geometry
# (from, to) -> geometry; (from, to, "extra") for arrows Figure 5 leaves out beside one it draws
_EDGES: dict[tuple, _Geometry] = {
    (S.CLOSED, S.LISTEN): _G(0.3, dx=-0.12, ha="right"),
    (S.LISTEN, S.CLOSED): _G(0.3, dx=0.12, ha="left"),
    (S.CLOSED, S.SYN_SENT): _G(-0.45, dx=0.1, dy=0.1, ha="left", va="bottom"),
    (S.SYN_SENT, S.CLOSED): _G(0.2),
    (S.LISTEN, S.SYN_RECEIVED): _G(0.15, dx=-0.1, dy=0.1, ha="right", va="bottom"),
    (S.SYN_RECEIVED, S.LISTEN): _G(0.15, t=0.45),
    (S.SYN_RECEIVED, S.LISTEN, "extra"): _G(0.32, t=0.62, dx=0.1, dy=-0.05, ha="left", va="top"),
    (S.LISTEN, S.SYN_SENT): _G(0.0, t=0.45),
    (S.SYN_SENT, S.SYN_RECEIVED): _G(0.0),
    (S.SYN_SENT, S.ESTABLISHED): _G(0.0, dx=0.1, dy=-0.1, ha="left", va="top"),
    (S.SYN_RECEIVED, S.ESTABLISHED): _G(0.0, dx=-0.1, dy=-0.1, ha="right", va="top"),
    (S.SYN_RECEIVED, S.FIN_WAIT_1): _G(0.0),
    (S.ESTABLISHED, S.FIN_WAIT_1): _G(0.0, dx=-0.1, dy=0.1, ha="right", va="bottom"),
    (S.ESTABLISHED, S.CLOSE_WAIT): _G(0.0, dx=0.1, dy=0.1, ha="left", va="bottom"),
    (S.FIN_WAIT_1, S.FIN_WAIT_2): _G(0.0),
    (S.FIN_WAIT_1, S.CLOSING): _G(0.0, t=0.55),
    (S.CLOSE_WAIT, S.LAST_ACK): _G(0.0),
    (S.FIN_WAIT_2, S.TIME_WAIT): _G(0.2, dx=-0.1, dy=-0.1, ha="right", va="top"),
    (S.CLOSING, S.TIME_WAIT): _G(0.0),
    (S.LAST_ACK, S.CLOSED): _G(0.0, dx=-0.12, ha="right"),
    (S.TIME_WAIT, S.CLOSED): _G(0.0, dy=0.1, va="bottom"),
    # arrows Figure 5 leaves out
    (S.FIN_WAIT_1, S.TIME_WAIT): _G(0.08, t=0.55),
}
# Self-loops: the side of the box they leave from.
_LOOPS: dict[State, str] = {
    S.CLOSED: "right", S.LISTEN: "left", S.SYN_RECEIVED: "left", S.SYN_SENT: "right",
    S.FIN_WAIT_1: "left", S.FIN_WAIT_2: "left", S.CLOSING: "top", S.LAST_ACK: "right",
    S.TIME_WAIT: "bottom", S.ESTABLISHED: "right", S.CLOSE_WAIT: "right",
}
# Grouped abort arrows end at a small copy of CLOSED placed this far from the state,
# labelled below it (or above), except from LAST-ACK and TIME-WAIT, which have the
# bottom CLOSED beside them.
_ABORTS: dict[State, tuple[float, float, str]] = {
    S.LISTEN: (-3.0, 1.2, "below"), S.SYN_SENT: (2.6, -0.95, "below"),
    S.SYN_RECEIVED: (-2.6, -0.95, "below"), S.ESTABLISHED: (2.7, 0.2, "below"),
    S.FIN_WAIT_1: (-2.6, -0.95, "below"), S.FIN_WAIT_2: (-2.6, -0.95, "below"),
    S.CLOSE_WAIT: (2.6, -0.95, "below"), S.CLOSING: (2.5, 0.9, "above"),
}
_ABORTS_TO_CLOSED_AGAIN: dict[State, _Geometry] = {
    S.LAST_ACK: _G(-0.3, dx=0.12, ha="left"),
    S.TIME_WAIT: _G(0.3, dy=-0.1, va="top"),
}
_WRAP = 24     # labels longer than this break after the slash
del S, _G

# Okabe–Ito colours, each host also with its own line style and a name tag: never colour alone.
HOST_STYLES = (
    {"color": "#0072B2", "linestyle": "solid"},     # blue
    {"color": "#D55E00", "linestyle": "dashed"},    # vermillion
    {"color": "#009E73", "linestyle": "dotted"},    # bluish green
    {"color": "#CC79A7", "linestyle": "dashdot"},   # reddish purple
)
_INK, _GREY, _LIGHT = "#000000", "#555555", "#8C8C8C"
_FONT = {"node": 13, "label": 11, "tag": 11, "title": 15}
_LIMITS = {"normal": ((-1.6, 11.6), (-1.9, 13.8)), "all": ((-4.6, 14.6), (-2.8, 13.8))}
_INCH = 0.72              # inches per unit at the default size


def _host_styles(hosts, current, trace_hosts) -> dict[str, dict]:
    names = list(dict.fromkeys([*hosts, *current, *trace_hosts]))
    return {h: HOST_STYLES[i % len(HOST_STYLES)] for i, h in enumerate(names)}


def _as_state(value) -> State:
    return value if isinstance(value, State) else State(str(value))


def _trace_rows(trace, host: str) -> list[Transition]:
    """The table rows ``host`` went through, in order (from the trace's "state" events)."""
    rows = []
    for event in trace.events:
        if event.kind != "state" or event.host != host:
            continue
        row = event.row
        if row is None:   # a trace without rows (e.g. from a capture): match the state change
            options = [r for r in TRANSITIONS if r.state is event.old and r.next is event.new]
            options.sort(key=lambda r: not r.figure5)
            row = options[0] if options else None
        if row is not None:
            rows.append(row)
    return rows


def _bezier(a, b, rad: float, t: float) -> tuple[float, float]:
    """The point at ``t`` on matplotlib's arc3 curve from ``a`` to ``b`` (equal aspect)."""
    (x1, y1), (x2, y2) = a, b
    cx = (x1 + x2) / 2 + rad * (y2 - y1)
    cy = (y1 + y2) / 2 - rad * (x2 - x1)
    u = 1 - t
    return u * u * x1 + 2 * u * t * cx + t * t * x2, u * u * y1 + 2 * u * t * cy + t * t * y2


class _Drawing:
    """Draws one state diagram on ``ax``; every artist gets a ``gid`` naming what it shows.

    gids: ``node:STATE`` (``node:CLOSED:again`` for the bottom copy), ``edge:A->B``,
    ``loop:A->A``, ``abort:A->CLOSED`` (``marker:...`` for its small CLOSED),
    ``label:<arrow>``, ``path:HOST:<arrow>``, ``tag:HOST:STATE``, ``ring:HOST:STATE``.
    """

    def __init__(self, ax, styles: dict[str, dict]):
        self.ax = ax
        self.styles = styles
        self.outer: dict[str, object] = {}     # node gid -> its outermost patch (arrows stop there)
        self.geometry: dict[str, tuple] = {}   # arrow gid -> (start, end, patch, patch, rad)

    # ---------------------------------------------------------------- nodes
    def node(self, gid: str, xy, text: str, hosts=(), *, size=_BOX, fontsize=_FONT["node"],
             color=_INK, linestyle="solid", linewidth=1.6, weight="bold", zorder=3.0):
        """A rounded box; for ``hosts`` in this state: their styles and name tags."""
        from matplotlib.patches import FancyBboxPatch

        (x, y), (w, h) = xy, size
        if hosts:       # room for the name tags under the state's name
            h += _TAGS_HEIGHT
            first = self.styles[hosts[0]]
            color_line = {"edgecolor": first["color"], "linestyle": first["linestyle"],
                          "linewidth": 3.6}
        else:
            color_line = {"edgecolor": color, "linestyle": linestyle, "linewidth": linewidth}
        box = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.12",
                             facecolor="white", zorder=zorder, gid=gid, **color_line)
        self.ax.add_patch(box)
        self.ax.text(x, y + (_TAGS_HEIGHT / 2 if hosts else 0), text, ha="center", va="center",
                     fontsize=fontsize, fontweight=weight, color=color, zorder=zorder + 0.1,
                     gid=f"name:{gid}")
        outer = box
        state = gid.split(":")[1]
        for i, host in enumerate(hosts):
            style = self.styles[host]
            if i:       # a second host in the same state: a ring around the box
                grow = 0.11 * i
                outer = FancyBboxPatch((x - w / 2 - grow, y - h / 2 - grow), w + 2 * grow,
                                       h + 2 * grow, boxstyle="round,pad=0,rounding_size=0.16",
                                       facecolor="none", edgecolor=style["color"],
                                       linestyle=style["linestyle"], linewidth=3.6,
                                       zorder=zorder + 0.05, gid=f"ring:{host}:{state}")
                self.ax.add_patch(outer)
            self.ax.text(x - w / 2 + w * (i + 0.5) / len(hosts), y - h / 2 + 0.2, host,
                         ha="center", va="center", fontsize=_FONT["tag"], fontweight="bold",
                         color=style["color"], zorder=zorder + 0.2, gid=f"tag:{host}:{state}",
                         bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                               "linewidth": 1.5, "edgecolor": style["color"],
                               "linestyle": style["linestyle"]})
        self.outer[gid] = outer
        return outer

    # ---------------------------------------------------------------- arrows
    def arrow(self, a, b, patch_a, patch_b, *, rad=0.0, color=_INK, linestyle="solid",
              linewidth=1.4, gid="", zorder=2.0, scale=16):
        from matplotlib.patches import FancyArrowPatch

        arrow = FancyArrowPatch(a, b, patchA=patch_a, patchB=patch_b,
                                connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                mutation_scale=scale, color=color, linestyle=linestyle,
                                linewidth=linewidth, shrinkA=2, shrinkB=2, zorder=zorder,
                                gid=gid, joinstyle="miter", capstyle="butt")
        self.ax.add_patch(arrow)
        if gid.startswith(("edge:", "loop:", "abort:")):
            self.geometry[gid] = (a, b, patch_a, patch_b, rad)
        return arrow

    def label(self, xy, text: str, *, gid: str, color=_INK, ha="center", va="center",
              style="normal"):
        return self.ax.text(xy[0], xy[1], text, ha=ha, va=va, fontsize=_FONT["label"],
                            color=color, style=style, zorder=4, gid=gid, linespacing=1.25,
                            bbox={"boxstyle": "round,pad=0.12", "facecolor": "white",
                                  "edgecolor": "none", "alpha": 0.92})

    def path(self, host: str, gid: str, shift: float = 0.0):
        """Go over arrow ``gid`` in ``host``'s style (on white, so a dashed style shows gaps)."""
        a, b, patch_a, patch_b, rad = self.geometry[gid]
        style = self.styles[host]
        self.arrow(a, b, patch_a, patch_b, rad=rad + shift, color="white", linewidth=3.4,
                   zorder=2.55, scale=20)
        self.arrow(a, b, patch_a, patch_b, rad=rad + shift, color=style["color"],
                   linestyle=style["linestyle"], linewidth=3.4, zorder=2.6,
                   gid=f"path:{host}:{gid}", scale=20)


def _loop_ends(patch, side: str):
    """Start, end, curvature and label anchor (with alignment) of a self-loop on one side of a box."""
    w, h = patch.get_width(), patch.get_height()
    x, y = patch.get_x() + w / 2, patch.get_y() + h / 2
    if side == "left":
        return (x - w / 2, y + 0.22), (x - w / 2, y - 0.22), 2.2, (x - w / 2 - 0.6, y), "right"
    if side == "right":
        return (x + w / 2, y - 0.22), (x + w / 2, y + 0.22), 2.2, (x + w / 2 + 0.6, y), "left"
    if side == "top":
        return (x + 0.35, y + h / 2), (x - 0.35, y + h / 2), 1.6, (x, y + h / 2 + 0.75), "center"
    return (x - 0.35, y - h / 2), (x + 0.35, y - h / 2), 1.6, (x, y - h / 2 - 0.75), "center"


@functools.cache
def _figure_class():
    """A matplotlib Figure that Jupyter shows as its picture, with or without pyplot."""
    from matplotlib.figure import Figure

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return buf.getvalue()

    global StateGraphFigure     # a module-level name, so the figure can be pickled
    StateGraphFigure = type("StateGraphFigure", (Figure,), {
        "_repr_png_": _repr_png_, "__module__": __name__, "__doc__": _figure_class.__doc__})
    return StateGraphFigure


StateGraphFigure = None


def draw_state_graph(ax: Axes | None = None, paths: str = "normal", profile: str | None = None,
                     current: dict | None = None, trace: Trace | None = None,
                     hosts=("client", "server"), figsize: tuple[float, float] | None = None
                     ) -> Figure:
    """Draw the TCP state diagram in the shape of RFC 9293 Figure 5 and return the Figure.

    Every arrow is a row of the table (``paths="normal"``: the arrows Figure 5
    draws; ``"all"``: every row of ``profile``, with each state's resets, aborts
    and timeouts grouped into one light dashed arrow to CLOSED).  ``current``
    maps a host to its state (``{"client": State.FIN_WAIT_2}``) and marks it;
    ``trace`` (or a Simulation) marks the path each of ``hosts`` took through
    the states (a row it took is drawn even if ``paths`` leaves it out) and,
    unless ``current`` is given, where it ended.  Hosts are told apart by
    colour, line style and a name tag.  ``figsize`` (inches) applies when no
    ``ax`` is given; the default size keeps every label at 11 pt, none overlapping.
    """
    trace = getattr(trace, "trace", trace)      # a Simulation will do
    if profile is None and trace is not None and trace.profile in PROFILES:
        profile = trace.profile
    rows = _rows(profile, paths)
    hosts = (hosts,) if isinstance(hosts, str) else tuple(hosts)
    taken = {h: _trace_rows(trace, h) for h in hosts if trace is not None and trace.states(h)}
    if current is None:
        current = {h: trace.states(h)[-1][1] for h in taken}
    current = {h: _as_state(s) for h, s in current.items()}
    # a row a trace went through is drawn even when ``paths`` leaves it out
    rows += [r for path in taken.values() for r in path if r not in rows]
    rows.sort(key=TRANSITIONS.index)
    arrows = _arrows(rows)
    styles = _host_styles(hosts, current, taken)

    (x0, x1), (y0, y1) = _LIMITS[paths]
    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = _figure_class()(figsize=figsize or ((x1 - x0) * _INCH, (y1 - y0) * _INCH / 0.95))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.0, 0.0, 1.0, 0.95))
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    draw = _Drawing(ax, styles)

    # nodes, with the hosts in each; CLOSED again at the bottom right when an arrow ends there
    again = f"node:{State.CLOSED}:again"
    to_again = any(a.src in _TO_CLOSED_AGAIN and a.dst is State.CLOSED for a in arrows)
    where = {}
    for host, state in current.items():
        last = taken.get(host, [])[-1:]
        ended_below = to_again and state is State.CLOSED and bool(last) \
            and last[0].state in _TO_CLOSED_AGAIN and last[0].next is State.CLOSED
        where[host] = again if ended_below else f"node:{state}"
    for state in State:
        gid = f"node:{state}"
        draw.node(gid, POSITIONS[state], str(state), [h for h in where if where[h] == gid])
    if to_again:
        draw.node(again, CLOSED_AGAIN, str(State.CLOSED), [h for h in where if where[h] == again])

    def box(state: State, src: State | None = None):
        if src in _TO_CLOSED_AGAIN and state is State.CLOSED:
            return CLOSED_AGAIN, draw.outer[again]
        return POSITIONS[state], draw.outer[f"node:{state}"]

    # arrows, each with its label
    for arrow in arrows:
        a, patch_a = box(arrow.src)
        ink = _INK if arrow.figure5 else _GREY
        if arrow.kind == "edge":
            b, patch_b = box(arrow.dst, arrow.src)
            key = (arrow.src, arrow.dst, "extra") if arrow.extra else (arrow.src, arrow.dst)
            geo = _EDGES.get(key, _Geometry())
            draw.arrow(a, b, patch_a, patch_b, rad=geo.rad, color=ink, gid=arrow.gid)
            x, y = _bezier(a, b, geo.rad, geo.t)
            draw.label((x + geo.dx, y + geo.dy), arrow.label, gid=f"label:{arrow.gid}", color=ink,
                       ha=geo.ha, va=geo.va)
        elif arrow.kind == "loop":
            start, end, rad, anchor, ha = _loop_ends(patch_a, _LOOPS.get(arrow.src, "right"))
            draw.arrow(start, end, None, None, rad=rad, color=ink, gid=arrow.gid, scale=14)
            draw.label(anchor, arrow.label, gid=f"label:{arrow.gid}", color=ink, ha=ha)
        elif arrow.src in _ABORTS_TO_CLOSED_AGAIN:
            b, patch_b = box(arrow.dst, arrow.src)
            geo = _ABORTS_TO_CLOSED_AGAIN[arrow.src]
            draw.arrow(a, b, patch_a, patch_b, rad=geo.rad, color=_LIGHT, linestyle="dashed",
                       linewidth=1.2, gid=arrow.gid, scale=13)
            x, y = _bezier(a, b, geo.rad, geo.t)
            draw.label((x + geo.dx, y + geo.dy), arrow.label, gid=f"label:{arrow.gid}",
                       color=_GREY, style="italic", ha=geo.ha, va=geo.va)
        else:   # to a small copy of CLOSED beside the state
            dx, dy, side = _ABORTS.get(arrow.src, (2.6, -0.95, "below"))
            b = (a[0] + dx, a[1] + dy)
            marker = draw.node(f"marker:{arrow.gid}", b, str(State.CLOSED), size=_MARKER,
                               fontsize=9, color=_GREY, linestyle="dashed", linewidth=1.0,
                               weight="normal", zorder=2.5)
            draw.arrow(a, b, patch_a, marker, color=_LIGHT, linestyle="dashed", linewidth=1.2,
                       gid=arrow.gid, scale=13)
            sign = -1 if side == "below" else 1
            draw.label((b[0], b[1] + sign * (_MARKER[1] / 2 + 0.06)), arrow.label,
                       gid=f"label:{arrow.gid}", color=_GREY, style="italic",
                       va="top" if side == "below" else "bottom")

    # each host's path: the arrows its rows belong to, in its style; where two hosts took
    # the same arrow, the second goes alongside
    arrow_of = {row: arrow.gid for arrow in arrows for row in arrow.rows}
    used: dict[str, int] = {}
    for host, path in taken.items():
        for gid in dict.fromkeys(arrow_of[row] for row in path):
            draw.path(host, gid, shift=0.07 * used.get(gid, 0))
            used[gid] = used.get(gid, 0) + 1

    _legend(ax, arrows, styles, [*taken, *current])
    title = "TCP connection states (RFC 9293 Figure 5)" if paths == "normal" else \
        "TCP connection states: every row of the table"
    if profile:
        title += f", {profile} profile"
    ax.set_title(title, fontsize=_FONT["title"])
    return ax.figure


def _legend(ax, arrows, styles, hosts) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=_INK, lw=1.4, label="RFC 9293 Figure 5")]
    if any(not a.figure5 and a.kind != "abort" for a in arrows):
        handles.append(Line2D([], [], color=_GREY, lw=1.4, label="arrows Figure 5 leaves out"))
    if any(a.kind == "abort" for a in arrows):
        handles.append(Line2D([], [], color=_LIGHT, lw=1.2, ls="--",
                              label="reset, abort or timeout: to CLOSED"))
    for host in dict.fromkeys(hosts):
        handles.append(Line2D([], [], color=styles[host]["color"], ls=styles[host]["linestyle"],
                              lw=3.4, label=host))
    if len(handles) > 1:
        ax.legend(handles=handles, loc="upper left", fontsize=_FONT["label"], frameon=False,
                  handlelength=3)


def save_state_graph(path, *, dpi: float | None = None, **options) -> pathlib.Path:
    """Draw the state diagram (``options`` as for :func:`draw_state_graph`) and save it
    for slides: ``.png`` (150 dpi unless ``dpi`` says otherwise), ``.svg`` or ``.pdf``."""
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in SAVE_FORMATS:
        raise ValueError(f"cannot save a state graph as {suffix or 'a file without extension'!r}; "
                         f"use one of {', '.join(SAVE_FORMATS)}")
    fig = draw_state_graph(**options)
    import matplotlib as mpl

    with mpl.rc_context({"pdf.fonttype": 42}):      # text stays text in the PDF
        fig.savefig(path, dpi=dpi or (150 if suffix == ".png" else None))
    return path
