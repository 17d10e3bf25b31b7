"""Build notebooks/09_real_traces.ipynb (run from anywhere; then execute it in place with nbconvert)."""

from nbbuild import code, md, write

md("""
# 09 — Real traces: captures and this machine's kernel (抓包与内核)

Everything so far came out of the simulator. This notebook checks it against the real thing:
captures (抓包) recorded on a Linux kernel, and the kernel of the machine running this notebook.

**What you will learn**

* to open a capture file (a *pcap*, written by tcpdump or Wireshark), list its connections and
  read one as a table and a ladder (时序图);
* where the states on a capture come from — a capture holds segments, not states — and what the
  notes mean where a capture departs from the textbook;
* to compare a capture with the model segment by segment, and to write a simulated run as a pcap
  that Wireshark opens;
* to run a few socket calls on this machine's own kernel (内核) next to the engine;
* to make and read a capture of your own.
""")

code("""
import tcpedu
from tcpedu import exercises, live
from tcpedu.script import run_simulated
""")

md("""
## The captures in `data/`

The files in `data/` were recorded on the **loopback interface** (回环接口, 127.0.0.1) of a
machine running Linux 6.18, while a short script made socket calls: listen, connect, send a few
bytes, close. `data/README.md` lists the calls behind each file.

| file | what happens in it |
|---|---|
| `four_way_close.pcap` | a little data each way; the client closes; the server waits, then closes |
| `three_way_close.pcap` | the same, but the server closes as soon as it reads the end of the stream |
| `half_close_server_data.pcap` | the client half-closes (半关闭); the server sends 100 bytes, then closes |
| `rst_unread_data.pcap` | the client sends 10 bytes; the server closes without reading them |
| `backlog_overflow.pcap` | a server that never calls `accept()`; four clients try to connect |

A file can hold many connections. `tcpedu.list_connections` says what is inside, one line per
connection, numbered from 0 in the order they first appear:
""")

code("""
print(*tcpedu.list_connections("data/backlog_overflow.pcap"), sep="\\n")
""")

md("""
Four clients, one server port. Connections #0 and #1 show a complete handshake; #2 and #3 have
four packets each and *no* handshake: we come back to them below. The "client" of a connection
is whichever host sent the first SYN.

## A capture as a table

`tcpedu.read_pcap(path, connection=0)` reads one connection into the same kind of trace the
simulator makes. Real initial sequence numbers (ISN, 初始序列号) are random 32-bit numbers:
""")

code("""
cap = tcpedu.read_pcap("data/four_way_close.pcap")
print(cap.isn)
""")

md("""
Numbers that large are hard to read, so Wireshark shows **relative** sequence numbers (相对序号)
by default: each side counts from its own ISN, so its SYN is 0 and its first byte of data is 1.
`cap.relative()` does the same:
""")

code("""
cap.relative()
""")

md("""
**Where do the states come from?** Not from the file: a capture only holds segments. tcpedu
*infers* them (状态推断). It replays the capture through two copies of its engine, one per side:
before each segment it tells the sender's engine what its application must have done to send it
(connect, send, close), then delivers the segment to the receiver's engine. The states in the
table are the engine's states along the way, written as RFC 9293's figures write them: the
sender's state after sending, the receiver's after receiving. By default the engine runs the
`"linux"` profile, since these captures come from Linux.

The same capture as a ladder. The idle gaps are cut out and labelled, or the handshake and the
close would be a few pixels apart:
""")

code("""
cap.ladder(numbers="relative", title="four_way_close.pcap, recorded on Linux 6.18")
""")

md("""
**Predict.** The server's ACK of the client's FIN (segment 9) did not leave at once, although
loopback delivers in microseconds. How long did the server wait, and why?

<details><summary>Reveal</summary>

About 40 ms: the cell below measures 42.6 ms between the FIN and its ACK. That is Linux's
**delayed ACK** (延迟确认): when a FIN arrives, Linux holds the ACK back (at least 40 ms once
data has been received), hoping to send it together with data or with its own FIN. Here the
server's application waited longer than that before it closed, so the timer ran out, the ACK
went alone, and the close took the textbook's four segments.
</details>
""")

code("""
print(f"{(cap[8].time - cap[7].time) * 1000:.1f} ms between the FIN and its ACK")
""")

md("""
Step through the capture one segment at a time. The state diagram beside the ladder lights
each side's state as it changes (Play, the arrows, or the slider):
""")

code("""
cap.stepper(numbers="relative")
""")

md("""
And the whole path each side took through the state diagram (RFC 9293 Figure 5): the client
through FIN-WAIT-1, FIN-WAIT-2 and TIME-WAIT, the server through CLOSE-WAIT and LAST-ACK.
""")

code("""
tcpedu.draw_state_graph(trace=cap)
""")

md("""
## Reading a capture against the textbook: `profile="rfc"`

`read_pcap` can replay a capture under the `"rfc"` profile instead, the textbook model in which
every ACK leaves at once. Wherever the capture does something that model would not, the
segment's **note** says so and why it can happen. Here is the three-segment close:
""")

code("""
three = tcpedu.read_pcap("data/three_way_close.pcap", profile="rfc")
three.relative()
""")

md("""
Segment 9 is the server's FIN, and its ack number (7) also acknowledges the client's FIN
(seq 6). The textbook server would have sent a separate ACK first, so the note flags it: the
delayed ACK rode on the FIN, a **three-way close**. Nothing is wrong with the capture; the
note marks where the textbook stops describing Linux.

**Predict.** Read the same file with the default profile, `"linux"`. Is the note still there?

<details><summary>Reveal</summary>

No. Under `"linux"` a FIN that carries the delayed ACK is exactly what the model expects, so
there is nothing to explain.
</details>
""")

code("""
tcpedu.read_pcap("data/three_way_close.pcap")[8].note or "(no note)"
""")

md("""
## Half-close in a real capture, in the textbook's letters

Textbooks write the close with letters: the first FIN has seq = *u*, the peer's ACK has
seq = *v*, and the peer's own FIN has seq = *w*. `symbolic=True` writes a capture that way:
""")

code("""
half = tcpedu.read_pcap("data/half_close_server_data.pcap")
half.ladder(symbolic=True, title="half_close_server_data.pcap")
""")

md("""
Once its FIN (segment 8) has been acknowledged, the client is in FIN-WAIT-2, and it still
*receives*: the server sends 100 bytes (segment 10) and the client acknowledges them. Only then
does the server send its FIN.

**Predict.** In relative numbers the server's ACK of the FIN has seq *v* = 8. What is *w*, the
seq of the server's FIN?

<details><summary>Reveal</summary>

*w* = 108, not *v* + 1 = 9: the 100 bytes sent during the half-close took the numbers 8 to 107,
and the FIN takes the next one. *w* = *v* + 1 only when nothing is sent between the ACK and the
FIN.
</details>
""")

code("""
half.relative()[11].seq
""")

md("""
## RST instead of FIN

In this capture the server's application closed its socket while 10 received bytes were still
unread. Look at the last segment and its note:
""")

code("""
tcpedu.read_pcap("data/rst_unread_data.pcap").relative()
""")

md("""
No FIN, no four-way close and no TIME-WAIT: a **RST** (复位), and both sides go straight to
CLOSED. RFC 9293 §3.6 says that a TCP closed with received data still unread should send a RST,
to show that data was lost; the client's next `recv()` fails with "connection reset by peer".
Linux sends RST with the ACK flag set (`R.` in tcpdump). The same note appears after an
*abortive* close, `close()` with the socket option SO_LINGER set to {on, 0 seconds}.

## A SYN that nobody answers

Back to connections #2 and #3 of `backlog_overflow.pcap`. The server called `listen(1)` and
never accepted anything. Linux then keeps backlog + 1 = 2 finished connections in its **accept
queue** (全连接队列): #0 and #1. When it is full, new SYNs are dropped without a word, not
refused with a RST:
""")

code("""
syn = tcpedu.read_pcap("data/backlog_overflow.pcap", connection=2)
syn.relative()
""")

md("""
The client sends its SYN again and again: these are retransmissions (重传) of the same SYN,
with the same seq. The server's state column says LISTEN in every row: the inference saw no
SYN,ACK, so as far as the segments show, the server never began this connection, and that is
right: the real server dropped the SYNs and created nothing. An inferred state is the model's
reading of the segments, and a SYN dropped on arrival leaves no reply to read, so the capture
alone cannot tell a full accept queue from a lost SYN (the note on each row says both); here
the script (`listen(1)`, no `accept()`) says it was the queue.

**Predict.** Under the textbook rule (RFC 6298) the retransmission timeout starts at 1 s and
doubles after each try. When did this Linux client send its SYNs, and when would the textbook
client have sent them?

<details><summary>Reveal</summary>

The Linux client sent them about one second apart: 0, 1.02, 2.04 and 3.07 s (the capture
stopped soon after). The textbook client, simulated below with its first three SYNs lost, sends
them at 0, 1, 3 and 7 s. Since kernel 6.5, Linux keeps its first four SYN timeouts at 1 s
(`tcp_syn_linear_timeouts`) and only then starts doubling.
</details>
""")

code("""
textbook = tcpedu.scenarios.lost_syn(profile="rfc", lost=3, client_isn=1000, server_isn=5000)
print("capture (linux):", [round(s.time, 2) for s in syn])
print("textbook (rfc): ", [s.time for s in textbook.trace if s.flags == tcpedu.Flags.SYN])
""")

md("""
## The capture versus the model

If the engine's `"linux"` profile is right, playing the same socket calls on it should give the
same segments. `run_simulated` plays a list of steps on a simulation: loopback has no delay, so
`latency` is 0, and the steps are spaced 0.01 s apart (`settle`) as they were when the capture
was recorded. These are the calls behind `four_way_close.pcap`; the ISNs are fixed so the
numbers stay the same each run:
""")

code("""
steps = [("server", "listen"), ("client", "connect"), ("client", "send", 5), ("server", "recv"),
         ("server", "send", 7), ("client", "recv"), ("sleep", 0.1), ("client", "close"),
         ("server", "recv"), ("sleep", 0.3), ("server", "close"), ("sleep", 0.05)]
sim, outcome = run_simulated(steps, settle=0.01, client_isn=1000, server_isn=5000)
print(cap.compare(sim.trace))
""")

md("""
`compare` checks each segment's sender, flags, relative seq and ack, length and order (not its
time: the kernel's clock and the engine's differ by microseconds). They agree.

**Predict.** Now compare the *three*-segment capture with the **textbook** model: the same calls
on the `"rfc"` profile. Where will they disagree?

<details><summary>Reveal</summary>

At the close: the textbook server acknowledges the FIN at once, so its run has an extra plain
ACK (segment 9) and 11 segments instead of 10. And a detail textbooks leave out: Linux sets the
PSH flag on the last segment of each write (`P.`), the `"rfc"` profile does not.
</details>
""")

code("""
three_steps = steps[:9] + [("server", "close"), ("sleep", 0.05)]
rfc_sim, _ = run_simulated(three_steps, profile="rfc", settle=0.01)
print(three.compare(rfc_sim.trace))
""")

md("""
## A simulated run as a pcap, for Wireshark

Any trace can be written as a capture file: `to_pcap` gives each segment Ethernet, IPv4 and TCP
headers with correct checksums. The hosts get documentation addresses (client 192.0.2.1, server
192.0.2.2) and the times start at 0, which Wireshark shows as 1 January 1970.
""")

code("""
import tempfile

folder = tempfile.TemporaryDirectory()     # a new, empty folder, removed when the kernel stops
path = sim.trace.to_pcap(f"{folder.name}/simulated_four_way_close.pcap")
print(*tcpedu.list_connections(path))
""")

md("""
The file went into a temporary folder (the variable `path` holds the file's full path), so running this
notebook leaves the course's folder as it was. To open it in Wireshark, write a copy next to
this notebook, `sim.trace.to_pcap("simulated_four_way_close.pcap")`, download that (right-click
it in the file browser on the left) and open it: *Statistics → Flow Graph* draws Wireshark's own
ladder of it. On a machine with tcpdump, `tcpdump -nr simulated_four_way_close.pcap` in the
notebook's folder prints it line by line (Binder has no tcpdump). Reading the file back gives the
simulated trace again:
""")

code("""
print(tcpedu.read_pcap(path).compare(sim.trace))
""")

md("""
## The live lab: this machine's kernel

`live.lab(steps)` plays a script twice: on the engine (`"linux"` profile), and on **real
sockets** of the computer running this notebook, connected over its loopback interface, with
port numbers the operating system picks. Here is a short one: handshake, 5 bytes of data, and a
close.
""")

code("""
lab_steps = [("server", "listen"), ("client", "connect"), ("client", "send", 5), ("server", "recv"),
             ("client", "close"), ("server", "recv"), ("server", "close")]
""")

md("""
The table has one row per call. For each it shows what the call returned, on the engine and on
the real socket (`ok`, a number of bytes, `EOF` for the end of the stream, or the name of an
exception), then both sides' states, read about 49 ms after the call, 1 ms before the next one
(the lab's default `settle=0.05`). On loopback Linux delays an ACK by 40 ms (row 5: the server's
ACK of the client's FIN); on a kernel with 250 or more clock ticks a second it has gone out before
the read, with 100 ticks a second row 5 shows "≈ timer race". (tcpedu reads the tick rate from the
kernel's configuration; where it cannot, it assumes 100, the coarsest, and row 5 then shows the
race on any kernel.) Each connection's state is asked
of the kernel by its addresses and ports through sock_diag, the interface the `ss` command uses
(or read from `/proc/net/tcp` where sock_diag does not answer); the server's LISTEN before its
first connection, and CLOSED for a side not yet connected, are filled in by tcpedu, and a
connection the kernel no longer holds reads as CLOSED. The engine
makes each call at the moment the real call started (when the segments are captured: at the
moment the call's segment left) and reads its states when the kernel's were read, so a call that
a busy machine made late is late in both. The last column compares them:

* "✓ same";
* "≈ timer race": the call was made, or the states read, so close to a timer going off that
  either answer can come out, and the kernel gave one of them. A kernel timer shorter than 63
  clock ticks, like the 40 ms delayed ACK, fires up to one tick late (4 ms on a kernel with 250
  ticks a second), plus the moment the timer interrupt takes to run; one of 63 ticks or more
  fires up to 8 ticks late, one of 504 or more up to 64, and so on (the timer wheel's levels).
  A note under the table names the timer;
* "✗ differs": the engine and the kernel disagree, a gap in tcpedu's model worth reporting;
* "? no kernel state": this platform cannot show the kernel's states.

Your output depends on the machine, which is the point: this cell's output is not checked by
the course's tests. The kernel's states can only be read on **Linux** (Binder and JupyterHub run
Linux); elsewhere the kernel columns say "unknown" and a note explains. The sockets need no
special rights, but **capturing** the segments does: tcpdump on the loopback interface needs
root. With root and tcpdump, a line under the table, "segments: …" ("✓ same" when they agree),
compares every captured segment with the engine's (sender, flags, relative seq and ack, length,
order); without them the note says
"segments not captured", and only the calls' results and the states are compared.
""")

code("""
# NBVAL_IGNORE_OUTPUT
lab = live.lab(lab_steps)
lab
""")

md("""
`lab.ladder()` draws the kernel's own segments, with states inferred as above, when they could
be captured; otherwise it draws the engine's run of the same calls. Its title says which.
""")

code("""
# NBVAL_IGNORE_OUTPUT
lab.ladder(numbers="relative")
""")

md("""
**Predict.** After `server.close()` (the last row), is the server in LAST-ACK, waiting for the
ACK of its FIN?

<details><summary>Reveal</summary>

Almost certainly not any more: on loopback the client's ACK comes back within microseconds,
long before the state is read, so the kernel column already says CLOSED. The server did pass
through LAST-ACK, for a few microseconds; the engine's run lists every state the server went
through:
</details>
""")

code("""
print(*(state for _, state in lab.trace.states("server")))
""")

md("""
## Make your own capture

On your own Linux or macOS computer, with any small server and client. Three terminals:

```bash
sudo tcpdump -i lo -w mine.pcap 'tcp port 8000'      # 1: capture (macOS: -i lo0); needs root
python3 -m http.server 8000 --bind 127.0.0.1          # 2: a web server on port 8000
curl -s http://127.0.0.1:8000/ > /dev/null            # 3: one request
```

Then stop tcpdump with Ctrl-C (it writes the file as it goes) and the server too. With
**Wireshark** instead: capture on the loopback interface (*Loopback: lo* on Linux, *lo0* on
macOS, the *Npcap Loopback Adapter* on Windows) with the capture filter `tcp port 8000`, then
*File → Save As*; tcpedu reads both pcap and pcapng. `tcpdump -i any` works too.

Put `mine.pcap` next to this notebook (on Binder or JupyterHub: the Upload button of the file
browser, since you cannot capture there without root) and read it like the ones above:

```python
print(*tcpedu.list_connections("mine.pcap"), sep="\\n")
tcpedu.read_pcap("mine.pcap", connection=0).relative()
```

Things to look for: who sent the first FIN (that side ends in TIME-WAIT), whether the close
took three segments or four, and whether any segment has a note. In a terminal,
`tcpedu ladder --pcap mine.pcap --numbers relative -o mine.png` draws its ladder.

## Practice

The engine's run of the four-way-close script from above (the one that agreed with the capture),
with fixed ISNs 1000 and 5000 instead of the kernel's random ones. Fill in the blanks (**?**).
""")

code("""
p = exercises.practice(sim, [("ack", 9), ("seq", 10), ("ack", 11), ("client_state", 9)],
                       intro="The recorded four-way close, replayed on the engine with ISNs 1000 and 5000.")
p
""")

md("""
Write your answers in the next cell: numbers as numbers, a state as text in quotes
(`"ESTABLISHED"`). Then run the check cell below it. `p.hint("ack_9")` gives a hint.
""")

code("""
ack_9 = None           # your answer
seq_10 = None
ack_11 = None
client_state_9 = None  # a state name in quotes
""")

code("""
p.check(ack_9=ack_9, seq_10=seq_10, ack_11=ack_11, client_state_9=client_state_9)
""")

md("""
## In one paragraph

A capture shows segments, never states: tcpedu reads it (`read_pcap`, `list_connections`),
infers each side's states by replaying it through the engine, and notes where it departs from
the chosen profile; a Linux capture read as the textbook shows the delayed ACK riding on a FIN,
and a RST where an application closed with unread data. The `"linux"` profile reproduces the
recorded captures segment for segment (`compare`), the textbook model differs exactly at the
close; any simulated run can be written as a pcap for Wireshark (`to_pcap`), and `live.lab`
runs the same calls on this machine's kernel, asks the kernel for its states, captures its
segments too when you are root, and replays the calls on the engine at the kernel's own times.
""")

write("09_real_traces")
