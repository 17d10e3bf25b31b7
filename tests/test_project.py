"""The project's shape: layering, light import, Binder deps matching pyproject, a clean tree."""

import ast
import pathlib
import shutil
import subprocess
import sys

import pytest

tomllib = pytest.importorskip("tomllib")   # Python >= 3.11

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = {   # module -> layer; an import may only point to a lower or equal layer
    "segment": 0, "machine": 0, "profiles": 0, "endpoint": 0,
    "trace": 1, "simulation": 1, "scenarios": 1, "script": 1,
    "capture": 2, "live": 2, "infer": 2, "ladder": 2, "graph": 2, "stepper": 2, "exercises": 2,
    "answers": 2,
    "forms": 3, "grading": 3, "assign": 3, "cli": 3, "__init__": 3, "__main__": 3,
}
ENGINE = {"segment", "machine", "profiles", "endpoint"}
# Convenience accessors (like pandas' DataFrame.plot): a method of a lower layer may import
# a picture module inside its body, so users write trace.ladder() without a top-level cycle.
LAZY_ACCESSORS = {("trace", "ladder"), ("trace", "stepper"), ("trace", "graph"),
                  ("exercises", "forms")}


def imports(path, top_level_only=False):
    tree = ast.parse(path.read_text())
    for node in (tree.body if top_level_only else ast.walk(tree)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                yield "tcpedu." + (node.module or "")
            else:
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def test_every_module_has_a_layer_and_imports_point_down():
    for path in (ROOT / "tcpedu").glob("*.py"):
        mod = path.stem
        assert mod in LAYERS, f"{mod}.py has no layer in this test"
        for name in imports(path):
            if name.startswith("tcpedu.") and name != "tcpedu.":
                target = name.split(".")[1]
                if (mod, target) in LAZY_ACCESSORS:
                    assert f"tcpedu.{target}" not in set(imports(path, top_level_only=True))
                    continue
                assert LAYERS[target] <= LAYERS[mod], f"{mod} imports higher layer {target}"
            if mod in ENGINE:
                assert name.split(".")[0] not in {"socket", "time", "matplotlib", "networkx",
                                                  "ipywidgets", "threading", "random"}, (mod, name)


def test_import_tcpedu_loads_nothing_heavy():
    code = ("import sys, tcpedu; heavy = {'matplotlib', 'networkx', 'ipywidgets', 'dpkt', "
            "'numpy', 'IPython'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _name(req):
    return req.split(">")[0].split("<")[0].split("=")[0].strip().lower()


def test_binder_environment_lists_the_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = (ROOT / "environment.yml").read_text().splitlines()
    listed = {_name(line.strip()[2:]) for line in env if line.strip().startswith("- ")}
    assert "python=3.11" in {line.strip()[2:] for line in env if line.strip().startswith("- ")}
    assert {_name(d) for d in project["dependencies"]} <= listed
    post = (ROOT / "postBuild").read_text()
    assert "set -e" in post and "python -m pip install --no-deps -e ." in post


def test_notebook_09_writes_nothing_into_the_course_folder(tmp_path):
    """Running the course leaves the tree clean: notebook 09, the one that writes a file (a
    pcap for Wireshark), run in a copy of its folder, adds nothing to that folder."""
    import nbclient
    import nbformat

    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks" / "data", folder / "data")
    shutil.copy(ROOT / "notebooks" / "09_real_traces.ipynb", folder)
    before = set(folder.rglob("*"))
    nb = nbformat.read(folder / "09_real_traces.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(folder)}}).execute()
    assert set(folder.rglob("*")) - before == set()


def test_license_is_an_spdx_expression_that_setuptools_reads_without_warning():
    """A license table ({text = "MIT"}) makes setuptools >= 77 warn at every build (three
    times); an SPDX string needs setuptools >= 77 to be read at all."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    (setuptools,) = [r for r in project["build-system"]["requires"] if r.startswith("setuptools")]
    assert setuptools.replace(" ", "") == "setuptools>=77", setuptools


def test_every_module_says_what_it_exports_and_exports_what_it_says():
    import importlib

    import tcpedu

    for path in sorted((ROOT / "tcpedu").glob("*.py")):
        if path.stem in ("__init__", "__main__"):
            continue
        module = importlib.import_module(f"tcpedu.{path.stem}")
        assert isinstance(getattr(module, "__all__", None), list), f"{path.name} has no __all__"
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, f"{path.name}: __all__ names {missing}, which it does not define"
    assert {"ladder", "live", "Simulation", "read_pcap", "draw_state_graph"} <= set(tcpedu.__all__)
    assert all(getattr(tcpedu, n) is not None for n in tcpedu.__all__)
