"""Socket-call scripts run both on the real kernel (loopback) and on the engine ("linux").

Scripts that exchange data first so Linux's delayed-ACK timeout (ATO) is
40 ms: a close then comes out the same however the machine schedules the
steps (with no data received the ATO is 0 and a FIN's ACK leaves within a
millisecond, a race no capture can pin down).
"""

L, C = ("server", "listen"), ("client", "connect")
EXCHANGE = [("client", "send", 5), ("server", "recv"), ("server", "send", 7), ("client", "recv")]

SCRIPTS = {
    "handshake": [L, C, ("sleep", 0.05)],
    "data_both_ways": [L, C, *EXCHANGE, ("sleep", 0.1)],
    # the peer's application waits 0.3 s: the FIN's ACK goes out alone after 40 ms
    "four_way_close": [L, C, *EXCHANGE, ("sleep", 0.1), ("client", "close"), ("server", "recv"),
                       ("sleep", 0.3), ("server", "close"), ("sleep", 0.05)],
    # the peer's application closes at once: its FIN carries the delayed ACK
    "three_way_close": [L, C, *EXCHANGE, ("sleep", 0.1), ("client", "close"), ("server", "recv"),
                        ("server", "close"), ("sleep", 0.05)],
    # half-close, then the passive side still sends 100 bytes: its FIN's seq is w = v + 1 + 100
    "half_close_server_data": [L, C, *EXCHANGE, ("sleep", 0.1), ("client", "shutdown", "SHUT_WR"),
                               ("sleep", 0.1), ("server", "recv"), ("server", "send", 100),
                               ("sleep", 0.05), ("client", "recv"), ("server", "close"),
                               ("sleep", 0.05), ("client", "recv"), ("client", "close"),
                               ("sleep", 0.05)],
    "rst_unread_data": [L, C, ("client", "send", 10), ("sleep", 0.05), ("server", "close"),
                        ("sleep", 0.05), ("client", "recv"), ("client", "recv")],
    "abortive_close": [L, C, *EXCHANGE, ("sleep", 0.1), ("client", "abort"), ("sleep", 0.05),
                       ("server", "send", 4), ("server", "send", 4), ("server", "recv")],
    "connection_refused": [C, ("sleep", 0.05)],
    "shutdown_rd": [L, C, *EXCHANGE, ("sleep", 0.1), ("server", "shutdown", "SHUT_RD"),
                    ("sleep", 0.05), ("server", "recv"), ("client", "send", 5), ("sleep", 0.05),
                    ("server", "recv"), ("server", "recv")],
    # the other direction: the server half-closes first and the client still sends
    "half_close_client_data": [L, C, *EXCHANGE, ("sleep", 0.1), ("server", "shutdown", "SHUT_WR"),
                               ("sleep", 0.1), ("client", "recv"), ("client", "send", 100),
                               ("sleep", 0.05), ("server", "recv"), ("client", "close"),
                               ("sleep", 0.05), ("server", "recv"), ("server", "close"),
                               ("sleep", 0.05)],
    # the client closes with the server's data unread
    "rst_unread_data_client": [L, C, ("server", "send", 10), ("sleep", 0.05), ("client", "close"),
                               ("sleep", 0.05), ("server", "recv"), ("server", "recv")],
    # three request/response rounds: quick ACKs first, then ACKs ride on the replies
    "request_response": [L, C, *EXCHANGE, ("sleep", 0.01), *EXCHANGE, ("sleep", 0.01), *EXCHANGE,
                         ("sleep", 0.1)],
    # data then close() at once: the data segment and the FIN
    "data_then_close": [L, C, *EXCHANGE, ("sleep", 0.1), ("client", "send", 2000),
                        ("client", "close"), ("server", "recv"), ("server", "close"),
                        ("sleep", 0.05)],
    # the peer writes after our close(): our orphaned socket answers with RST, then EPIPE
    "write_after_peer_close": [L, C, *EXCHANGE, ("sleep", 0.1), ("client", "close"),
                               ("server", "recv"), ("sleep", 0.1), ("server", "send", 4),
                               ("sleep", 0.05), ("server", "send", 4), ("server", "recv")],
    # a socket that connects to its own port: a real simultaneous open
    "self_connect": [("client", "connect", "self"), ("sleep", 0.05), ("client", "send", 3),
                     ("client", "recv"), ("sleep", 0.05)],
    # listen(1) and nobody accepts: backlog + 1 connections fit, the other SYNs are dropped
    # and retransmitted after 1, 2 and 3 s
    "backlog_overflow": [("server", "listen", 1), ("client", "connect"), ("sleep", 0.05),
                         ("client2", "connect"), ("sleep", 0.05), ("client3", "connect"),
                         ("sleep", 0.05), ("client4", "connect"), ("sleep", 3.5)],
    # two request/response rounds with no wait at all, then close() right after the last
    # recv(): the client's second request left at the instant the first reply arrived (within
    # ATO), so it is in pingpong mode, delays its ACK of the second reply, and the FIN carries it
    "request_response_close": [L, C, *EXCHANGE, *EXCHANGE, ("client", "close"), ("sleep", 0.1)],
}

SETTLE = 0.01    # seconds from one step to the next on the kernel (the engine replays its times)
SETTLES = {"request_response_close": 0.0}     # scripts whose steps follow with no wait


def settle(name: str) -> float:
    """The pause between the steps of script ``name``."""
    return SETTLES.get(name, SETTLE)
