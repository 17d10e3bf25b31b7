"""The ladder, one segment at a time: a Play button, step buttons and a slider.

:class:`Stepper` renders every frame once, as PNG images (frame k shows the
first k segments, the newest one marked), and puts them in an ipywidgets
``Stack``; a ``Play`` button, an ``IntSlider`` and a ``BoundedIntText`` (its
arrows step one segment back or forward) are tied to the stack with
``jslink``.  Stepping therefore happens in the browser: no Python callback,
no ``Output`` widget, nothing that needs a kernel once the widget state is
saved.  Beside the ladder, the state diagram of :mod:`tcpedu.graph` lights
each endpoint's state in the same frame (skipped, with a note, if that module
cannot draw).  Shown where widgets cannot run (GitHub, HTML exported without
widget state), a stepper is the whole ladder as a picture, with
:func:`~tcpedu.ladder.ladder_text` as its text.
"""

from __future__ import annotations

import base64
import io

from .ladder import LadderInfo, _png, draw_ladder, ladder_frames

__all__ = [
    "GRAPH_DPI", "Stepper",
]

GRAPH_DPI = 55           # the state diagram is a 9.5 x 12 inch drawing: about 520 px wide


def _graph_frames(trace, info: LadderInfo, dpi: float) -> tuple[list[bytes] | None, str]:
    """One PNG of the state diagram per frame, each host's state lit, and a note if none.

    The diagram is drawn once; each distinct set of states is lit on a copy of
    it (matplotlib blitting), so a long trace costs about one drawing.
    """
    try:
        from . import graph
    except ImportError as exc:
        return None, f"state diagram not available ({exc})"
    from matplotlib.patches import FancyBboxPatch

    fig = graph.draw_state_graph(profile=trace.profile if trace.profile in graph.PROFILES else None,
                                 current={})
    ax, canvas = fig.axes[0], fig.canvas
    fig.set_dpi(dpi)
    canvas.draw()
    base = canvas.copy_from_bbox(fig.bbox)
    nodes = {p.get_gid(): p for p in ax.patches if str(p.get_gid()).startswith("node:")}
    styles = graph.HOST_STYLES
    # as tcpedu.graph styles them: client, server, then the other hosts
    order = list(dict.fromkeys(["client", "server", *info.hosts]))
    style_of = {h: styles[i % len(styles)] for i, h in enumerate(order)}
    cache: dict[tuple, bytes] = {}
    frames = []
    for k in range(info.steps + 1):
        now = info.states_at(k)
        key = tuple(sorted((h, str(s)) for h, s in now.items()))
        if key not in cache:
            canvas.restore_region(base)
            count: dict[str, int] = {}
            for host, state in key:
                patch = nodes.get(f"node:{state}")
                if patch is None:
                    continue
                n = count.get(state, 0)
                count[state] = n + 1
                grow = 0.06 + 0.12 * n
                style = style_of.get(host, styles[0])
                ring = FancyBboxPatch(
                    (patch.get_x() - grow, patch.get_y() - grow), patch.get_width() + 2 * grow,
                    patch.get_height() + 2 * grow, boxstyle="round,pad=0,rounding_size=0.16",
                    fc="none", ec=style["color"], ls=style["linestyle"], lw=3.6, zorder=5)
                ax.add_artist(ring)
                tag = ax.text(patch.get_x() + (0 if n % 2 == 0 else patch.get_width()),
                              patch.get_y() + patch.get_height() + grow + 0.05, host,
                              ha="left" if n % 2 == 0 else "right", va="bottom", fontsize=11,
                              fontweight="bold", color=style["color"], zorder=6,
                              bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                    "ec": style["color"], "ls": style["linestyle"],
                                    "lw": 1.5})
                ax.draw_artist(ring)
                ax.draw_artist(tag)
                ring.remove()
                tag.remove()
            cache[key] = _png(canvas)
        frames.append(cache[key])
    return frames, ""


class Stepper:
    """A widget that reveals the ladder of ``trace`` one segment at a time.

    ``options`` are :func:`~tcpedu.ladder.draw_ladder`'s; ``graph=False``
    leaves out the state diagram; ``dpi`` sets the frames' resolution and
    ``interval`` the milliseconds per step when playing.  ``frames`` holds
    the PNG frames (``len(trace) + 1``: none of the segments, then one more
    each), ``widget`` the ipywidgets box, ``links`` the jslinks that tie it
    together.
    """

    def __init__(self, trace, *, graph: bool = True, dpi: float = 80, interval: int = 1200,
                 **options):
        import ipywidgets as w

        trace = getattr(trace, "trace", trace)
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 50:
            raise ValueError(f"interval must be an integer number of milliseconds >= 50, "
                             f"got {interval!r}")
        self.trace = trace
        self.figure = draw_ladder(trace, **options)
        info: LadderInfo = self.figure.ladder
        self.text = info.text
        self.frames = ladder_frames(self.figure, dpi=dpi)
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=100)
        self.picture = buf.getvalue()
        n = info.steps
        self.graph_frames, self.graph_note = _graph_frames(trace, info, GRAPH_DPI) if graph \
            else (None, "")

        self.play = w.Play(value=0, min=0, max=n, step=1, interval=interval, show_repeat=False,
                           description="play", tooltip="play the segments one after another")
        self.slider = w.IntSlider(value=0, min=0, max=n, step=1, description="segments",
                                  continuous_update=True, readout=True,
                                  layout=w.Layout(width="360px"))
        self.step = w.BoundedIntText(value=0, min=0, max=n, step=1, description="step",
                                     tooltip="its arrows step one segment back or forward",
                                     layout=w.Layout(width="150px"))
        image_layout = {"max_width": "100%", "height": "auto"}
        self.ladder = w.Stack([w.Image(value=f, format="png", layout=w.Layout(**image_layout))
                               for f in self.frames], selected_index=0,
                              layout=w.Layout(flex="3 1 0%"))
        self.captions = w.Stack([w.HTML(value=self._caption(k)) for k in range(n + 1)],
                                selected_index=0)
        panels = [self.ladder]
        self.graph = None
        if self.graph_frames is not None:
            self.graph = w.Stack([w.Image(value=f, format="png", layout=w.Layout(**image_layout))
                                  for f in self.graph_frames], selected_index=0,
                                 layout=w.Layout(flex="2 1 0%"))
            panels.append(self.graph)
        targets = [(self.step, "value"), (self.ladder, "selected_index"),
                   (self.captions, "selected_index")]
        if self.graph is not None:
            targets.append((self.graph, "selected_index"))
        self.links = [w.jslink((self.play, "value"), (self.slider, "value"))]
        self.links += [w.jslink((self.slider, "value"), target) for target in targets]
        rows = [w.HBox([self.play, self.slider, self.step]), self.captions, w.HBox(panels)]
        if self.graph_note:
            rows.append(w.HTML(value=f"<i>{self.graph_note}</i>"))
        self.widget = w.VBox(rows)

    def _caption(self, k: int) -> str:
        import html

        segs = self.trace.segments
        n = len(segs)
        if k == 0:
            return f"<b>0 / {n}</b>: before the first segment"
        s = segs[k - 1]
        label = self.figure.ladder.segments[k - 1].label
        marks = ", ".join(x for x in ("retransmission" if s.retransmission else "",
                                      "lost" if s.lost else "", s.note) if x)
        text = f"<b>{k} / {n}</b>: {html.escape(str(s.sender))} → {html.escape(str(s.receiver))}" \
               f" &nbsp; <code>{html.escape(label)}</code>"
        return text + (f" &nbsp; <i>({html.escape(marks)})</i>" if marks else "")

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return f"<Stepper: {len(self.frames)} frames of {self.trace!r}>"

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """The widget where widgets run; elsewhere the whole ladder and its text version."""
        data = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        data["image/png"] = base64.b64encode(self.picture).decode("ascii")
        data["text/plain"] = self.text
        return data
