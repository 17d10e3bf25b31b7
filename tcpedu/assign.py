"""Per-student homework notebooks, made from an instructor source.

An instructor source is ``exercises/<kind>.ipynb`` (``kind`` one of
:data:`tcpedu.exercises.KINDS`), marked the nbgrader way: every cell carries
``metadata.nbgrader`` with a ``grade_id``, and each answer sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION``.  :func:`assign` writes
``OUT/<student_id>/<kind>.ipynb`` for every student of a roster:

* cells with grade_id ``numbers``, ``setup``, ``answer_<qid>`` and ``check_<qid>``
  are generated for the student (their numbers, their questions: the k-th
  answer/check pair of the source becomes the student's k-th question);
* every other cell (the instructor's prose) is copied as it is;
* outputs and execution counts are cleared, cell ids come from grade ids and the
  JSON is written with sorted keys and a fixed indent, so the same inputs give
  byte-identical files.

The numbers come from ``exercises.student_params(kind, secret, student_id)``:
the course secret never appears in a notebook, and :mod:`tcpedu.grading`
recomputes every expected answer from it and the student id.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from pathlib import Path

from . import exercises

__all__ = [
    "SECRET_ENV", "BEGIN", "END", "STUB", "ANSWER", "CHECK", "HomeworkError", "course_secret",
    "read_roster", "valid_student_id", "kind_of", "nbgrader_meta", "markdown_cell", "code_cell",
    "py_literal", "numbers_cell", "setup_cell", "FORMATS", "answer_cell", "check_cell",
    "question_cells", "grade_id", "notebook_json", "write_atomic", "student_notebook",
    "read_source", "assign",
]

SECRET_ENV = "TCPEDU_SECRET"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "...  # your answer"
ANSWER, CHECK = "answer_", "check_"


class HomeworkError(Exception):
    """A problem with the instructor's inputs (roster, source, secret, folders); the CLI
    prints it and exits with status 2."""


# ----------------------------------------------------------------------------- inputs

def course_secret(secret_file: str | os.PathLike | None = None) -> str:
    """The course secret: the first line of ``secret_file`` if given, else ``$TCPEDU_SECRET``."""
    if secret_file is not None:
        try:
            text = Path(secret_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise HomeworkError(f"cannot read the secret file {secret_file}: {exc.strerror}") from None
        secret = text.splitlines()[0].strip() if text.strip() else ""
        if not secret:
            raise HomeworkError(f"the secret file {secret_file} is empty")
        return secret
    secret = os.environ.get(SECRET_ENV, "").strip()
    if not secret:
        raise HomeworkError(f"no course secret: set the environment variable {SECRET_ENV} "
                            f"or pass --secret-file PATH (the same secret for assign and grade)")
    return secret


def read_roster(path: str | os.PathLike) -> list[str]:
    """The student ids of a roster CSV (header row with a ``student_id`` column; other columns
    ignored, blank ids skipped), in file order.  Duplicate ids, or ids that cannot be a
    folder name, are errors naming them."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            columns = rows[0].keys() if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise HomeworkError(f"cannot read the roster {path}: {exc}") from None
    if rows and "student_id" not in columns:
        raise HomeworkError(f"the roster {path} has no student_id column (its columns: "
                            f"{', '.join(c for c in columns if c)})")
    ids = [(row.get("student_id") or "").strip() for row in rows]
    ids = [i for i in ids if i]
    seen, dups = set(), []
    for i in ids:
        if i in seen and i not in dups:
            dups.append(i)
        seen.add(i)
    if dups:
        raise HomeworkError(f"the roster {path} lists these student ids more than once: {', '.join(dups)}")
    bad = [i for i in ids if not valid_student_id(i)]
    if bad:
        raise HomeworkError(f"these student ids cannot be folder names: {', '.join(map(repr, bad))}")
    return ids


def valid_student_id(student_id: str) -> bool:
    """Whether ``student_id`` can name a folder: no path separators, not ``.``/``..``, no dot first."""
    return (bool(student_id) and student_id.strip() == student_id and not student_id.startswith(".")
            and not any(c in student_id for c in "/\\\0") and student_id.isprintable())


def kind_of(path: str | os.PathLike) -> str:
    """The exercise kind a notebook is named after (``handshake_numbers.ipynb``)."""
    kind = Path(path).stem
    if kind not in exercises.KINDS:
        raise HomeworkError(f"{path}: a source is named after its exercise, one of "
                            f"{', '.join(k + '.ipynb' for k in exercises.KINDS)}")
    return kind


# ----------------------------------------------------------------------------- cells

def nbgrader_meta(grade_id: str, *, solution: bool = False, grade: bool = False,
                  locked: bool = False, points: int | None = None) -> dict:
    """nbgrader's cell metadata (schema version 3), as its "create assignment" toolbar writes it."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def markdown_cell(grade_id: str, text: str) -> dict:
    """A locked (read-only) markdown cell."""
    return {"cell_type": "markdown", "id": grade_id, "metadata": nbgrader_meta(grade_id, locked=True),
            "source": _lines(text)}


def code_cell(grade_id: str, code: str, **meta) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": grade_id,
            "metadata": nbgrader_meta(grade_id, **meta), "outputs": [], "source": _lines(code)}


def py_literal(value) -> str:
    """``value`` as Python source: double-quoted text, plain numbers, True/False."""
    if isinstance(value, str) and '"' not in value and "\\" not in value and value.isprintable():
        return f'"{value}"'
    return repr(value)


def numbers_cell(ex: exercises.Exercise, student_id: str) -> dict:
    return markdown_cell("numbers", f"**Your numbers** (student `{student_id}`): {ex.intro}")


def setup_cell(ex: exercises.Exercise) -> dict:
    """``ex = exercises.load(kind, {...})``: the student's exercise, shown as a table with blanks."""
    params = "".join(f"    {py_literal(k)}: {py_literal(v)},\n" for k, v in ex.params.items())
    code = f'from tcpedu import exercises\n\nex = exercises.load("{ex.kind}", {{\n{params}}})\nex'
    return code_cell("setup", code, locked=True)


FORMATS = {"state": ' (a state, in quotes: "SYN-SENT")',
           "flags": ' (flags in quotes, like "SYN,ACK")', "seconds": " (in seconds)"}


def answer_cell(q: exercises.Question, solution: bool) -> dict:
    """The blank for one question: ``qid = ...  # your answer``, or the key between the
    solution markers."""
    prompt = f"# {q.qid}: {q.prompt}{FORMATS.get(q.kind, '')}\n"
    body = f"{BEGIN}\n{q.qid} = {py_literal(q.expected)}\n{END}" if solution else f"{q.qid} = {STUB}"
    return code_cell(ANSWER + q.qid, prompt + body, solution=True)


def check_cell(q: exercises.Question) -> dict:
    """Instant feedback for one answer, and nbgrader's test: it shows the diagnosis (a display,
    not an ``execute_result``, which nbgrader would read as partial credit; nothing on stderr)
    and fails with an AssertionError only while the answer is not right."""
    code = (f"report = ex.check({q.qid}={q.qid})\ndisplay(report)\n"
            f'assert report.score == 1, "not right yet: see the feedback above"')
    return code_cell(CHECK + q.qid, code, grade=True, locked=True, points=q.points)


def question_cells(ex: exercises.Exercise, solutions: bool) -> list[tuple[dict, dict]]:
    return [(answer_cell(q, solutions), check_cell(q)) for q in ex.questions]


def grade_id(cell) -> str | None:
    """A cell's nbgrader grade_id, or None (also for malformed metadata)."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nb = meta.get("nbgrader") if isinstance(meta, dict) else None
    gid = nb.get("grade_id") if isinstance(nb, dict) else None
    return gid if isinstance(gid, str) else None


# ----------------------------------------------------------------------------- notebooks

def notebook_json(nb: dict) -> str:
    """Deterministic notebook JSON: sorted keys, indent 1, UTF-8 text (as nbformat writes it)."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and os.replace,
    so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)              # as open() would have made it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clean(cell: dict) -> dict:
    """A copied cell without outputs or execution count, its source as a list of lines."""
    cell = dict(cell)
    if cell.get("cell_type") == "code":
        cell.update(outputs=[], execution_count=None)
    if isinstance(cell.get("source"), str):
        cell["source"] = _lines(cell["source"])
    return cell


def student_notebook(source: dict, ex: exercises.Exercise, student_id: str,
                     solutions: bool = False) -> dict:
    """The source notebook made out for one student: generated cells replaced, prose copied."""
    cells = [c for c in source.get("cells", []) if isinstance(c, dict)]
    answers = [grade_id(c)[len(ANSWER):] for c in cells if (grade_id(c) or "").startswith(ANSWER)]
    if len(answers) != len(ex.questions):
        raise HomeworkError(f"the source has {len(answers)} answer cells but {ex.kind} asks "
                            f"{len(ex.questions)} questions: regenerate it (exercises/make_sources.py)")
    if "setup" not in {grade_id(c) for c in cells}:
        raise HomeworkError("the source has no setup cell (grade_id 'setup')")
    index = {qid: k for k, qid in enumerate(answers)}
    generated = question_cells(ex, solutions)
    out, ids = [], set()
    for n, cell in enumerate(cells):
        gid = grade_id(cell)
        if gid == "numbers":
            new = numbers_cell(ex, student_id)
        elif gid == "setup":
            new = setup_cell(ex)
        elif gid and gid.startswith(ANSWER):
            new = generated[index[gid[len(ANSWER):]]][0]
        elif gid and gid.startswith(CHECK) and gid[len(CHECK):] in index:
            new = generated[index[gid[len(CHECK):]]][1]
        else:
            new = _clean(cell)
            cid = gid or cell.get("id")
            new["id"] = cid if isinstance(cid, str) and re.fullmatch(r"[\w-]{1,64}", cid) else f"cell-{n}"
        while new["id"] in ids:
            new["id"] = f"{new['id'][:58]}-{n}"
        ids.add(new["id"])
        out.append(new)
    return {"cells": out, "metadata": source.get("metadata", {}), "nbformat": 4, "nbformat_minor": 5}


def read_source(path: str | os.PathLike) -> dict:
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HomeworkError(f"cannot read the source notebook {path}: {exc}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise HomeworkError(f"{path} is not a notebook (no list of cells)")
    return nb


def assign(source: str | os.PathLike, roster: list[str], out: str | os.PathLike, secret: str,
           solutions: bool = False) -> list[Path]:
    """Write ``out/<student_id>/<kind>.ipynb`` for every student id of ``roster``, with that
    student's numbers (and the answers filled in if ``solutions``).  Returns the paths."""
    kind = kind_of(source)
    nb = read_source(source)
    written = []
    for student_id in roster:
        if not valid_student_id(student_id):
            raise HomeworkError(f"student id {student_id!r} cannot be a folder name")
        ex = exercises.for_student(kind, secret, student_id)
        path = Path(out) / student_id / f"{kind}.ipynb"
        write_atomic(path, notebook_json(student_notebook(nb, ex, student_id, solutions)))
        written.append(path)
    return written
