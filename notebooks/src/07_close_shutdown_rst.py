"""Build notebooks/07_close_shutdown_rst.ipynb (the prose lives here).

Run:  python notebooks/src/07_close_shutdown_rst.py
then execute the notebook in place with nbconvert (outputs are committed).
"""

from nbbuild import code, md, write

md("""
# 07 — close(), shutdown() and RST (复位)

A connection can end politely, each side saying in turn that it has nothing more to send, or
abruptly, with one segment that says "forget it". Which one happens depends on the socket
call — and sometimes on data the application never read.

**What you will learn**

* the two ways a connection ends: the **graceful close (优雅关闭)** with FIN and the
  **abortive close (强制关闭)** with RST (复位);
* why `close()` on a socket with unread data sends RST instead of FIN — a bare RST in the
  textbook, RST+ACK on Linux;
* how `SO_LINGER {1, 0}` turns `close()` into an abort on purpose;
* what "connection reset by peer" is, and what each later call returns: `ConnectionResetError`
  once, then end of stream, and `BrokenPipeError` on sending (EPIPE, and SIGPIPE in C);
* that `shutdown(SHUT_RD)` sends nothing, and that data arriving after `close()` is answered
  with RST;
* the difference between `close()` and `shutdown(SHUT_WR)`, and what the kernel does for a
  process that exits.

Profile `"rfc"` is the textbook (RFC 9293, the answer an exam expects); profile `"linux"`
is what a capture of a Linux host shows. Here they differ in one detail, the form of the RST.
""")

code("""
import socket
import struct

import tcpedu
from tcpedu import exercises
""")

md("""
## Two ways to end a connection

| | graceful close: **FIN** | abortive close: **RST** |
|---|---|---|
| what it says | "I have nothing more to send" | "forget this connection, now" |
| data still queued for sending | sent first; the FIN comes after it | thrown away |
| sequence number | the FIN takes one, like a byte of data | takes none |
| acknowledged, retransmitted? | yes, until it is acknowledged | never: it is sent once |
| afterwards | the closer: FIN-WAIT-1/2, then TIME-WAIT | both ends CLOSED at once, no TIME-WAIT |
| the peer's application sees | `recv()` returns `b""`, end of stream | an error: `ConnectionResetError` |

A FIN closes one direction and keeps every byte; a RST ends both directions and may lose
bytes. An application asks for the first with `close()` or `shutdown(SHUT_WR)`. It gets the
second when it aborts on purpose — or when it calls `close()` in a situation where a FIN
would hide a loss, as the next section shows.

A receiver believes a RST only if its sequence number is one it expects (inside its receive
window). So a RST carries the sender's next sequence number, SND.NXT — or, when the sender has
no connection at all, the ack number of the segment it answers (an example comes below).
""")

md("""
## close() with unread data: RST, not FIN

### Predict

The client sends 10 bytes. The server's application never reads them and calls `close()`.
What does the server send: FIN or RST? Under `"rfc"` and under `"linux"`, which flags, and
which seq and ack numbers (client ISN 1000, server ISN 5000)?

<details><summary>Reveal</summary>

**RST, under both profiles.** RFC 9293 §3.6: when an application closes while received
data is still unread — or when new data arrives after it closed — its TCP *should* send a
RST "to show that data was lost". A FIN would tell the client that everything went well;
the RST tells it that 10 bytes were never read.

* `"rfc"`: `<SEQ=SND.NXT><CTL=RST>` — flags `RST`, seq 5001, no ACK flag.
* `"linux"`: `RST,ACK`, seq 5001, **ack 1011**. The ack number covers the 10 unread bytes:
  the server's kernel had received them (and had acknowledged them already); only the
  application never read them. An ACK means "my TCP has your bytes", never "my application
  has read them".

</details>
""")

code("""
rst_rfc = tcpedu.scenarios.rst_unread_data(profile="rfc", client_isn=1000, server_isn=5000)
rst_rfc.trace
""")

code("""
rst_linux = tcpedu.scenarios.rst_unread_data(profile="linux", client_isn=1000, server_isn=5000)
rst_linux.trace.ladder(title='profile "linux": close() with 10 bytes unread')
""")

md("""
In both runs the 10 bytes arrive at 0.040 s and are acknowledged at once; at 0.100 s the
server's application calls `close()` and the RST leaves immediately. There is no FIN and
no ACK of the RST: when it arrives (0.110 s) the client's connection is simply gone —
CLOSED, without TIME-WAIT on either side.

A real Linux 6.18 kernel, same calls (`data/rst_unread_data.pcap`, relative numbers). The
note is added by the capture reader: it explains why a RST appears where a FIN was expected.
""")

code("""
tcpedu.read_pcap("data/rst_unread_data.pcap").relative()
""")

md("""
Step through the linux run: **Play**, or the slider. The state graph on the right lights
each side's state as the segments go.
""")

code("""
rst_linux.trace.stepper()
""")

md("""
The textbook's Figure 5 has no arrow for any of this: resets, aborts and timeouts lead from
almost every state straight to CLOSED, and drawing them all would hide the normal paths.
The full table, `paths="all"`, groups them into one light dashed arrow per state. The
server's path leaves ESTABLISHED that way (its `close()` with unread data is an ABORT), and
so does the client's (it received the RST).
""")

code("""
tcpedu.draw_state_graph(paths="all", trace=rst_linux.trace)
""")

md("""
## SO_LINGER {1, 0}: the abortive close on purpose

The socket option `SO_LINGER` takes two numbers: on/off, and a time in seconds. By default
it is off: `close()` returns at once, and the kernel finishes the graceful close by itself —
it sends what is still queued, then the FIN, and retransmits them until they are
acknowledged. With `{1, 0}` — on, zero seconds — `close()` becomes the RFC's ABORT call:
anything queued is thrown away, a RST goes out, and the connection is gone at once, with no
TIME-WAIT. Programs use it to shed a connection immediately (and some to dodge TIME-WAIT),
paying with lost data.

tcpedu's sockets take the same `setsockopt` call as Python's `socket` module:
""")

code("""
sim = tcpedu.scenarios.handshake(profile="linux", client_isn=1000, server_isn=5000)
sim.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
sim.client.close()
sim.wait(0.02)
sim.trace
""")

md("""
The scenario `abortive_close` does the same (`sim.client.abort()` is the short form). Under
the textbook profile the RST has no ACK flag; either way both ends are CLOSED at once:
""")

code("""
ab = tcpedu.scenarios.abortive_close(profile="rfc", client_isn=1000, server_isn=5000)
print(ab.trace)
print("client:", ab.client.state, "| server:", ab.server.state)
""")

md("""
## "Connection reset by peer"

What does the application on the other side see? A RST makes its kernel drop the connection
at once. The error is kept for the application and reported **once**, to the next call it
makes; after that the connection is simply over.

### Predict

The server closes with 10 bytes unread, as above, and its RST reaches the client. The
client's application then calls `recv()`, `recv()` again, and `send()`. What does each call
return or raise?

<details><summary>Reveal</summary>

1. `recv()` raises **`ConnectionResetError`** (errno ECONNRESET, 104 on Linux) — the
   "connection reset by peer" of error logs;
2. the second `recv()` returns **`b""`**: the error has been reported, and now the stream
   simply has no more data;
3. `send()` raises **`BrokenPipeError`** (errno EPIPE, 32): nothing can be sent on this
   connection any more.

The real kernel answers the same way; tcpedu's conformance tests compare such calls with
recordings of Linux 6.18. In one, two `recv()` calls after a RST gave `ConnectionResetError`
and then end of stream. In another, the first call after the RST was a `send()`: *it* raised
`ConnectionResetError`, and the next `send()` `BrokenPipeError`. The reset goes to whichever
call comes first.

</details>
""")

code("""
sim = tcpedu.scenarios.handshake(profile="linux", client_isn=1000, server_isn=5000)
sim.client.send(b"x" * 10)
sim.wait(0.05)
sim.server.close()       # the 10 bytes are unread: RST
sim.wait(0.02)
""")

code("""
try:
    sim.client.recv()
except ConnectionResetError as err:
    print("recv() raised", repr(err))
""")

code("""
sim.client.recv()
""")

code("""
try:
    sim.client.send(b"are you still there?")
except BrokenPipeError as err:
    print("send() raised", repr(err))
""")

md("""
### EPIPE and SIGPIPE

In C, `send()` or `write()` on such a connection fails with `EPIPE` — and, in addition, the
kernel sends the process the signal **SIGPIPE**, whose default action is to terminate it,
silently. That is why C servers ignore SIGPIPE (`signal(SIGPIPE, SIG_IGN)`) or pass
`MSG_NOSIGNAL` to `send()`: one client that went away must not kill the server.

Python does the first for you: when the interpreter starts, it sets SIGPIPE to "ignore".
The system call then just fails with EPIPE, and Python raises it as `BrokenPipeError`. This
kernel is running with that setting:
""")

code("""
import signal

signal.getsignal(signal.SIGPIPE)
""")

md("""
## Data that arrives after close() gets a RST

### Predict

This time nothing is unread. The client calls `close()`; its FIN is acknowledged, and the
server's application reads the end of the stream. But instead of closing, the server sends
4 more bytes. What does the client's kernel do with them — and what does the server's next
`send()` do?

<details><summary>Reveal</summary>

The client's kernel answers with **RST**. `close()` gave up the socket in *both*
directions: no application will ever read those 4 bytes, and RFC 9293 §3.6 asks for a RST
to show that data was lost. The client's socket — in FIN-WAIT-2, waiting for the server's
FIN — is gone.

The server's next `send()` raises **`BrokenPipeError`** straight away. The server had
already received the client's FIN (it was in CLOSE-WAIT), and for a reset in that state
Linux reports EPIPE rather than ECONNRESET.

</details>
""")

code("""
late = tcpedu.scenarios.handshake(profile="linux", client_isn=1000, server_isn=5000)
late.client.close()
late.wait(0.1)
late.server.recv(), late.server.send(b"late")
""")

code("""
late.wait(0.05)
try:
    late.server.send(b"more")
except BrokenPipeError as err:
    print("send() raised", repr(err))
""")

code("""
late.trace.ladder(title="data after close(): the answer is RST")
""")

md("""
The RST here has no ACK flag and seq 1002: it is an answer *to the data segment*, in the
form RFC 9293 gives for a segment that has no connection to go to, `<SEQ=SEG.ACK><CTL=RST>` —
its seq is the ack number the data segment carried. The real kernel
(`data/write_after_peer_close.pcap`, recorded after an exchange of 5 and 7 bytes) answers
the same way:
""")

code("""
tcpedu.read_pcap("data/write_after_peer_close.pcap").relative()
""")

md("""
## shutdown(SHUT_RD) sends nothing

### Predict

The server calls `shutdown(SHUT_RD)`: "I will read no more". What segment does that send?
And if the client then sends 5 bytes, can the server still read them?

<details><summary>Reveal</summary>

**Nothing is sent.** A FIN means "I will *send* no more"; TCP has no segment for "I will
read no more", so the peer is not told. On Linux the next `recv()` returns `b""` at once,
yet data that still arrives is accepted, acknowledged — and can be read (tcpedu's
conformance tests check this against the real kernel). Under `"rfc"` tcpedu does the same:
RFC 9293 has no SHUT_RD at all.

</details>
""")

code("""
rd = tcpedu.scenarios.handshake(profile="linux", client_isn=1000, server_isn=5000)
rd.server.shutdown(socket.SHUT_RD)
rd.wait(0.05)
len(rd.trace), rd.server.recv()
""")

code("""
rd.client.send(b"hello")
rd.wait(0.1)
rd.server.recv(), len(rd.trace)
""")

md("""
Three segments after `shutdown(SHUT_RD)`: the handshake's, nothing more. Then the 5 bytes
arrived and were read; the trace has grown by two segments, the data and its ACK.

## close() or shutdown()?

| | `close()` | `shutdown(SHUT_WR)` |
|---|---|---|
| acts on | the descriptor: the socket is given up, both directions | the connection itself, at once |
| the FIN leaves | when the *last* descriptor for the socket closes ¹ | at once, whatever descriptors exist |
| sends | FIN — or RST if received data is unread | FIN |
| can the application still receive? | no: arriving data gets a RST | **yes**: the half-close (半关闭) |
| can it still send? | no | no |
| afterwards | the socket is gone for the application | it is still open: read the rest, then `close()` |

¹ After `fork()` or `dup()` several descriptors refer to one socket; `close()` on one of
them sends nothing while another is still open.

### Predict

Repeat the experiment above, but the client uses `shutdown(SHUT_WR)` instead of `close()`,
and the server sends 4 bytes after reading the end of the stream. What does the client
answer?

<details><summary>Reveal</summary>

An **ACK** (ack = 5005 in absolute numbers: the 4 bytes are acknowledged), and the client's
application can read them. The client's direction is closed, the server's is not: the
server sends its FIN when it is done, and the close ends normally, the client in TIME-WAIT.

</details>
""")

code("""
hc = tcpedu.scenarios.half_close(profile="linux", client_isn=1000, server_isn=5000, data=4,
                                 until_closed=False)
hc.trace.ladder(title="shutdown(SHUT_WR): the client still receives")
""")

md("""
## When a process exits

A process that exits — returning from `main`, calling `exit()`, killed by a signal, or
crashing — does not close its sockets itself: the kernel closes every file descriptor the
process held. For a TCP socket whose last descriptor that was, this is exactly `close()`:
a **FIN** if everything received had been read, a **RST** if received data was still unread
(or with `SO_LINGER {1, 0}`). So everything above about `close()` — the engine's
`close()` — is also what happens when a program dies. A popular article says the kernel
always sends FIN for a process that exits; with unread data it sends RST.

What is *not* the same: a host that loses power or its network sends nothing at all. Its
peer learns about it only when it tries to send, or when keepalive probes the connection —
the subject of the next notebook.

The same article is right that a write after a RST raises SIGPIPE in C, and that `close()`
only drops one reference when several processes share the socket, while `shutdown()` acts
on the connection for all of them.
""")

md("""
## Practice

The table is the linux run of `rst_unread_data` from the top of this notebook (client ISN
1000, server ISN 5000). Fill in the answer cell, run it, then run the check.
""")

code("""
p = exercises.practice(rst_linux, [("flags", 6), ("seq", 6), ("ack", 6), ("client_state", 6)],
                       intro="The server closes with 10 bytes unread (profile linux).")
p
""")

code("""
flags_6 = None          # the flags, as text: e.g. "ACK" or "SYN,ACK"
seq_6 = None            # a number
ack_6 = None
client_state_6 = None   # a state name, e.g. "FIN-WAIT-1"
""")

code("""
p.check(flags_6=flags_6, seq_6=seq_6, ack_6=ack_6, client_state_6=client_state_6)
""")

md("""
Stuck? `p.hint("ack_6")` gives a hint without giving the answer away.

## In one paragraph

A FIN ends one direction gracefully — queued data first, acknowledged, retransmitted,
TIME-WAIT afterwards — while a RST ends the connection on the spot, losing whatever was
unsent or unread, with no acknowledgement and no TIME-WAIT. `close()` sends FIN normally,
but RST when received data is unread or when data arrives after it (RFC 9293 §3.6: the RST
shows that data was lost): a bare RST in the textbook, RST+ACK acknowledging the unread
bytes on Linux; `SO_LINGER {1, 0}` makes `close()` an abort on purpose. The peer's next call
raises `ConnectionResetError` ("connection reset by peer"), later reads return end of
stream, and sends raise `BrokenPipeError` — EPIPE, which in C also brings SIGPIPE, ignored
by Python. `shutdown(SHUT_RD)` sends nothing; `shutdown(SHUT_WR)` is the half-close, which
keeps receiving where `close()` would answer with RST; and a process that exits gets its
sockets closed by the kernel, exactly as if it had called `close()`.
""")


write("07_close_shutdown_rst")
