"""The two behaviours tcpedu models: the textbook ("rfc") and the real kernel ("linux").

Every number and every behavioural switch has its source next to it.  The
linux values were checked against captures of loopback traffic on a
Linux 6.18 kernel (see ``tests/data/`` and ``tests/test_linux_captures.py``).
``profile_table()`` renders the comparison the README and the notebooks show.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .segment import Flags

__all__ = [
    "Profile", "RFC", "LINUX", "PROFILES", "SOURCES", "get_profile", "profile_table",
    "profile_table_markdown",
]


@dataclass(frozen=True)
class Profile:
    """A set of behaviours and constants; see ``PROFILES`` and ``profile_table()``."""

    name: str
    description: str
    time_wait: float             # seconds spent in TIME-WAIT
    msl: float | None            # Maximum Segment Lifetime, where TIME-WAIT derives from it
    rto_initial: float           # RTO before any RTT sample
    rto_min: float               # floor of the computed RTO
    rto_max: float               # ceiling of the backed-off RTO
    rto_min_bounds_rttvar: bool  # rto_min floors 4 x RTTVAR (Linux), not the whole RTO (RFC 6298)
    syn_linear_retries: int      # SYN retransmissions that keep the initial RTO before doubling
    syn_retries: int             # SYN retransmissions before connect() fails (plus the linear ones)
    synack_retries: int          # SYN,ACK retransmissions before the half-open connection is dropped
    data_retries: int            # retransmissions of data/FIN before the connection is dropped
    delayed_ack: float | None    # delayed-ACK timeout; None = acknowledge at once
    quickacks: int               # segments acknowledged at once at the start of a connection
    fin_wait_2_timeout: float | None  # orphaned FIN-WAIT-2 lifetime; None = forever
    keepalive_idle: float
    keepalive_interval: float
    keepalive_probes: int
    keepalive_rst: bool          # a connection keepalive gives up on is reset (RST sent), not dropped
    abort_flags: Flags           # flags of the RST that ABORT / close() with unread data send
    dup_syn_gets_synack: bool    # a retransmitted SYN in SYN-RECEIVED is answered with SYN,ACK
    ack_duplicate_syn: bool      # simultaneous open: the peer's SYN,ACK (its SYN a duplicate) is ACKed
    accept_queue_extra: int | None  # the accept queue holds backlog + this many; None: no limit
    push_flag: bool              # data segments carry PSH (the last of each write)
    mss: int                     # default maximum segment size (payload bytes)
    window: int                  # receive window advertised


RFC = Profile(
    name="rfc",
    description="RFC 9293 as the textbooks draw it: every ACK at once, TIME-WAIT = 2 x MSL",
    time_wait=240.0, msl=120.0,
    rto_initial=1.0, rto_min=1.0, rto_max=60.0, rto_min_bounds_rttvar=False,
    syn_linear_retries=0, syn_retries=7, synack_retries=7, data_retries=6,
    delayed_ack=None, quickacks=0,
    fin_wait_2_timeout=None,
    keepalive_idle=7200.0, keepalive_interval=75.0, keepalive_probes=9, keepalive_rst=False,
    abort_flags=Flags.RST,
    dup_syn_gets_synack=False,
    ack_duplicate_syn=False,
    accept_queue_extra=None,
    push_flag=False,
    mss=536, window=65535,
)

LINUX = Profile(
    name="linux",
    description="what a Linux 6.x kernel puts on the wire with default sysctls",
    time_wait=60.0, msl=None,
    rto_initial=1.0, rto_min=0.2, rto_max=120.0, rto_min_bounds_rttvar=True,
    syn_linear_retries=4, syn_retries=6, synack_retries=5, data_retries=15,
    delayed_ack=0.04, quickacks=16,
    fin_wait_2_timeout=60.0,
    keepalive_idle=7200.0, keepalive_interval=75.0, keepalive_probes=9, keepalive_rst=True,
    abort_flags=Flags.RST | Flags.ACK,
    dup_syn_gets_synack=True,
    ack_duplicate_syn=True,
    accept_queue_extra=1,
    push_flag=True,
    mss=1460, window=65535,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (RFC, LINUX)}

# Where each value comes from: (field, rfc source, linux source).
SOURCES: dict[str, tuple[str, str]] = {
    "time_wait": ("RFC 9293 §3.10.7.4: 2 x MSL", "TCP_TIMEWAIT_LEN (60*HZ), include/net/tcp.h"),
    "msl": ("RFC 9293 §3.4.2: MSL = 2 minutes", "not used: TIME-WAIT is a constant"),
    "rto_initial": ("RFC 6298 §2.1", "TCP_TIMEOUT_INIT (1 s)"),
    "rto_min": ("RFC 6298 §2.4: RTO >= 1 s", "TCP_RTO_MIN (200 ms)"),
    "rto_max": ("RFC 6298 §2.5: a maximum of at least 60 s", "TCP_RTO_MAX (120 s)"),
    "rto_min_bounds_rttvar": ("RFC 6298 §2.3-2.4: RTO = max(SRTT + max(G, 4 x RTTVAR), 1 s)",
                              "tcp_rtt_estimator(), tcp_set_rto(): RTO = SRTT + max(4 x RTTVAR, "
                              "TCP_RTO_MIN)"),
    "syn_linear_retries": ("RFC 6298 §5.5: double on every timeout",
                           "net.ipv4.tcp_syn_linear_timeouts = 4 (kernels >= 6.5)"),
    "syn_retries": ("RFC 9293 §3.8.3: R2 for a SYN >= 3 min (SYNs at 0, 1, 3, 7, 15, 31, 63, "
                    "123 s; given up at 183 s)",
                    "net.ipv4.tcp_syn_retries = 6; tcp_write_timeout() adds the 4 linear ones: "
                    "SYNs at 0,1,2,3,4,5,7,11,19,35,67 s, ETIMEDOUT at 131 s (measured)"),
    "synack_retries": ("as for SYN", "net.ipv4.tcp_synack_retries = 5"),
    "data_retries": ("RFC 9293 §3.8.3: R2 >= 100 s (from RTO 1 s: retransmissions at 1, 3, 7, "
                     "15, 31, 63 s; given up at 123 s)", "net.ipv4.tcp_retries2 = 15"),
    "delayed_ack": ("RFC 9293 §3.8.6.3 allows delay; the textbook acknowledges at once",
                    "TCP_ATO_MIN = HZ/25 = 40 ms once data has arrived (measured 40-47 ms); "
                    "before any data the next tick (measured 0.1-4 ms; model 2 ms)"),
    "quickacks": ("not applicable", "TCP_MAX_QUICKACKS = 16, tcp_incr_quickack()"),
    "fin_wait_2_timeout": ("RFC 9293 has no FIN-WAIT-2 timer", "net.ipv4.tcp_fin_timeout = 60"),
    "keepalive_idle": ("RFC 9293 §3.8.4: no less than two hours",
                       "net.ipv4.tcp_keepalive_time = 7200"),
    "keepalive_interval": ("not in the RFC; BSD's TCPTV_KEEPINTVL (75 s)",
                           "net.ipv4.tcp_keepalive_intvl = 75"),
    "keepalive_probes": ("not in the RFC; the model uses Linux's 9 (BSD's TCPTV_KEEPCNT is 8)",
                         "net.ipv4.tcp_keepalive_probes = 9"),
    "keepalive_rst": ("RFC 9293 §3.8.4 and RFC 1122 §4.2.3.6 say nothing on giving up; the model "
                      "drops the connection silently",
                      "tcp_keepalive_timer(): tcp_send_active_reset() (RST,ACK), then ETIMEDOUT"),
    "abort_flags": ("RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>",
                    "tcp_send_active_reset(): RST,ACK <SEQ=SND.NXT><ACK=RCV.NXT>"),
    "dup_syn_gets_synack": ("RFC 9293 §3.10.7.4: an unacceptable segment gets an ACK",
                            "tcp_check_req(): a retransmitted SYN gets the SYN,ACK again"),
    "ack_duplicate_syn": ("RFC 9293 Figure 7: ESTABLISHED on the SYN,ACK, nothing sent",
                          "tcp_data_queue(): a duplicate SYN forces an immediate ACK (with D-SACK; "
                          "measured on self-connect)"),
    "accept_queue_extra": ("no accept queue in the RFC (the model never refuses for one)",
                           "sk_acceptq_is_full(): full when more than backlog are queued"),
    "push_flag": ("RFC 9293 figures show data as <CTL=ACK>",
                  "tcp_push(): PSH on the last segment of a write"),
    "mss": ("RFC 9293 §3.7.1: default send MSS 536", "Ethernet MTU 1500 - 40"),
    "window": ("fixed in this model", "fixed in this model (no window scaling)"),
}


def get_profile(profile: str | Profile) -> Profile:
    """``"rfc"`` / ``"linux"`` (or a Profile) → Profile; ValueError for anything else."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except (KeyError, TypeError):
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}") from None


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, Flags):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value)}"
    return str(value)


def profile_table() -> list[tuple[str, str, str, str, str]]:
    """Rows of (setting, rfc value, linux value, rfc source, linux source)."""
    rows = []
    for f in fields(Profile):
        if f.name in ("name", "description"):
            continue
        rfc_src, linux_src = SOURCES[f.name]
        rows.append((f.name, _show(getattr(RFC, f.name)), _show(getattr(LINUX, f.name)),
                     rfc_src, linux_src))
    return rows


def profile_table_markdown() -> str:
    """``profile_table()`` as a Markdown table."""
    lines = ["| setting | rfc | linux | rfc source | linux source |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in profile_table()]
    return "\n".join(lines)
