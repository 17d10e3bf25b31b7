"""tcpedu — TCP connection management, simulated exactly and compared with the real thing.

Start with :class:`Simulation`::

    import tcpedu
    sim = tcpedu.Simulation(profile="rfc", client_isn=100, server_isn=300)
    sim.server.listen()
    sim.client.connect()
    print(sim.trace)

The state machine is the table ``TRANSITIONS`` (RFC 9293 Figure 5 and the
arrows it leaves out); ``PROFILES`` holds the textbook ("rfc") and Linux
("linux") behaviours; ``scenarios`` builds every situation the course uses.
"""

from . import exercises, scenarios
from .capture import CaptureError, list_connections, read_pcap
from .endpoint import SHUT_RD, SHUT_RDWR, SHUT_WR, Endpoint, Output
from .graph import draw_state_graph, save_state_graph, state_graph, to_dot
from .machine import TRANSITIONS, Event, State, Transition, acceptable_ack, segment_acceptable
from .profiles import PROFILES, Profile, get_profile, profile_table
from .segment import SEQ_SPACE, Flags, Segment, seq_add, seq_diff, seq_le, seq_lt
from .simulation import Host, Simulation, Socket
from .trace import Trace, TraceEvent

__version__ = "0.1.0"

__all__ = [
    "ladder", "live",           # trace.ladder() and the live lab; imported on first use
    "CaptureError", "list_connections", "read_pcap",
    "draw_state_graph", "save_state_graph", "state_graph", "to_dot",
    "Endpoint", "Event", "Flags", "Host", "Output", "PROFILES", "Profile", "SEQ_SPACE",
    "SHUT_RD", "SHUT_RDWR", "SHUT_WR", "Segment", "Simulation", "Socket", "State",
    "TRANSITIONS", "Trace", "TraceEvent", "Transition", "acceptable_ack", "get_profile",
    "profile_table", "scenarios", "exercises", "segment_acceptable", "seq_add", "seq_diff", "seq_le",
    "seq_lt",
]


def __getattr__(name: str):
    """``tcpedu.ladder`` and ``tcpedu.live`` are imported on first use, so that
    ``import tcpedu`` stays light (no matplotlib, no sockets)."""
    if name in ("ladder", "live"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tcpedu' has no attribute {name!r}")
