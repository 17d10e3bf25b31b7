"""Socket-call scripts: one list of steps, run on the engine or on real sockets.

A script is a list of steps, each a tuple::

    ("server", "listen")            ("client", "connect")
    ("server", "listen", 1)         ("client2", "connect")   # backlog 1; more clients
    ("client", "connect", "self")   # connect to its own port: a real simultaneous open
    ("client", "send", 5)           ("server", "recv")
    ("client", "shutdown", "SHUT_WR")
    ("server", "close")             ("client", "abort")      # SO_LINGER {1, 0}
    ("sleep", 0.2)

:func:`run_simulated` plays it on a :class:`~tcpedu.Simulation` (profile
"linux", ``latency=0`` models loopback); :mod:`tcpedu.live` plays the same
script on the machine's real TCP, so the two traces can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .simulation import Simulation

__all__ = [
    "SHUTDOWN_HOW", "check_script", "sides", "describe_step", "StepTimes", "Outcome", "payload",
    "result_text", "run_simulated",
]

_ACTIONS = {"listen": (0, 1), "connect": (0, 1), "send": (1,), "recv": (0,), "shutdown": (1,),
            "close": (0,), "abort": (0,)}   # action -> allowed argument counts
SHUTDOWN_HOW = {"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2}   # a script's word -> shutdown()'s how


def check_script(steps) -> list[tuple]:
    """Validate a script; ValueError names the first bad step and what is allowed."""
    checked = []
    for i, step in enumerate(steps):
        if not isinstance(step, (tuple, list)) or not step:
            raise ValueError(f"step {i}: {step!r} is not a tuple like ('client', 'connect')")
        step = tuple(step)
        if step[0] == "sleep":
            if len(step) != 2 or isinstance(step[1], bool) or not isinstance(step[1], (int, float)) \
                    or step[1] < 0:
                raise ValueError(f"step {i}: {step!r}: sleep takes one number of seconds >= 0")
        else:
            if not _is_side(step[0]) or len(step) < 2 or step[1] not in _ACTIONS:
                raise ValueError(f"step {i}: {step!r}: use (side, action[, arg]) with side 'server', "
                                 f"'client', 'client2', ... and action in {sorted(_ACTIONS)}, "
                                 "or ('sleep', s)")
            if len(step) - 2 not in _ACTIONS[step[1]]:
                raise ValueError(f"step {i}: {step!r}: {step[1]} takes "
                                 f"{' or '.join(map(str, _ACTIONS[step[1]]))} argument(s)")
            if (step[1], step[0] == "server") in (("listen", False), ("connect", True)):
                raise ValueError(f"step {i}: {step!r}: only the server listens, and it does not "
                                 "connect")
            if step[1] == "listen" and len(step) == 3 and (isinstance(step[2], bool) or not
                                                           isinstance(step[2], int) or step[2] < 0):
                raise ValueError(f"step {i}: {step!r}: listen takes a backlog >= 0")
            if step[1] == "connect" and len(step) == 3 and step[2] != "self":
                raise ValueError(f"step {i}: {step!r}: connect takes no argument, or 'self'")
            if step[1] == "send" and (isinstance(step[2], bool) or not isinstance(step[2], int)
                                      or step[2] < 1):
                raise ValueError(f"step {i}: {step!r}: send takes a byte count >= 1")
            if step[1] == "shutdown" and step[2] not in SHUTDOWN_HOW:
                raise ValueError(f"step {i}: {step!r}: shutdown takes one of {sorted(SHUTDOWN_HOW)}")
        checked.append(step)
    return checked


def _is_side(name) -> bool:
    return name == "server" or (isinstance(name, str) and name.startswith("client")
                                and (name == "client" or name[6:].isdigit()))


def sides(steps) -> list[str]:
    """The hosts a script uses: its clients in order of first use, then "server"."""
    found = ["client"]
    for step in steps:
        if step[0] not in found and step[0] not in ("server", "sleep"):
            found.append(step[0])
    return found + ["server"]


def describe_step(step: tuple) -> str:
    """``('client', 'send', 5)`` → ``client.send(5 bytes)``."""
    if step[0] == "sleep":
        return f"sleep({step[1]})"
    arg = ""
    if len(step) > 2:
        arg = f"{step[2]} bytes" if step[1] == "send" else str(step[2])
    return f"{step[0]}.{step[1]}({arg})"


@dataclass(frozen=True)
class StepTimes:
    """When one step of a run happened, in seconds from the run's start: its call (from the
    moment it was made to the moment it returned) and the reading of the states after it."""

    call: tuple[float, float]
    sample: tuple[float, float]


@dataclass
class Outcome:
    """What each step returned or raised, every side's state after it, and when it ran."""

    steps: list[tuple]
    results: list[str] = field(default_factory=list)
    states: list[dict[str, str]] = field(default_factory=list)   # side -> RFC state name
    times: list[StepTimes] = field(default_factory=list)


def payload(n: int) -> bytes:
    """The bytes a script's ``send n`` puts on the wire (the same for engine and kernel)."""
    return bytes(ord("a") + i % 26 for i in range(n))


def result_text(value) -> str:
    """A step's result as text: ``ok``, ``b'..' (n bytes)`` or the exception's name."""
    if isinstance(value, BaseException):
        return type(value).__name__
    if isinstance(value, bytes):
        return f"{len(value)} bytes" if value else "EOF"
    return "ok"


def run_simulated(steps, profile: str = "linux", latency: float = 0.0, seed: int = 0,
                  settle: float = 0.0, times: list[StepTimes] | None = None, edge: int = 0,
                  **sim_options) -> tuple[Simulation, Outcome]:
    """Play ``steps`` on a simulation; returns it (its ``trace``) and each step's outcome.

    Without ``times``, ``settle`` seconds pass after each step (and a sleep step waits), as
    :func:`tcpedu.live.run_live` schedules them.  With ``times`` (a run's
    :attr:`Outcome.times`, e.g. the kernel's), each call is made and each state read at the
    time given, so a step that came late in that run comes late here too; ``edge`` picks the
    start (0) or the end (1) of each recorded interval.
    """
    steps = check_script(steps)
    if times is not None and len(times) != len(steps):
        raise ValueError(f"times: {len(times)} entries for {len(steps)} steps")
    if edge not in (0, 1):
        raise ValueError(f"edge must be 0 (start of each interval) or 1 (end), got {edge!r}")
    sim = Simulation(profile=profile, latency=latency, seed=seed, **sim_options)
    names = sides(steps)
    for name in names:
        if name not in sim.hosts:
            sim.add_host(name)
    outcome = Outcome(steps)
    for i, step in enumerate(steps):
        if times is not None:
            sim.wait(max(times[i].call[edge] - sim.now, 0.0))
        try:
            value = None if step[0] == "sleep" and times is not None else _simulate_step(sim, step)
        except OSError as exc:
            value = exc
        outcome.results.append(result_text(value))
        if times is None:
            sim.wait(settle)
        else:
            sim.wait(max(times[i].sample[edge] - sim.now, 0.0))
        outcome.states.append({name: str(sim.hosts[name].state) for name in names})
    return sim, outcome


def _simulate_step(sim: Simulation, step: tuple):
    if step[0] == "sleep":
        sim.wait(step[1])
        return None
    host = sim.hosts[step[0]]
    action = step[1]
    if action == "send":
        return host.send(payload(step[2]))
    if action == "recv":
        try:
            return host.recv()
        except BlockingIOError as exc:
            return exc
    if action == "shutdown":
        return host.shutdown(SHUTDOWN_HOW[step[2]])
    if action == "listen" and len(step) == 3:
        return host.listen(backlog=step[2])
    if action == "connect":
        if len(step) == 3:                                   # "self": a self-connect
            port = host._next_port
            return host.connect(to=host.name, port=port, local_port=port)
        return host.connect(to="server")
    return getattr(host, action)()
