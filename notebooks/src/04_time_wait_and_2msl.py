"""Build notebooks/04_time_wait_and_2msl.ipynb (run from anywhere; then execute it in place: nbconvert)."""

from nbbuild import code, md, write

md("""
# 04 — TIME-WAIT and 2MSL

After the last ACK of a close, one side does not forget the connection. It stays in
**TIME-WAIT** (时间等待) for a while — four minutes in the RFC, one minute on Linux — doing
almost nothing. This notebook shows, by simulation, what that waiting is good for.

**What you will learn**

* who ends up in TIME-WAIT (the side that closed first, whichever it is) and when the other side
  reaches CLOSED;
* how long it lasts: 2 × MSL = 240 s in RFC 9293, 60 s on Linux;
* reason 1: the last ACK can be lost — TIME-WAIT answers the retransmitted FIN, where a
  connection already forgotten would answer with a reset (RST);
* reason 2: old segments of a finished connection must die out before the same four numbers
  (addresses and ports) are used again — TIME-WAIT keeps them reserved meanwhile;
* what TIME-WAIT costs, and one way it can be cut short.
""")

code("""
import dataclasses

import tcpedu
""")

md("""
## Who waits?

TIME-WAIT belongs to the **active closer** (主动关闭方): the side that sent the first FIN. The
textbook figures draw the client closing first, so the client ends up waiting, and many articles
conclude that "the client" enters TIME-WAIT. But servers often close first — an HTTP server that
closes the connection after its response, for example.

### Predict, then reveal

The same connection is closed twice: once with the client closing first, once with the server
closing first. After the last ACK, which side is in TIME-WAIT each time?
""")

md("""
<details><summary>Reveal</summary>

Whoever closed first. When the server closes first, the *server* waits in TIME-WAIT and the
client goes through CLOSE-WAIT and LAST-ACK to CLOSED — which it reaches when the last ACK
*arrives*, not before. This is why a busy web server that closes
its connections itself can have thousands of sockets in TIME-WAIT.
</details>
""")

code("""
for closer in ("client", "server"):
    sim = tcpedu.scenarios.four_way_close(profile="rfc", closer=closer, until_closed=False)
    print(f"{closer} closes first: client {sim.client.state}, server {sim.server.state}")
""")

md("""
The same on this machine's real kernel: `live.lab` plays the socket calls on real sockets
(loopback) next to the engine and reads the kernel's state of each socket after every call.
Here the server closes first. `settle=0.05` gives each call 50 ms before the states are read,
so that the kernel's own delayed ACKs have gone out. (This cell runs on *your* machine's kernel; on a
non-Linux machine the kernel column stays empty and says why.)
""")

code("""
from tcpedu import live

live.lab([("server", "listen"), ("client", "connect"), ("server", "close"), ("client", "recv"),
          ("client", "close")], settle=0.05, capture=False)
""", tags=("nbval-ignore-output",))

md("""
After the last call the server's socket is in TIME-WAIT and the client's is gone (CLOSED), in the
engine and in the kernel alike.

## How long? 2MSL

**MSL** (maximum segment lifetime, 最大报文段寿命) is how long a segment can survive in the
network. RFC 9293 (§3.4.2) takes MSL = 2 minutes, and the active closer waits **2 × MSL = 4 minutes
= 240 s** before it deletes the connection (§3.10.7.4, §3.10.8). Beware a common mix-up: "2MSL is 2
minutes" is wrong by a factor of two — 2 minutes is one MSL.

Linux does not use an MSL at all. Its TIME-WAIT is a constant, `TCP_TIMEWAIT_LEN` = 60 s, set when
the kernel is compiled (it is not the sysctl `net.ipv4.tcp_fin_timeout`, which bounds FIN-WAIT-2).
The two profiles hold these numbers:
""")

code("""
rfc, linux = tcpedu.get_profile("rfc"), tcpedu.get_profile("linux")
print("rfc:  ", rfc.msl, "s MSL,", rfc.time_wait, "s TIME-WAIT")
print("linux:", linux.msl, "MSL,", linux.time_wait, "s TIME-WAIT")
""")

md("""
Now let a close run to the end under each profile and see when the client (the active closer)
enters TIME-WAIT and when it leaves it:
""")

code("""
for profile in ("rfc", "linux"):
    done = tcpedu.scenarios.four_way_close(profile=profile, client_isn=1000, server_isn=5000)
    print(f"{profile:5}", [f"{state} at {t:.2f} s" for t, state in done.trace.states("client")[-2:]])
""")

md("""
Under `"rfc"` the client enters TIME-WAIT at 0.25 s and leaves it at 240.25 s; under `"linux"` at
60.25 s. On a ladder such a wait would be thousands of times longer than the exchange itself,
so the ladder cuts idle stretches out and marks the cut with a zig-zag that says how long it was;
the bracket beside the client's timeline is the TIME-WAIT timer. Here is the Linux close:
""")

code("""
done.trace.ladder(title="Linux: the client waits 60 s in TIME-WAIT (the zig-zag cuts the wait)")
""")

md("""
## Reason 1: the last ACK may be lost

The last segment of a close is an ACK, and nothing acknowledges an ACK. If it is lost, the
passive closer, still in LAST-ACK, never learns that its FIN arrived. It does what TCP always
does with unacknowledged data: it retransmits its FIN when its retransmission timer (RTO) runs
out.

### Predict, then reveal

The client's final ACK is lost. What does the server do, what does the client answer — and what
happens to the client's 240-second TIME-WAIT timer? When does the server reach CLOSED?
""")

md("""
<details><summary>Reveal</summary>

* The server stays in **LAST-ACK** and retransmits its FIN when its RTO expires (1 s under
  `"rfc"`).
* The client, still in TIME-WAIT, still knows the connection: it recognises the FIN, acknowledges
  it again and **restarts** its 2MSL timer, as RFC 9293 §3.10.7.4 requires.
* The server reaches **CLOSED** only when this second ACK arrives — not when its first FIN
  was sent, and not when the lost ACK was sent.
</details>
""")

code("""
lost = tcpedu.scenarios.lost_final_ack(profile="rfc", client_isn=1000, server_isn=5000)
lost.trace
""")

md("""
Row 7 is the lost ACK; row 8 is the server's FIN again, one second later (marked as a
retransmission); row 9 is the client's new ACK, and with it the server reaches CLOSED. Step
through it — the state diagram on the right shows the server sitting in LAST-ACK all the while:
""")

code("""
lost.trace.stepper()
""")

md("""
The client's TIME-WAIT timer, from the simulation's events: set when the first FIN arrived, set
again when the retransmitted FIN arrived, and fired 240 s after that.
""")

code("""
[(event.time, event.detail) for event in lost.trace.events if event.name == "time-wait"]
""")

md("""
Under `"linux"` the story is the same with Linux's timers: the server's RTO here is about 0.2 s
(Linux's minimum RTO is 200 ms, where the RFC's is 1 s), and the new TIME-WAIT lasts 60 s.
""")

code("""
print(tcpedu.scenarios.lost_final_ack(profile="linux", client_isn=1000, server_isn=5000).trace)
""")

md("""
The FIN is retransmitted at 0.46 s, 0.22 s after the first one at 0.24 s.

### What if the client had already forgotten?

To see what TIME-WAIT prevents, make a TCP *without* it: the textbook profile with its
TIME-WAIT set to 0 s (`dataclasses.replace` copies a profile with one value changed). This is a
thought experiment, not a real system (its name, in the captions, is still "rfc"). The same lost ACK:
""")

code("""
no_time_wait = dataclasses.replace(tcpedu.get_profile("rfc"), time_wait=0.0)
forgetful = tcpedu.scenarios.lost_final_ack(profile=no_time_wait, client_isn=1000, server_isn=5000)
forgetful.trace.ladder(title="Without TIME-WAIT: the retransmitted FIN meets a connection nobody knows")
""")

md("""
The client deleted the connection as soon as it sent its ACK. When the retransmitted FIN arrives,
it belongs to no connection, and TCP answers a segment for no connection with a **reset**
(RST, 复位; RFC 9293 §3.10.7.1) — here `RST, seq=1002`, taking its seq from the FIN's ack. The server
ends in CLOSED anyway, but through a reset instead of the acknowledgement its close was waiting
for: an orderly close has turned into an error, and the server cannot tell this peer, which
received everything, from one that crashed. TIME-WAIT keeps just enough of the connection to
answer that FIN properly.

## Reason 2: old duplicates and the four numbers of a connection

A connection is identified by four numbers, its **4-tuple** (四元组): client address, client
port, server address, server port. Once a connection is over, a new one between the same two
ports is a new *incarnation* of the same 4-tuple. Segments of the old incarnation may still be in
the network: stuck in a queue, or a copy made when something was retransmitted. If such an old
duplicate arrived in the new incarnation with a sequence number the new connection expects, TCP
would take it for new data.

TIME-WAIT prevents that in two ways:

1. while the active closer is in TIME-WAIT, the 4-tuple is **reserved**: no new connection can
   use it;
2. it lasts 2 × MSL — one MSL for any segment we sent to die out, one for any segment the peer
   sent (including a FIN it retransmits just before our last ACK reaches it) — so by the time the
   4-tuple is free again, no old segment can still be on its way.

Take the half-close of notebook 03: the server sent 100 bytes (segment 6) while the client was
half-closed. The client, the active closer, is now in TIME-WAIT on port 49152:
""")

code("""
old_run = tcpedu.scenarios.half_close(profile="rfc", client_isn=1000, server_isn=5000, until_closed=False)
print(old_run.client.socket)
""")

md("""
The 4-tuple (client:49152, server:80) is taken. A new connection from the same port is refused:
""")

code("""
try:
    old_run.client.connect(local_port=49152)
except OSError as err:
    print(err)
""")

md("""
(A real kernel refuses in the same way, unless a program asks otherwise: `SO_REUSEADDR` and
Linux's `net.ipv4.tcp_tw_reuse` exist because programs that open many short connections to the
same server can run short of free ports while their old ones wait.)

### Predict, then reveal

Now a copy of segment 6 — the server's 100 bytes, seq 5001 to 5100 — that took a long detour
arrives at the client, which is in TIME-WAIT. What does the client do with it?
""")

md("""
<details><summary>Reveal</summary>

The client expects 5102 next (RCV.NXT: the 100 bytes and the FIN are already counted). Bytes
5001–5100 lie entirely before that, so the segment is a duplicate: the client throws it away and
answers with an ACK that says what it really expects, ack = 5102 (RFC 9293 §3.10.7.4). Nothing
reaches an application.

But look at what follows in the trace: that ACK goes to a server that has already forgotten the
connection, so the server answers it with a reset — and RFC 9293 lets a reset end TIME-WAIT.
The client's TIME-WAIT ends almost 240 s early. This hazard has a name, **TIME-WAIT assassination**
(RFC 1337). Linux behaves the same by default (`net.ipv4.tcp_rfc1337 = 0`); setting it to 1
makes TIME-WAIT ignore resets.
</details>
""")

code("""
old = old_run.trace[5]     # segment 6: the 100 bytes the server sent during the half-close
old_run.inject("server", old.flags, old.seq, old.ack, old.payload, sport=old.sport, dport=old.dport,
               note="old duplicate of segment 6")
old_run.wait(0.05)
old_run.trace
""")

md("""
Row 10 is the old duplicate; row 11 the client's ACK (5102); row 12 the server's reset, after
which the client is CLOSED. With or without the reset, the old bytes never reached an
application — TIME-WAIT did its job for this segment.

### Without TIME-WAIT: the old bytes land in a new connection

Now the same with the TCP that has no TIME-WAIT. The client is free to reconnect from port
49152 at once. Real initial sequence numbers follow a clock (RFC 9293 §3.4.1), so a new
connection soon after the old one can start close to the old numbers; we give the server the ISN
5050 this time, just 50 above the old one.

### Predict, then reveal

The new connection expects the server's bytes from 5051 on. The same old copy of segment 6
(bytes 5001–5100) arrives. What does the client's application read?
""")

md("""
<details><summary>Reveal</summary>

Bytes 5051–5100 of the old segment fall inside the new connection's receive window, right where
it expects the next byte. TCP cannot tell them from new data: it accepts those **50 bytes** and
hands them to the application — bytes from the previous connection, with no error anywhere. Then
the two ends disagree: the client acknowledges 5101, which the server never sent; the server
answers with an ACK whose seq, 5051, says it has sent nothing beyond 5050; and each keeps
answering the other's ACK.
</details>
""")

code("""
again = tcpedu.scenarios.half_close(profile=no_time_wait, client_isn=(1000, 3000),
                                    server_isn=(5000, 5050), until_closed=False)
again.client.connect(local_port=49152)     # the same 4-tuple: nothing holds it now
again.wait(0.05)
""")

code("""
old = again.trace[5]
again.inject("server", old.flags, old.seq, old.ack, old.payload, sport=old.sport, dport=old.dport,
             note="old duplicate of segment 6")
again.wait(0.025)
again.client.recv()
""")

code("""
again.trace
""")

md("""
Rows 10–12 are the new handshake (client ISN 3000, server ISN 5050); row 13 is the old duplicate,
and the application has read 50 `d` bytes from it. Rows 14 and 15 start the exchange of ACKs
between two ends that no longer agree (Linux limits such answers to about two per second,
`net.ipv4.tcp_invalid_ratelimit` = 500 ms; the RFC profile here does not). With TIME-WAIT, the
`connect()` above would have been refused for 240 s, and the old segment would have met a
TIME-WAIT that threw it away.

Linux's 60 s is shorter than 2 × MSL. It leans on other defences too — TCP timestamps let it
reject old segments by their age (PAWS, RFC 7323) — which this model does not simulate.

## The whole story on the state diagram

The lost-ACK run, each side's path lit, on the diagram with every arrow of the table (notebook
05). The client's loop *rcv FIN / snd ACK* under TIME-WAIT is an arrow RFC 9293's Figure 5 does
not draw, although the RFC's text requires it.
""")

code("""
tcpedu.draw_state_graph(paths="all", trace=lost.trace)
""")

md("""
## Practice

A Linux close with new numbers, where the last ACK is lost. Fill in the blanks and run the check.
Segment 7 is the lost one: for a lost segment, "the server's state after it" is the state the
server stays in, since nothing reached it.
""")

code("""
drill = tcpedu.scenarios.lost_final_ack(profile="linux", client_isn=7000, server_isn=30000)
blanks = [("server_state", 7), ("flags", 8), ("client_state", 8), ("ack", 9), ("server_state", 9)]
p = tcpedu.exercises.practice(drill, blanks, intro="Client ISN 7000, server ISN 30000, profile 'linux'.")
p
""")

code("""
server_state_7 = None   # your answer: a state in quotes, like "LISTEN"
flags_8 = None          # your answer: flags in quotes, like "SYN,ACK"
client_state_8 = None   # your answer: a state in quotes
ack_9 = None            # your answer: a number
server_state_9 = None   # your answer: a state in quotes
""")

code("""
p.check(server_state_7=server_state_7, flags_8=flags_8, client_state_8=client_state_8, ack_9=ack_9,
        server_state_9=server_state_9)
""")

md("""
One more, about states and timers: this time the *server* closes first, the client's
application closes 0.2 s later, and the last ACK is lost once. The exercise shows the trace with
blanks and asks five questions, among them which side ends in TIME-WAIT and when it leaves it.
""")

code("""
params = {"profile": "linux", "client_isn": 7000, "server_isn": 30000, "closer": "server", "pause": 0.2,
          "lose_final_ack": True, "numbers": "absolute"}
timers = tcpedu.exercises.load("states_and_timers", params)
timers
""")

code("""
client_state_4 = None   # your answer: a state in quotes
server_state_4 = None   # your answer: a state in quotes
close_segments = None   # your answer: a number of segments
time_wait_host = None   # your answer: "client" or "server"
time_wait_ends = None   # your answer: a time in seconds
""")

code("""
timers.check(client_state_4=client_state_4, server_state_4=server_state_4, close_segments=close_segments,
             time_wait_host=time_wait_host, time_wait_ends=time_wait_ends)
""")

md("""
## In one paragraph

The side that closes first — client or server — ends in TIME-WAIT and keeps the connection for
2 × MSL (240 s in RFC 9293, a fixed 60 s on Linux), while the other side reaches CLOSED when the
last ACK arrives. The wait has two jobs, both visible above: if the last ACK is lost, the
retransmitted FIN still finds the connection, is acknowledged again and restarts the timer,
instead of meeting a reset; and while it lasts the 4-tuple cannot be reused, so old duplicate
segments die out instead of landing, as if they were new data, in the next connection between
the same ports.
""")

write("04_time_wait_and_2msl")
