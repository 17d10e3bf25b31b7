"""Build notebooks/10_misconceptions.ipynb (run from anywhere; then execute it in place with nbconvert)."""

from nbbuild import code, md, write


def item(title: str, claim: str, question: str, answer: str) -> None:
    """One misconception: the claim, a question to predict, and the answer behind Reveal."""
    md(f"""
## {title}

**The claim** (a popular article): {claim.strip()}

**Predict.** {question.strip()}

<details><summary>Reveal</summary>

{answer.strip()}
</details>
""")


md("""
# 10 — Misconceptions: spot the error (误区)

Most learners meet the three-way handshake (三次握手) and the four-way close (四次挥手) in
popular articles, and many of those articles copy each other, mistakes included. This notebook
collects the mistakes found in a few widely read ones and settles each with a simulation
instead of an argument.

**What you will learn**

* to find exactly what is wrong in fourteen common statements about opening and closing a TCP
  connection: states, timers, flags and numbers;
* to test such a statement yourself, with a few lines of simulation;
* which answers depend on the system: the textbook (`"rfc"`, RFC 9293, the exam answer) and
  Linux (`"linux"`, what a capture shows).

**How to use it.** Each item gives a claim, paraphrased from a popular article, and a question.
Decide on your answer first, even if only roughly; then open *Reveal* and run the cell under it,
which shows the answer by simulation. Most claims are *partly* right: the exercise is to say
exactly which part is wrong. The item ends with the correct statement.

All simulations use the initial sequence numbers 1000 (client) and 5000 (server) and a one-way
delay of 10 ms, so the numbers are easy to follow.
""")

code("""
import tcpedu
from tcpedu import exercises, scenarios
from tcpedu.script import run_simulated
""")

# --------------------------------------------------------------------------------------- 1
item(
    "1. \"After the fourth segment, the connection is CLOSED\"",
    """In the fourth step of the close, the last ACK is sent and the connection is CLOSED. One
version has the client enter CLOSED as soon as it has sent that ACK; another writes "the server
enters CLOSED" in the same sentence as the sending of the ACK, as if both happened at once.""",
    "Who sends the last ACK, and when does each side reach CLOSED?",
    """The **client**, the side that closed first (the active closer, 主动关闭方), sends the last
ACK, and it enters **TIME-WAIT** (时间等待), not CLOSED. The server (the passive closer,
被动关闭方) goes from LAST-ACK to CLOSED when that ACK *arrives*: in the ladder below the ACK
leaves at 0.250 s and the server is CLOSED at 0.260 s. The client reaches CLOSED only when
TIME-WAIT is over, at 240.250 s.""",
)

code("""
sim = scenarios.four_way_close(profile="rfc", client_isn=1000, server_isn=5000)
sim.trace.ladder(title="rfc: who enters CLOSED, and when")
""")

md("""
**Correct statement.** The active closer sends the last ACK and then waits in TIME-WAIT for
2MSL; the passive closer leaves LAST-ACK for CLOSED when that ACK arrives. The two sides are
never CLOSED at the same moment.
""")

# --------------------------------------------------------------------------------------- 2
item(
    "2. \"2MSL is 2 minutes by default\"",
    """The active closer stays in TIME-WAIT for 2MSL, which is "2 minutes by default".""",
    "Under the textbook rules, is the client still in TIME-WAIT two minutes after the close?",
    """Yes. RFC 9293 sets the **MSL** (maximum segment lifetime, 最大报文段寿命) to 2 minutes, so
2MSL is 4 minutes, 240 s. "2 minutes" is the MSL, not 2MSL. The cell lets the simulated clock
run: 120 s after the close the client is still in TIME-WAIT, 241 s after it the connection is
gone.""",
)

code("""
sim = scenarios.four_way_close(profile="rfc", client_isn=1000, server_isn=5000, until_closed=False)
sim.wait(120)
print("120 s later:", sim.client.state)
sim.wait(121)
print("241 s later:", sim.client.state)
""")

md("""
**Correct statement.** In RFC 9293, MSL = 2 minutes and TIME-WAIT lasts 2MSL = 4 minutes
(240 s). Real systems choose their own length, as the next item shows.
""")

# --------------------------------------------------------------------------------------- 3
item(
    "3. \"On Linux, TIME-WAIT lasts 2 × 2 minutes\"",
    """A busy Linux server keeps every connection it closed first in TIME-WAIT for 2MSL, that is
2 × 2 minutes.""",
    "How long does a Linux kernel keep a connection in TIME-WAIT?",
    """**60 seconds.** Linux does not compute it from an MSL: the length is a constant of the
kernel (`TCP_TIMEWAIT_LEN`). The ladder shows the bracket "TIME-WAIT 60 s" and CLOSED at 60.250 s.
(It also shows Linux's short delayed ACK (延迟确认) of the FIN: 2 ms on a connection that has
carried no data.) A related mix-up: the setting `net.ipv4.tcp_fin_timeout` does *not* change
TIME-WAIT; it limits how long a closed socket may wait in FIN-WAIT-2 for the peer's FIN.""",
)

code("""
sim = scenarios.four_way_close(profile="linux", client_isn=1000, server_isn=5000)
sim.trace.ladder(title="linux: the same close")
""")

md("""
**Correct statement.** TIME-WAIT lasts 2MSL = 240 s in the textbook (`"rfc"`) and 60 s on
Linux (`"linux"`), a fixed value rather than twice an MSL. An exam asking about "2MSL" wants the
textbook answer; a Linux machine you measure gives 60 s.
""")

# --------------------------------------------------------------------------------------- 4
item(
    "4. \"Only the side that closes first has a TIME-WAIT state\"",
    """Only the active closer goes through TIME-WAIT; the other side never does.""",
    """Both applications call `close()` at the same moment, so the two FINs cross in the network
(a simultaneous close, 同时关闭). Which sides end up in TIME-WAIT?""",
    """**Both.** Each FIN reaches a side that has sent its own FIN and is waiting for its ACK
(FIN-WAIT-1). That side acknowledges the FIN and moves to **CLOSING**; when the ACK of its own
FIN arrives, it moves to TIME-WAIT. In the state diagram below, both paths run FIN-WAIT-1 →
CLOSING → TIME-WAIT → CLOSED.""",
)

code("""
sim = scenarios.simultaneous_close(profile="rfc", client_isn=1000, server_isn=5000)
tcpedu.draw_state_graph(trace=sim.trace)
""")

md("""
**Correct statement.** A side enters TIME-WAIT when it sent its FIN *before* it received the
peer's FIN. Usually that is only the active closer; in a simultaneous close it is both sides.
""")

# --------------------------------------------------------------------------------------- 5
item(
    "5. \"TIME-WAIT is there to resend the last ACK\"",
    """The active closer waits in TIME-WAIT so that it can resend the final ACK if that ACK is
lost.""",
    "The final ACK is lost. Does the client notice and send it again by itself? What happens?",
    """No: nothing acknowledges an ACK, so the client cannot know it was lost. The **server**
notices, because its FIN was never acknowledged: after its retransmission timeout (1 s here) it
sends the FIN again (重传). The client, still in TIME-WAIT, answers that FIN with a new ACK and
starts its 2MSL timer again: it reaches CLOSED at 241.250 s, 240 s after the second ACK. Had the
client already forgotten the connection, the repeated FIN would have been answered with a RST.""",
)

code("""
sim = scenarios.lost_final_ack(profile="rfc", client_isn=1000, server_isn=5000)
sim.trace.ladder(title="the last ACK is lost")
""")

md("""
**Correct statement.** TIME-WAIT does not resend anything on its own. It keeps the connection
alive long enough (1) to acknowledge the peer's FIN *again* if that FIN is retransmitted, and
(2) to let any old segment of this connection still in the network expire (2MSL) before the
same pair of addresses and ports can start a new connection.
""")

# --------------------------------------------------------------------------------------- 6
item(
    "6. \"SYN = j, ACK = j + 1\"",
    """The client's first segment carries SYN = j; the server's reply carries ACK = j + 1 and
its own SYN = k.""",
    "In the server's reply, what are the ACK flag and the acknowledgement number?",
    """SYN and ACK, in capitals, are one-bit **flags** (标志位): set (1) or not (0). The numbers
travel in two other header fields: the **sequence number** `seq` (序列号) and the
**acknowledgement number** `ack` (确认号). The client's first segment has SYN = 1 and seq = j;
the reply has SYN = 1, ACK = 1, seq = k and ack = j + 1. Here j = 1000 and k = 5000.""",
)

code("""
sim = scenarios.handshake(profile="rfc", client_isn=1000, server_isn=5000)
synack = sim.trace[1]
print("flags:", synack.flags, "| seq:", synack.seq, "| ack:", synack.ack)
""")

md("""
**Correct statement.** The second segment of the handshake is SYN = 1, ACK = 1, seq = y,
ack = x + 1. Capitals are flags (0 or 1); lower case are numbers.
""")

# --------------------------------------------------------------------------------------- 7
item(
    "7. \"The ack number is seq + bytes + 1\"",
    """To acknowledge a segment, add its length to its sequence number, plus one.""",
    """The client sends 100 bytes with seq = 1001. Which ack number does the server send back?
And which seq does the client's data carry, coming right after its pure ACK (an ACK with no
data) of seq = 1001?""",
    """ack = **1101**: the bytes numbered 1001 to 1100 arrived, and 1101 is the next one expected
(row 5 of the table). The +1 belongs only to SYN and FIN, which each take one sequence number
of their own. A pure ACK takes none, so the data after the client's ACK (row 3, seq 1001)
starts at the same 1001 (row 4).""",
)

code("""
scenarios.data_transfer(profile="rfc", client_isn=1000, server_isn=5000, request=100, response=300).trace
""")

md("""
**Correct statement.** ack = seq + length for data, seq + 1 for a SYN or a FIN; a segment that
carries neither data, SYN nor FIN takes no sequence number.
""")

# --------------------------------------------------------------------------------------- 8
item(
    "8. \"Both sides enter ESTABLISHED when the third segment is sent\"",
    """Once the client has sent the third segment of the handshake, the client and the server
are both ESTABLISHED.""",
    "The third segment (the client's ACK) is lost. What are the two sides' states half a second later?",
    """The client is **ESTABLISHED**, the server still **SYN-RECEIVED**. The client becomes
ESTABLISHED when the SYN,ACK arrives, and sends the ACK; the server only when that ACK arrives.
When it is lost, the server sends its SYN,ACK again after its timeout (1 s): row 4 of the table
below, and the client's new ACK completes the handshake.""",
)

code("""
sim = tcpedu.Simulation(profile="rfc", latency=0.01, client_isn=1000, server_isn=5000)
sim.server.listen()
sim.drop_next("client", tcpedu.Flags.ACK)     # the client's next ACK, the third segment, is lost
sim.client.connect()
sim.wait(0.5)
""")

code("""
print("client:", sim.client.state, "| server:", sim.server.state)
""")

code("""
sim.wait(1)
sim.trace
""")

md("""
**Correct statement.** Each side enters ESTABLISHED on its own: the client when the SYN,ACK
arrives, the server when the client's ACK arrives, at least one trip later, and only if that
ACK gets through.
""")

# --------------------------------------------------------------------------------------- 9
item(
    "9. The order of the states after the first FIN",
    """A step-by-step list of the close: the client sends FIN and enters FIN-WAIT-1; next, the
server reads the end of the stream, sends its FIN and enters LAST-ACK; then the client receives
the ACK and enters FIN-WAIT-2; ...""",
    "Put each side's states in order, from the first FIN to the end.",
    """**Client:** FIN-WAIT-1 → FIN-WAIT-2 (when the ACK of its FIN arrives) → TIME-WAIT (when
the server's FIN arrives) → CLOSED (after 2MSL). **Server:** CLOSE-WAIT (as soon as the client's
FIN arrives) → LAST-ACK (when its own application closes) → CLOSED (when the last ACK arrives).
The server cannot skip CLOSE-WAIT: it is in CLOSE-WAIT from the moment the FIN arrives until its
application closes. Step through the close below and watch both sides move in the state diagram.""",
)

code("""
sim = scenarios.four_way_close(profile="rfc", client_isn=1000, server_isn=5000)
sim.trace.stepper()
""")

md("""
On Linux the order can even skip a state. When the server closes at once, its FIN carries the
delayed ACK, and the client goes from FIN-WAIT-1 straight to TIME-WAIT, never through
FIN-WAIT-2. These are the client's states in such a close:
""")

code("""
three = scenarios.three_way_close(profile="linux", client_isn=1000, server_isn=5000)
print(*(state for _, state in three.trace.states("client")))
""")

md("""
**Correct statement.** Closer: FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED (FIN-WAIT-2 is
skipped when the ACK arrives with the peer's FIN). Peer: CLOSE-WAIT → LAST-ACK → CLOSED.
""")

# --------------------------------------------------------------------------------------- 10
item(
    "10. \"After its FIN, a side can still send\"",
    """After the second segment of the close, the client can keep sending data to the server
until the server's FIN arrives; likewise the server can still send after its own FIN, until the
last ACK arrives.""",
    """The client calls `shutdown(SHUT_WR)`, so its FIN goes out. Then it tries to send 5 bytes,
and the server sends 5 bytes to the client. What happens to each call?""",
    """The client's `send` fails with **BrokenPipeError**, as a real socket's would: a FIN means
"I will send nothing more". The server has not sent a FIN, so it can still send, and the client
still receives the 5 bytes. That is the **half-close** (半关闭): the direction still open is the
one *towards* the side that sent the FIN.""",
)

code("""
steps = [("server", "listen"), ("client", "connect"), ("client", "shutdown", "SHUT_WR"),
         ("client", "send", 5), ("server", "send", 5), ("client", "recv")]
sim, outcome = run_simulated(steps, profile="rfc", latency=0.01, settle=0.05)
for step, result in zip(steps, outcome.results, strict=True):
    print(step, "→", result)
""")

md("""
**Correct statement.** After a side sends its FIN (by `shutdown(SHUT_WR)` or `close()`) it sends
no more data; it can still receive, unless its application has closed the socket altogether.
""")

# --------------------------------------------------------------------------------------- 11
item(
    "11. \"A close always takes four segments\"",
    """The ACK and the FIN of the passive side are nearly always sent separately, so closing a
connection always takes four segments: that is why it is called the four-way close.""",
    """The server's application closes as soon as it reads the end of the stream. How many
segments does the close take under each profile?""",
    """Textbook (`"rfc"`): **four**, FIN; ACK; FIN; ACK. Linux: **three**, FIN; FIN+ACK; ACK.
Linux delays the ACK of a FIN, and the server's FIN leaves before the delay is over, carrying the
ACK with it. Captures of real closes very often show three segments. And a close can be a single
segment, a RST (next item).""",
)

code("""
for profile in ("rfc", "linux"):
    close = scenarios.three_way_close(profile=profile, client_isn=1000, server_isn=5000).trace[3:]
    print(f"{profile:5}:", len(close), "segments:", " | ".join(str(s.flags) for s in close))
""")

md("""
**Correct statement.** Four segments in the textbook; three whenever the passive side closes
within its delayed-ACK time (common on Linux); one RST for an abortive close.
""")

# --------------------------------------------------------------------------------------- 12
item(
    "12. \"close() always sends a FIN\"",
    """When a process closes its socket, or exits, even by crashing, the kernel always sends a
FIN and the four-way close follows.""",
    """The server closes its socket while 10 bytes it has received are still unread. What does it
send?""",
    """A **RST** (复位), on both profiles: RFC 9293 (§3.6) asks for it, to show that data was
lost. The textbook sends a plain RST, Linux a RST with the ACK flag. No FIN, no TIME-WAIT: both
sides are CLOSED at once. `close()` with the socket option SO_LINGER set to {on, 0 seconds} sends
a RST too. A process that exits or crashes has its sockets closed by the kernel in the same way:
FIN, or RST when data is unread. But when a whole machine loses power or its network, nothing
is sent at all; the peer finds out only when it sends something, or through keepalive (next
item).""",
)

code("""
for profile in ("rfc", "linux"):
    sim = scenarios.rst_unread_data(profile=profile, client_isn=1000, server_isn=5000, data=10)
    print(f"{profile:5}:", sim.trace.lines()[-1])
""")

md("""
**Correct statement.** `close()` sends a FIN normally, but a RST when received data is still
unread or SO_LINGER is {on, 0}; an exiting process's sockets are closed the same way; a host
that dies sends nothing.
""")

# --------------------------------------------------------------------------------------- 13
item(
    "13. \"Keepalive probes every 75 minutes\"",
    """After two hours without data, the server sends a probe, and then another every 75
minutes; after 10 probes without an answer it closes the connection.""",
    """A client has keepalive (保活) switched on with the usual values, and the server crashes
silently. When are the probes sent, and when does a Linux client give up?""",
    """The first probe comes after **7200 s** (two hours) of silence, then one every **75
seconds**, not minutes: 7200.03, 7275.03, ... up to 7800.03 s, nine probes. At 7875.03 s the
client gives up and, on Linux, sends a RST (which the dead server never receives). Linux's
default is 9 probes; the RFCs set no number. Keepalive is off unless the application switches it
on (the socket option SO_KEEPALIVE); the three values can be changed per socket.""",
)

code("""
scenarios.keepalive_dead_peer(profile="linux", client_isn=1000, server_isn=5000,
                              idle=7200, interval=75, probes=9).trace
""")

md("""
**Correct statement.** Keepalive, when switched on, waits 2 hours idle (RFC 9293 §3.8.4: no
less than two hours by default), then probes every 75 s; Linux sends 9 probes before it gives
up, so a dead peer is found after 7875 s, a little over two hours.
""")

# --------------------------------------------------------------------------------------- 14
item(
    "14. \"The client enters SYN_SEND\"",
    """After sending its SYN the client enters the state SYN_SEND; at the end of the close the
client enters TIME-TIME-WAIT.""",
    "How many states does TCP have, and what are they called?",
    """**Eleven**, listed below with RFC 9293's names. There is no SYN_SEND (it is **SYN-SENT**)
and no TIME-TIME-WAIT: both are slips that spread by copying. Tools spell the same states their
own way: `netstat` writes SYN_SENT, SYN_RECV, FIN_WAIT1, TIME_WAIT; `ss` writes SYN-SENT,
SYN-RECV, ESTAB, TIME-WAIT. SYN_RECV is Linux's short name for SYN-RECEIVED.""",
)

code("""
print(len(tcpedu.State), "states:", *tcpedu.State, sep="  ")
""")

md("""
**Correct statement.** CLOSED, LISTEN, SYN-SENT, SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1,
FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT. In an exam, use the RFC's names.

## Self-test

A half-close under the textbook profile: the client calls `shutdown(SHUT_WR)`, the server still
sends 100 bytes, then closes. Each blank (**?**) touches one of the items above.
""")

code("""
sim = scenarios.half_close(profile="rfc", client_isn=1000, server_isn=5000, data=100)
p = exercises.practice(sim, [("ack", 5), ("flags", 8), ("seq", 8), ("ack", 9), ("client_state", 9),
                             ("server_state", 9)], intro="A half-close with 100 bytes after the first FIN.")
p
""")

md("""
Write your answers in the next cell: numbers as numbers, flags and states as text in quotes
(`"FIN,ACK"`, `"ESTABLISHED"`). Then run the check cell; a wrong number gets the name of the
likely mistake. `p.hint("seq_8")` gives a hint.
""")

code("""
ack_5 = None            # your answer
flags_8 = None          # flags in quotes, e.g. "SYN"
seq_8 = None
ack_9 = None
client_state_9 = None
server_state_9 = None
""")

code("""
p.check(ack_5=ack_5, flags_8=flags_8, seq_8=seq_8, ack_9=ack_9,
        client_state_9=client_state_9, server_state_9=server_state_9)
""")

md("""
## In one paragraph

Popular explanations go wrong in the details that simulation makes visible: the active closer
sends the last ACK and waits in TIME-WAIT (2MSL = 240 s in the textbook, 60 s on Linux, and in a
simultaneous close both sides wait), while the passive closer is CLOSED when that ACK arrives;
TIME-WAIT resends nothing by itself but re-acknowledges a retransmitted FIN and lets old segments
die out; SYN and ACK are flags, and only SYN and FIN take a sequence number; each side becomes
ESTABLISHED when its own last segment arrives; a FIN ends sending but not receiving; a close is
four segments in the textbook, often three on Linux, and a single RST when data is left unread;
keepalive probes come 75 seconds apart after two hours of silence.
""")

write("10_misconceptions")
