"""Write the instructor sources exercises/<exercise>.ipynb, then run them to record their outputs.

    python exercises/make_sources.py               # all three, executed (nbclient, like nbconvert)
    python exercises/make_sources.py --no-execute  # just the cells

Each source holds the numbers of a fixed demo student and the solutions, marked
nbgrader's way (``### BEGIN SOLUTION`` / ``### END SOLUTION`` and cell metadata), so it
runs top to bottom in a fresh kernel and an nbgrader course can use it as it is.
``tcpedu assign`` makes the students' notebooks from these files: it regenerates the
cells whose grade_id is numbers, setup, answer_<qid> or check_<qid> and copies the
prose cells written below, so edits to the prose reach every student.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tcpedu import exercises
from tcpedu.assign import markdown_cell, notebook_json, numbers_cell, question_cells, setup_cell, write_atomic

DEMO_STUDENT, DEMO_SECRET = "demo", "tcpedu-demo-secret"
HERE = Path(__file__).resolve().parent

HOW_TO_ANSWER = """

**How to answer.** In each answer cell, replace the `...` with your answer: a number
(`ack_2 = 1001`), simple arithmetic (`ack_2 = 1000 + 1`, `2**32 - 5`) or, where the
question asks for it, text in quotes (`"FIN-WAIT-1"`, `"client"`). Write values, not names
or function calls: your notebook is graded by *reading* your answers, not by running your code.

Run the cell under each answer to check it. A right answer says so; a wrong one says what
probably went wrong and stops with an `AssertionError` (a failed check) until you fix it.
`ex.hint("ack_2")` gives a hint. Your numbers are yours alone: your classmates' differ."""

INTRO = {
    "handshake_numbers": """# Homework: the numbers of a handshake

A client connects to a server, sends a request and gets a response. The table below is
that connection, simulated with your numbers, with some sequence numbers (seq) and
acknowledgement numbers (ack) blanked out (**?**). Work each one out from the segments
before it.""",
    "close_numbers": """# Homework: the numbers of a close

One side half-closes the connection (`shutdown(SHUT_WR)`: it sends its FIN and can still
receive); the other side sends more data, then closes too. Sometimes the first FIN is lost
and sent again. Fill in the blanked-out numbers (**?**) and say which side ends in TIME-WAIT.""",
    "states_and_timers": """# Homework: states and timers of a close

The client closes first; the server's application closes at once or a moment later. Name
both sides' states around the close's first segment, count the segments of the close, and
work out when the client leaves TIME-WAIT. The profile matters: `"rfc"` is the textbook
(every ACK at once, TIME-WAIT = 2 × MSL = 240 s), `"linux"` the real kernel (delayed ACKs,
TIME-WAIT 60 s).""",
}

SUMMARY = {
    "handshake_numbers": """## What to remember

SYN and FIN each take one sequence number, data takes one per byte, a pure ACK takes none;
an ack number is the next byte expected from the other side. Numbers live modulo 2³²: after
4294967295 comes 0.""",
    "close_numbers": """## What to remember

A FIN takes one sequence number, like a SYN. After a half-close the other side can still
send, and every byte it sends moves its numbers on: its FIN's seq counts those bytes too.
A lost FIN is sent again with the same seq. The side that sent the first FIN is the one
that waits in TIME-WAIT.""",
    "states_and_timers": """## What to remember

The side that closes first goes FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT; the other side
CLOSE-WAIT → LAST-ACK → CLOSED. On Linux the ACK of a FIN is delayed, so when the
application closes promptly that ACK rides on its FIN and the close takes three segments.
TIME-WAIT lasts 2 × MSL (240 s) in the textbook and 60 s on Linux, from the moment it is
entered.""",
}

METADATA = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}


def source_notebook(kind: str) -> dict:
    """The instructor source of ``kind``: prose, the demo student's numbers, the solutions."""
    ex = exercises.for_student(kind, DEMO_SECRET, DEMO_STUDENT)
    cells = [markdown_cell("intro", INTRO[kind] + HOW_TO_ANSWER), numbers_cell(ex, DEMO_STUDENT),
             setup_cell(ex)]
    for answer, check in question_cells(ex, solutions=True):
        cells += [answer, check]
    cells.append(markdown_cell("summary", SUMMARY[kind]))
    return {"cells": cells, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 5}


def execute(nb: dict) -> dict:
    """``nb`` run top to bottom in a fresh python3 kernel, with its outputs (no timing metadata)."""
    import json

    import nbformat
    from nbclient import NotebookClient

    node = nbformat.reads(json.dumps(nb), as_version=4)
    NotebookClient(node, timeout=60, kernel_name="python3", record_timing=False).execute()
    return json.loads(nbformat.writes(node))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--no-execute", action="store_true", help="write the cells without running them")
    args = p.parse_args()
    for kind in exercises.KINDS:
        nb = source_notebook(kind)
        if not args.no_execute:
            nb = execute(nb)
        write_atomic(HERE / f"{kind}.ipynb", notebook_json(nb))
        print(f"wrote exercises/{kind}.ipynb" + ("" if args.no_execute else " (executed)"))


if __name__ == "__main__":
    main()
