"""What every notebook generator here shares: collect cells, then write the notebook.

A generator calls ``md(...)`` and ``code(...)`` in order, then ``write("NN_name")``, which
writes notebooks/NN_name.ipynb with stable cell ids; execute it afterwards with
``jupyter nbconvert --to notebook --execute --inplace`` (outputs are committed).
"""

from pathlib import Path

import nbformat

_CELLS: list = []


def md(text: str) -> None:
    """A markdown cell."""
    _CELLS.append(nbformat.v4.new_markdown_cell(text.strip("\n")))


def code(text: str, tags: tuple[str, ...] = ()) -> None:
    """A code cell; ``tags`` e.g. ("nbval-ignore-output",) for machine-dependent output."""
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    _CELLS.append(cell)


def write(name: str) -> Path:
    """Write the cells collected so far as notebooks/<name>.ipynb."""
    nb = nbformat.v4.new_notebook()
    nb.cells = list(_CELLS)
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i:02d}"
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    path = Path(__file__).resolve().parent.parent / f"{name}.ipynb"
    nbformat.write(nb, path)
    print(f"wrote {path}")
    return path
