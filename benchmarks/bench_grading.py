"""Grading benchmark (homework issue): prints figures, asserts nothing.

  1. A class of 500: ``tcpedu assign --solutions`` for handshake_numbers, then some
     answers perturbed (wrong numbers, arithmetic, a deleted cell, a monkeypatch cell),
     then ``tcpedu grade`` reading all 500 without running them.  Target <= 10 s.
  2. The same notebooks executed the way nbgrader's autograde does (nbclient,
     ``NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True)``: a
     fresh kernel per notebook, every cell run even after a failed check).  500 would
     take minutes, so a sample of 10 is executed and the per-notebook times compared.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tcpedu import exercises
from tcpedu.cli import main

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "exercises" / "handshake_numbers.ipynb"
SECRET = "benchmark-secret"
STUDENTS = 500
SAMPLE = 10


def perturb(path: Path, i: int) -> str:
    """Change some answers of student ``i``'s solved notebook; returns what was done."""
    nb = json.loads(path.read_text())
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]}
    params = exercises.student_params("handshake_numbers", SECRET, path.parent.name)
    if i % 5 == 1:
        cells["answer_ack_2"]["source"] = [f"ack_2 = {params['client_isn']}\n"]          # SYN takes one
        done = "wrong ack_2"
    elif i % 5 == 2:
        cells["answer_seq_3"]["source"] = [f"seq_3 = {params['client_isn']} + 1\n"]      # arithmetic, right
        done = "arithmetic"
    elif i % 5 == 3:
        nb["cells"] = [c for c in nb["cells"] if c["metadata"]["nbgrader"]["grade_id"] != "answer_ack_5"]
        done = "deleted cell"
    elif i % 5 == 4:
        nb["cells"].insert(3, {"cell_type": "code", "execution_count": None, "id": "hack", "metadata": {},
                               "outputs": [], "source": ["import tcpedu.exercises as E\n",
                                                         "E.Exercise.check = lambda self, **kw: None\n",
                                                         'print("100%")\n']})
        done = "monkeypatch"
    else:
        return "as assigned"
    path.write_text(json.dumps(nb, indent=1))
    return done


def quiet(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def execute(path: Path) -> float:
    """Seconds to run one notebook top to bottom in a fresh kernel, as nbgrader autograde does."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    return time.perf_counter() - start


def main_bench() -> None:
    os.environ["TCPEDU_SECRET"] = SECRET
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "roster.csv").write_text("student_id\n" + "".join(f"s{i:04d}\n" for i in range(STUDENTS)))
        start = time.perf_counter()
        quiet(["assign", str(SOURCE), "--roster", str(tmp / "roster.csv"), "--out", str(tmp / "sub"),
               "--solutions"])
        t_assign = time.perf_counter() - start
        notebooks = sorted((tmp / "sub").glob("*/handshake_numbers.ipynb"))
        kinds = [perturb(p, i) for i, p in enumerate(notebooks)]

        start = time.perf_counter()
        code, out = quiet(["grade", str(tmp / "sub"), "--out", str(tmp / "grades.csv"),
                           "--roster", str(tmp / "roster.csv"), "--format", "gradescope"])
        t_grade = time.perf_counter() - start
        rows = (tmp / "grades.csv").read_text().splitlines()[1:]
        full = sum(r.split(",")[2] == "7" for r in rows)
        per_static = t_grade / len(notebooks)

        print(f"class of {len(notebooks)} (handshake_numbers, 7 questions; perturbed: "
              + ", ".join(f"{k} {kinds.count(k)}" for k in sorted(set(kinds))) + ")")
        print(f"  tcpedu assign --solutions, 500 notebooks:      {t_assign:6.2f} s")
        print(f"  tcpedu grade (read, never run), 500 notebooks: {t_grade:6.2f} s  (target <= 10 s)"
              f"  = {per_static * 1000:.1f} ms per notebook, gradebook + feedback + results.json")
        print(f"  {len(rows)} rows, {full} with 7/7; exit status {code}")

        try:
            import nbclient  # noqa: F401
        except ImportError:
            print("  nbclient is not installed: the comparison with executing is skipped")
            return
        sample = notebooks[:SAMPLE]
        times = [execute(p) for p in sample]
        per_exec = statistics.median(times)
        print(f"executing {len(sample)} of the same notebooks with nbclient (a fresh python3 kernel each, "
              f"allow_errors=True, as nbgrader autograde):")
        print("  per notebook: " + ", ".join(f"{t:.2f}" for t in times) + " s")
        print(f"  median {per_exec:.2f} s, min {min(times):.2f} s, max {max(times):.2f} s per notebook")
        print(f"  ratio, median executed / static per notebook: {per_exec / per_static:,.0f}x"
              f"  (500 executed would take about {per_exec * len(notebooks) / 60:.0f} min on one core)")
        print(f"  (python {sys.version.split()[0]}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main_bench()
