"""Exercises with per-student numbers, and a diagnosis for every wrong answer.

An exercise is built from a scenario, so its answer key is whatever the
engine computes.  Each kind of exercise (``KINDS``) draws its parameters —
ISNs (sometimes just below 2**32, so the numbers wrap), data lengths, which
side closes, which segment is lost, the profile — from a seed.  For homework
the seed is ``HMAC(course secret, student id + exercise name)``
(:func:`student_seed`): the instructor can rebuild any student's numbers,
students cannot guess anyone else's.

A student answers each question with a number (or a flag/state name);
:meth:`Exercise.check` says right or wrong, and for a wrong number names the
likely misconception (SYN and FIN take one sequence number; counting
segments instead of bytes; the seq given where the ack was asked; relative
and absolute numbers mixed; the mod 2**32 wrap forgotten; the ACK flag taken
for the ack number; a +1 added for a pure ACK or for data).  Feedback is
returned or displayed, never written to stderr.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import random
from dataclasses import dataclass, field

from . import scenarios
from .endpoint import SHUT_WR
from .machine import State
from .segment import SEQ_SPACE, Flags, Segment, seq_add

__all__ = [
    "WRAP_CHANCE", "TABLE_HIDDEN", "student_seed", "Question", "Feedback", "Exercise", "Report",
    "parse_answer", "diagnose", "MISCONCEPTIONS", "handshake_numbers", "close_numbers",
    "states_and_timers", "KINDS", "draw", "load", "student_params", "for_student", "practice",
]

WRAP_CHANCE = 0.3           # how often an ISN is drawn just below 2**32
TABLE_HIDDEN = ("table",)   # Exercise.hide value: show no trace at all, only the questions


def student_seed(secret: str | bytes, student_id: str, exercise: str) -> int:
    """The seed of one student's numbers: HMAC-SHA256(secret, student id + exercise name)."""
    if not secret:
        raise ValueError("the course secret is empty: set TCPEDU_SECRET or pass --secret-file")
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"{student_id}\x00{exercise}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Question:
    """One blank to fill: ``qid`` (the answer's variable name, e.g. ``ack_3``), the prompt,
    the expected value, what kind of value it is, and what the diagnosis needs to know."""

    qid: str
    prompt: str
    expected: object = field(repr=False)     # kept out of reprs: saved outputs show no key
    kind: str = "number"            # "number", "flags", "state", "host", "seconds", "count"
    segment: int | None = None      # 1-based index of the segment asked about
    field: str | None = None        # "seq", "ack", "flags", "len", "client_state", "server_state"
    hint: str = ""
    points: int = 1


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer."""

    qid: str
    correct: bool
    answer: object
    expected: object = field(repr=False)
    misconception: str = ""         # short name, e.g. "syn-fin-one-number"
    message: str = ""

    def __str__(self) -> str:
        mark = "✓" if self.correct else "✗"
        return f"{mark} {self.qid} = {self.answer!r}: {self.message}"


@dataclass
class Exercise:
    """One student's exercise: the simulated trace, what is hidden, and the questions."""

    kind: str
    params: dict
    sim: object
    questions: list[Question] = field(default_factory=list)
    hide: tuple[str, ...] = ()
    intro: str = ""

    @property
    def trace(self):
        """The trace the questions are about (``sim`` may be a Simulation or a Trace)."""
        return getattr(self.sim, "trace", self.sim)

    def __repr__(self) -> str:
        return f"<Exercise {self.kind}: {len(self.questions)} questions>"

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.qid == qid:
                return q
        raise ValueError(f"no question {qid!r} in this exercise; its questions are "
                         f"{[q.qid for q in self.questions]}")

    def answers(self) -> dict[str, object]:
        """The answer key: qid -> expected value."""
        return {q.qid: q.expected for q in self.questions}

    def check(self, **answers) -> Report:
        """Check answers given by name (``ex.check(ack_2=1001)``); unknown names are errors."""
        for qid in answers:
            self.question(qid)
        return Report([diagnose(self, self.question(qid), value) for qid, value in answers.items()])

    def form(self):
        """An answer form (ipywidgets) with a Check button; see :mod:`tcpedu.forms`."""
        from .forms import form

        return form(self)

    def hint(self, qid: str) -> str:
        """A hint for one question, without giving the answer away."""
        return self.question(qid).hint or "Look at the segment it answers: what does it carry?"

    def table(self) -> str:
        """The trace as an HTML table with the asked-for fields blank (``?``)."""
        asked = {(q.segment, q.field) for q in self.questions if q.segment}
        shown = self.trace.relative() if self.params.get("numbers") == "relative" else self.trace
        rows = []
        for i, s in enumerate(shown.segments, 1):
            def cell(name, value, i=i):
                hidden = (i, name) in asked or name in self.hide
                return "<b>?</b>" if hidden else html.escape(str(value))
            ack = s.ack if Flags.ACK in s.flags else ""
            rows.append(f"<tr><td>{i}</td><td>{s.time:.3f}</td>"
                        f"<td>{cell('client_state', s.client_state)}</td>"
                        f"<td>{'&rarr;' if s.sender == 'client' else '&larr;'}</td>"
                        f"<td>{cell('flags', s.flags)}</td><td>{cell('seq', s.seq)}</td>"
                        f"<td>{cell('ack', ack)}</td><td>{cell('len', s.len)}</td>"
                        f"<td>{cell('server_state', s.server_state)}</td>"
                        f"<td>{'lost' if s.lost else ''}</td></tr>")
        head = ("<tr><th>#</th><th>time (s)</th><th>client state</th><th></th><th>flags</th>"
                "<th>seq</th><th>ack</th><th>len</th><th>server state</th><th></th></tr>")
        return f"<table class='tcpedu-exercise'>{head}{''.join(rows)}</table>"

    def _repr_html_(self) -> str:
        qs = "".join(f"<li><code>{q.qid}</code>: {html.escape(q.prompt)}</li>" for q in self.questions)
        table = "" if self.hide == TABLE_HIDDEN else self.table()
        return f"<p>{html.escape(self.intro)}</p>{table}<ol>{qs}</ol>"


@dataclass
class Report:
    """The feedback on several answers; shows as text and as HTML."""

    items: list[Feedback]

    @property
    def score(self) -> int:
        return sum(1 for f in self.items if f.correct)

    def __repr__(self) -> str:
        return f"<Report {self.score}/{len(self.items)} right>"

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self.items) + f"\n{self.score}/{len(self.items)} right"

    def _repr_html_(self) -> str:
        lis = "".join(f"<li>{'✅' if f.correct else '❌'} <code>{f.qid}</code>: "
                      f"{html.escape(f.message)}</li>" for f in self.items)
        return f"<ul class='tcpedu-feedback'>{lis}</ul><p>{self.score}/{len(self.items)} right</p>"


# ----------------------------------------------------------------------------- answers

def parse_answer(value, kind: str):
    """An answer as the checker compares it; ValueError says what was expected."""
    if value is None or value is Ellipsis:
        raise ValueError("no answer yet")
    if kind in ("number", "count"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError(f"expected a whole number, got {value!r}")
        return value
    if kind == "seconds":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number of seconds, got {value!r}")
        return float(value)
    if kind == "flags":
        if not isinstance(value, str):
            raise ValueError(f"expected flags as text like 'SYN,ACK', got {value!r}")
        return Flags.parse(value)
    if kind == "state":
        if not isinstance(value, str):
            raise ValueError(f"expected a state name like 'TIME-WAIT', got {value!r}")
        name = value.strip().upper().replace("_", "-").replace(" ", "-")
        name = {"SYN-RCVD": "SYN-RECEIVED", "ESTAB": "ESTABLISHED", "SYN-RECV": "SYN-RECEIVED",
                "FIN-WAIT1": "FIN-WAIT-1", "FIN-WAIT2": "FIN-WAIT-2"}.get(name, name)
        try:
            return State(name)
        except ValueError:
            raise ValueError(f"{value!r} is not a TCP state; use a name like "
                             f"{', '.join(s.value for s in State)}") from None
    if kind == "host":
        if value not in ("client", "server"):
            raise ValueError(f"expected 'client' or 'server', got {value!r}")
        return value
    raise ValueError(f"unknown answer kind {kind!r}")


def _same(kind: str, a, b) -> bool:
    if kind == "seconds":
        return abs(a - b) <= max(1e-6, 1e-9 * abs(b))
    return a == b


def diagnose(ex: Exercise, q: Question, value) -> Feedback:
    """Right or wrong, and for a wrong answer the likely misconception."""
    try:
        answer = parse_answer(value, q.kind)
    except ValueError as exc:
        return Feedback(q.qid, False, value, q.expected, "not-an-answer", f"not an answer: {exc}")
    expected = q.expected if q.kind not in ("flags", "state") else parse_answer(str(q.expected), q.kind)
    if _same(q.kind, answer, expected):
        return Feedback(q.qid, True, value, q.expected, "", "right")
    if q.kind == "number" and q.field in ("seq", "ack"):
        name, text = _number_misconception(ex, q, answer)
    elif q.kind == "state" and (answer, expected) in _STATE_MISTAKES:
        name, text = _STATE_MISTAKES[(answer, expected)]
    elif q.kind == "flags" and q.field == "flags":
        name, text = _flags_misconception(answer, expected)
    else:
        name, text = "", f"not {value!r}. {q.hint}".strip()
    return Feedback(q.qid, False, value, q.expected, name, text)


MISCONCEPTIONS = {
    "syn-fin-one-number": "SYN and FIN each take one sequence number, so the ACK of a SYN or "
                          "FIN is its seq + 1 (+ any data).",
    "counted-segments": "Sequence numbers count bytes, not segments: add the number of data bytes.",
    "seq-for-ack": "That is a sequence number; the ack field is the next number the sender "
                   "expects from the other side.",
    "relative-absolute": "Relative and absolute numbers are mixed: this exercise uses {mode} numbers.",
    "wrap": "Sequence numbers live modulo 2**32: past 4294967295 they start again at 0.",
    "ack-flag-vs-number": "ACK=1 is the flag saying the ack field is valid; the ack *number* is "
                          "the next sequence number expected.",
    "plus-one-for-ack": "Only SYN and FIN take a sequence number: a pure ACK takes none, and data "
                        "takes exactly its length, with no extra +1.",
    "peer-numbers": "That is the other side's sequence space: each side numbers its own bytes.",
    "forgot-data": "The data this side sent in between used sequence numbers too: count them "
                   "(after a half-close, the passive side's FIN is not at v + 1 if it sent data).",
    "last-byte": "The ack names the *next* byte expected, one past the last byte received.",
}


def _number_misconception(ex: Exercise, q: Question, answer: int) -> tuple[str, str]:
    """Guess which mistake gives ``answer`` for a seq/ack blank."""
    trace = ex.trace
    seg = trace.segments[q.segment - 1]
    expected = q.expected
    relative = ex.params.get("numbers") == "relative"
    mode = "relative" if relative else "absolute"

    def say(name: str) -> tuple[str, str]:
        return name, MISCONCEPTIONS[name].format(mode=mode)

    if answer >= SEQ_SPACE and answer % SEQ_SPACE == expected:
        return say("wrap")
    if answer < 0:
        return say("wrap") if answer % SEQ_SPACE == expected else ("", "a sequence number is never negative")
    # the other numbering (relative vs absolute) of the same value
    base = trace.isn.get(seg.receiver if q.field == "ack" else seg.sender)
    if q.field == "ack" and Flags.ACK in seg.flags and answer == 1:
        name, text = say("ack-flag-vs-number")
        if not relative:
            text += " (If you meant a relative number: this exercise uses absolute ones.)"
        return name, text
    if base is not None:
        other = (expected + base) % SEQ_SPACE if relative else (expected - base) % SEQ_SPACE
        if answer == other and other != expected:
            return say("relative-absolute")
    if q.field == "ack" and Flags.ACK in seg.flags:
        if answer == _show(ex, seg.seq, seg.sender):
            return say("seq-for-ack")
        acked = _segment_acked(trace, seg)
        if acked is not None:
            takes_number = bool(acked.flags & (Flags.SYN | Flags.FIN))
            if takes_number and answer == (expected - 1) % SEQ_SPACE:
                return say("syn-fin-one-number")
            if not takes_number and answer == (expected + 1) % SEQ_SPACE:
                return say("plus-one-for-ack")
            if acked.len and answer == (expected - 1) % SEQ_SPACE:
                return say("last-byte")
            if acked.len > 1 and answer == _show(ex, seq_add(acked.seq, 1), acked.sender):
                return say("counted-segments")
    if q.field == "seq":
        prev = _previous_from(trace, seg)
        if prev is not None and prev.len:
            v = _show(ex, prev.seq, prev.sender)
            if answer in (v, (v + 1) % SEQ_SPACE):
                return say("forgot-data")           # w = v or v + 1: the data in between forgotten
        if answer == (expected + 1) % SEQ_SPACE:
            before = _previous_from(trace, seg, any_length=True)
            if before is not None and not before.flags & (Flags.SYN | Flags.FIN):
                return say("plus-one-for-ack")          # a pure ACK or data counted one more
        if answer == (expected - 1) % SEQ_SPACE:
            return say("syn-fin-one-number")
        if Flags.ACK in seg.flags and answer == _show(ex, seg.ack, seg.receiver):
            return say("peer-numbers")
    return "", f"not {answer}. {q.hint}".strip()


_FIN_WAIT_IS_THE_SENDER = ("fin-wait-vs-close-wait", "FIN-WAIT is the state of the side that sent "
                           "the FIN; the side that received it enters CLOSE-WAIT")
_STATE_MISTAKES = {   # (answer, expected) -> (name, explanation)
    (State.CLOSED, State.TIME_WAIT): (
        "skipped-time-wait", "the side that sent the first FIN does not go straight to CLOSED: "
        "after the last ACK it waits in TIME-WAIT for 2MSL (rfc 240 s, Linux 60 s)"),
    (State.TIME_WAIT, State.CLOSED): (
        "time-wait-wrong-side", "only the side that sent the first FIN waits in TIME-WAIT; the "
        "other goes from LAST-ACK to CLOSED when its FIN is acknowledged"),
    (State.FIN_WAIT_1, State.CLOSE_WAIT): _FIN_WAIT_IS_THE_SENDER,
    (State.FIN_WAIT_2, State.CLOSE_WAIT): _FIN_WAIT_IS_THE_SENDER,
    (State.CLOSE_WAIT, State.FIN_WAIT_1): (
        "fin-wait-vs-close-wait", "the side that sent the FIN is in FIN-WAIT-1 until it is "
        "acknowledged; CLOSE-WAIT is the receiver's state"),
    (State.CLOSE_WAIT, State.FIN_WAIT_2): (
        "fin-wait-vs-close-wait", "the side that sent the FIN is in FIN-WAIT-2 once it is "
        "acknowledged; CLOSE-WAIT is the receiver's state"),
    (State.FIN_WAIT_2, State.FIN_WAIT_1): (
        "fin-not-yet-acked", "its FIN has not been acknowledged yet: still FIN-WAIT-1"),
    (State.FIN_WAIT_1, State.FIN_WAIT_2): (
        "fin-already-acked", "its FIN has been acknowledged: FIN-WAIT-2, waiting for the peer's FIN"),
    (State.ESTABLISHED, State.SYN_RECEIVED): (
        "handshake-not-done", "the server has answered the SYN but not yet received the third "
        "segment: SYN-RECEIVED"),
    (State.ESTABLISHED, State.SYN_SENT): (
        "handshake-not-done", "the client has sent its SYN and waits for the SYN,ACK: SYN-SENT"),
}


def _flags_misconception(answer: Flags, expected: Flags) -> tuple[str, str]:
    if answer == expected | Flags.PSH or answer == expected & ~Flags.PSH:
        return "", "PSH aside, right — this exercise expects the flags exactly as shown in the trace"
    if Flags.ACK in expected and Flags.ACK not in answer:
        return "ack-flag-vs-number", ("every segment after the first SYN carries the ACK flag: "
                                      "the ack field is always valid once the peer's ISN is known")
    return "", f"not {answer}; expected flags like {expected}"


def _show(ex: Exercise, value: int, host: str) -> int:
    """``value`` as the exercise writes numbers (relative to the host's ISN, or absolute)."""
    if ex.params.get("numbers") == "relative" and host in ex.trace.isn:
        return (value - ex.trace.isn[host]) % SEQ_SPACE
    return value


def _segment_acked(trace, seg: Segment) -> Segment | None:
    """The most recent segment from the other side that ``seg``'s ack number covers."""
    before = trace.segments[:trace.segments.index(seg)]
    for s in reversed(before):
        if s.sender == seg.receiver and not s.lost and s.seg_len:
            return s
    return None


def _previous_from(trace, seg: Segment, any_length: bool = False) -> Segment | None:
    """The sender's previous segment that used sequence space (any, with ``any_length``)."""
    before = trace.segments[:trace.segments.index(seg)]
    for s in reversed(before):
        if s.sender == seg.sender and (any_length or s.seg_len):
            return s
    return None


# ----------------------------------------------------------------------------- kinds

def _isn(rng: random.Random) -> int:
    if rng.random() < WRAP_CHANCE:
        return SEQ_SPACE - rng.randint(1, 400)      # close enough below 2**32 to wrap
    return rng.randint(1000, 4_000_000_000)


def _blank(ex_trace, i: int, field_name: str, numbers: str, **kw) -> Question:
    seg = ex_trace.segments[i - 1]
    shown = ex_trace.relative() if numbers == "relative" else ex_trace
    value = getattr(shown.segments[i - 1], field_name)
    direction = f"{seg.sender} → {seg.receiver}"
    what = {"seq": "sequence number (seq)", "ack": "acknowledgement number (ack)"}[field_name]
    return Question(f"{field_name}_{i}", f"segment {i} ({seg.flags}, {direction}): its {what}",
                    value, "number", i, field_name, **kw)


def _draw_handshake(rng: random.Random) -> dict:
    return {"profile": rng.choice(("rfc", "linux")), "client_isn": _isn(rng),
            "server_isn": _isn(rng), "request": rng.randint(20, 900),
            "response": rng.randint(20, 900), "numbers": "absolute"}


def handshake_numbers(params: dict) -> Exercise:
    """Handshake and a little data: fill in seq and ack (the ISNs are given)."""
    profile = params["profile"]
    sim = scenarios.data_transfer(profile=profile, client_isn=params["client_isn"],
                                  server_isn=params["server_isn"], request=params["request"],
                                  response=params["response"], mss=1460)
    t = sim.trace
    qs = [_blank(t, 2, "ack", "absolute", hint="The SYN,ACK acknowledges the client's SYN."),
          _blank(t, 3, "seq", "absolute", hint="After its SYN, the client's next number is ISN + 1."),
          _blank(t, 3, "ack", "absolute", hint="The server's SYN takes one number too."),
          _blank(t, 4, "seq", "absolute", hint="A pure ACK takes no sequence number."),
          _blank(t, 5, "ack", "absolute", hint="Count the bytes of segment 4."),
          _blank(t, 6, "seq", "absolute", hint="The server has sent only its SYN so far.")]
    n = len(t.segments)
    qs.append(_blank(t, n, "ack", "absolute", hint="Everything the server sent, byte for byte."))
    intro = (f"Client ISN = {params['client_isn']}, server ISN = {params['server_isn']}. The client "
             f"sends {params['request']} bytes, the server answers with {params['response']} "
             f"(profile {profile!r}).")
    # every seq/ack is blank: each one could be read off its neighbours otherwise
    return Exercise("handshake_numbers", params, sim, qs, hide=("seq", "ack"), intro=intro)


def _draw_close(rng: random.Random) -> dict:
    return {"profile": rng.choice(("rfc", "linux")), "client_isn": _isn(rng),
            "server_isn": _isn(rng), "closer": rng.choice(("client", "server")),
            "data": rng.randint(50, 1200), "lose_first_fin": rng.random() < 0.5,
            "numbers": "absolute"}


def close_numbers(params: dict) -> Exercise:
    """Half-close with data from the passive side, maybe a lost FIN: the close's numbers."""
    profile, closer = params["profile"], params["closer"]
    from .simulation import Simulation

    sim = Simulation(profile=profile, latency=0.01, client_isn=params["client_isn"],
                     server_isn=params["server_isn"], mss=1460)
    sim.server.listen()
    sim.client.connect()
    sim.wait(0.05)
    active, passive = sim.hosts[closer], sim.hosts["server" if closer == "client" else "client"]
    if params["lose_first_fin"]:
        sim.drop_next(closer, Flags.FIN)
    active.shutdown(SHUT_WR)
    sim.wait(1.5 if params["lose_first_fin"] else 0.1)
    passive.recv()
    passive.send(bytes(params["data"]))
    sim.wait(0.1)
    active.recv()
    passive.close()
    sim.wait(0.1)
    active.close()
    sim.wait(0.1)
    t = sim.trace
    segs = t.segments
    fins = [i for i, s in enumerate(segs, 1) if Flags.FIN in s.flags]
    second_fin = next(i for i in fins if segs[i - 1].sender != closer)
    last = len(segs)
    qs = [_blank(t, fins[0], "seq", "absolute", hint="Nothing was sent since the handshake."),
          _blank(t, second_fin, "seq", "absolute",
                 hint="The passive side sent data after the first FIN: w is not v + 1."),
          _blank(t, second_fin, "ack", "absolute", hint="The first FIN took one number."),
          _blank(t, last, "ack", "absolute", hint="The second FIN takes one number too."),
          Question("time_wait_host", "which side ends in TIME-WAIT? ('client' or 'server')",
                   next(e.host for e in t.events if e.kind == "state" and e.new is State.TIME_WAIT),
                   "host", hint="The side that sent the first FIN waits.")]
    intro = (f"Client ISN = {params['client_isn']}, server ISN = {params['server_isn']}. The "
             f"{closer} half-closes first; the other side then sends {params['data']} bytes and "
             f"closes" + ("; the first FIN is lost once" if params["lose_first_fin"] else "")
             + f" (profile {profile!r}).")
    return Exercise("close_numbers", params, sim, qs, hide=("seq", "ack"), intro=intro)


def _draw_states(rng: random.Random) -> dict:
    return {"profile": rng.choice(("rfc", "linux")), "client_isn": _isn(rng),
            "server_isn": _isn(rng), "closer": rng.choice(("client", "server")),
            "pause": rng.choice((0.0, 0.2)), "lose_final_ack": rng.random() < 0.4,
            "numbers": "absolute"}


def states_and_timers(params: dict) -> Exercise:
    """States after chosen segments, when TIME-WAIT ends, and how many segments a close takes."""
    from .simulation import Simulation

    profile, pause, closer = params["profile"], params["pause"], params["closer"]
    passive_name = "server" if closer == "client" else "client"
    sim = Simulation(profile=profile, latency=0.01, client_isn=params["client_isn"],
                     server_isn=params["server_isn"])
    sim.server.listen()
    sim.client.connect()
    sim.wait(0.05)
    active, passive = sim.hosts[closer], sim.hosts[passive_name]
    start = len(sim.trace)
    active.close()
    sim.wait(sim.latency + pause)
    passive.recv()
    passive.close()
    if params["lose_final_ack"]:
        sim.drop_next(closer, Flags.ACK)
    sim.wait(3.0)
    t = sim.trace
    close = t.segments[start:]
    first = start + 1
    asked = t.segments[first - 1]
    entered = [e.time for e in t.events if e.kind == "state" and e.host == closer
               and e.new is State.TIME_WAIT][-1]
    sent = closer
    qs = [Question(f"client_state_{first}",
                   f"the client's state once the {sent}'s first FIN has arrived",
                   str(asked.client_state), "state", first, "client_state",
                   hint="Which side sent the FIN, and what does each side wait for now?"),
          Question(f"server_state_{first}",
                   "the server's state at that same moment",
                   str(asked.server_state), "state", first, "server_state",
                   hint="The side that received the FIN: its application has not closed yet."),
          Question("close_segments", "how many segments does this close take (retransmissions "
                   "included)?", len(close), "count",
                   hint="Delayed ACK: on Linux the ACK of a FIN waits; a prompt close merges it. "
                        "A lost segment is sent again."),
          Question("time_wait_host", "which side ends in TIME-WAIT? ('client' or 'server')",
                   next(e.host for e in t.events if e.kind == "state" and e.new is State.TIME_WAIT),
                   "host", hint="The side that sent the first FIN waits."),
          Question("time_wait_ends", f"at what time (s) does the {closer} leave TIME-WAIT?",
                   round(entered + sim.profile.time_wait, 6), "seconds",
                   hint="rfc: 2 × MSL = 240 s; Linux: 60 s — counted from the last time it "
                        "(re)entered TIME-WAIT.")]
    intro = (f"The {closer} closes first; the {passive_name}'s application closes "
             f"{'at once' if pause == 0 else f'{pause} s later'}"
             + ("; the last ACK is lost once" if params["lose_final_ack"] else "")
             + f" (profile {profile!r}).")
    # reason from the description: the trace itself would show every answer
    return Exercise("states_and_timers", params, sim, qs, hide=TABLE_HIDDEN, intro=intro)


# kind -> (draw the parameters from a random generator, build the exercise from them)
KINDS = {
    "handshake_numbers": (_draw_handshake, handshake_numbers),
    "close_numbers": (_draw_close, close_numbers),
    "states_and_timers": (_draw_states, states_and_timers),
}


def _kind(kind: str):
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown exercise {kind!r}; known: {', '.join(KINDS)}") from None


def draw(kind: str, seed: int) -> dict:
    """The parameters of exercise ``kind`` drawn from ``seed``."""
    return _kind(kind)[0](random.Random(seed))


def load(kind: str, params: dict) -> Exercise:
    """Exercise ``kind`` built from its parameters (as an assigned notebook holds them)."""
    drawn = draw(kind, 0)
    missing = set(drawn) - set(params)
    if missing:
        raise ValueError(f"exercise {kind!r} needs parameters {sorted(missing)}")
    return _kind(kind)[1](dict(params))


def student_params(kind: str, secret: str | bytes, student_id: str) -> dict:
    """One student's parameters for ``kind``, from the course secret and the student id."""
    return draw(kind, student_seed(secret, student_id, kind))


def for_student(kind: str, secret: str | bytes, student_id: str) -> Exercise:
    """Exercise ``kind`` with one student's numbers (seeded by the course secret)."""
    return load(kind, student_params(kind, secret, student_id))


_FIELDS = {"seq": "number", "ack": "number", "len": "number", "flags": "flags",
           "client_state": "state", "server_state": "state"}


_FIELD_HINTS = {
    "seq": "A side's seq is its previous seq plus what that segment carried: its data bytes, "
           "plus one for a SYN or a FIN, nothing for a pure ACK.",
    "ack": "The ack is the next number this side expects: the other side's last seq plus what "
           "that segment carried (data bytes, +1 for SYN or FIN).",
    "len": "The payload length: the data bytes only; flags carry none.",
    "flags": "After the very first SYN every segment carries ACK; which other flag does this "
             "one need?",
    "client_state": "Which segment did the client just send or receive, and what is it waiting for?",
    "server_state": "Which segment did the server just send or receive, and what is it waiting for?",
}


def practice(sim, blanks, intro: str = "", numbers: str = "absolute", hide=()) -> Exercise:
    """A short practice on a simulation or a trace (a capture too): ``blanks`` is a list of
    (field, segment number),
    field one of seq, ack, len, flags, client_state, server_state (``hide`` blanks whole
    columns too, so no answer can be read off a neighbour); the key comes from the
    trace, and wrong numbers get the same diagnosis as homework."""
    trace = getattr(sim, "trace", sim)
    shown = trace.relative() if numbers == "relative" else trace
    qs = []
    for field_name, i in blanks:
        if field_name not in _FIELDS:
            raise ValueError(f"unknown field {field_name!r}; use one of {sorted(_FIELDS)}")
        if not 1 <= i <= len(trace.segments):
            raise ValueError(f"segment {i} does not exist: the trace has {len(trace.segments)}")
        seg = shown.segments[i - 1]
        value = getattr(seg, field_name)
        if field_name == "flags":
            value = str(value)
        elif field_name.endswith("_state"):
            value = str(value)
        what = {"seq": "sequence number", "ack": "acknowledgement number", "len": "payload length",
                "flags": "flags (as text, in quotes)", "client_state": "client's state after it",
                "server_state": "server's state after it"}[field_name]
        qs.append(Question(f"{field_name}_{i}", f"segment {i} ({seg.sender} → {seg.receiver}): "
                           f"the {what}", value, _FIELDS[field_name], i, field_name,
                           hint=_FIELD_HINTS[field_name]))
    bad = set(hide) - set(_FIELDS)
    if bad:
        raise ValueError(f"hide takes fields from {sorted(_FIELDS)}, not {sorted(bad)}")
    return Exercise("practice", {"numbers": numbers}, sim, qs, hide=tuple(hide), intro=intro)
