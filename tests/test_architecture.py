"""The package's seams: modules talk through named interfaces, without cycles.

Scans the source (no imports of our own code needed to find a violation):

* no ``from .<public module> import _<name>``: a private name of a public
  module is that module's business; shared helpers live in private modules
  (``_frames``, ``_core``, ``_page``, ...);
* no module reads a private member (``obj._name``) that it does not define
  itself: ``journeys._sequence`` from ``compare`` would reach into ``mine``;
* the modules' imports of each other (at the top, inside functions and under
  ``TYPE_CHECKING`` alike) form no cycle;
* the options of `read_events` and `mine`, written in the signature and in
  the option model, agree.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import journeygraph as jg

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "journeygraph"
MODULES = {p.stem: p for p in sorted(PACKAGE.glob("*.py"))}


def _imports(path: Path) -> list[tuple[str, str, int]]:
    """(module imported from, name, line) of every relative import in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                out.append((node.module or "__init__", alias.name, node.lineno))
    return out


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _violations(modules: dict[str, Path]) -> list[str]:
    found = []
    for name, path in modules.items():
        for source, imported, line in _imports(path):
            if source == "__init__" and imported in modules:
                continue  # `from . import _kernels`: a module, not a member
            if not _is_private(source) and _is_private(imported):
                found.append(f"{name}.py:{line}: from .{source} import {imported}")
    return found


def _import_graph(modules: dict[str, Path]) -> nx.DiGraph[str]:
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(m for m in modules if m != "__init__")
    for name, path in modules.items():
        if name == "__init__":
            continue  # the package imports everything to re-export it
        for source, imported, _ in _imports(path):
            target = imported if source == "__init__" else source
            if target in modules and target != "__init__":
                graph.add_edge(name, target)
            elif source == "__init__" and target not in modules:
                graph.add_edge(name, "__init__")  # a name of the package itself
    return graph


def test_no_private_names_imported_from_public_modules() -> None:
    assert _violations(MODULES) == []


def _foreign_private_members(modules: dict[str, Path]) -> list[str]:
    """``obj._name`` reads where ``_name`` is defined nowhere in the module itself."""
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                own.add(node.target.id)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not _is_private(node.attr):
                continue
            if node.attr in own or (isinstance(node.value, ast.Name) and node.value.id in modules):
                continue  # its own member, or a private module's plain name
            found.append(f"{name}.py:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_reads_another_module_s_private_members() -> None:
    assert _foreign_private_members(MODULES) == []


def test_the_member_rule_finds_reaching_in(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "class A:\n    def __init__(self):\n        self._x = 1\n    def f(self):\n"
        "        return self._x\n",
        encoding="utf-8",
    )
    (tmp_path / "b.py").write_text("def g(obj):\n    return obj._x + obj.y\n", encoding="utf-8")
    modules = {p.stem: p for p in sorted(tmp_path.glob("*.py"))}
    assert _foreign_private_members(modules) == ["b.py:2: obj._x"]


def test_no_module_imports_the_package_itself() -> None:
    # the package imports every module; a module importing a name from the
    # package would work only while it is imported after that name is set
    graph = _import_graph(MODULES)
    importers = sorted(graph.predecessors("__init__")) if "__init__" in graph else []
    assert importers == []


def test_no_circular_imports() -> None:
    cycles = sorted(nx.simple_cycles(_import_graph(MODULES)))
    assert cycles == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a": "from .b import _x\n", "b": ""}, ["a.py:1: from .b import _x"]),
        ({"a": "from ._b import _x\n", "_b": ""}, []),
        ({"a": "def f():\n    from .b import y, _z\n", "b": ""}, ["a.py:2: from .b import _z"]),
        ({"a": "from . import _b\n", "_b": ""}, []),
        ({"a": "from .b import __version__\n", "b": ""}, []),
    ],
)
def test_the_rule_finds_private_imports(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    modules = {p.stem: p for p in sorted(tmp_path.glob("*.py"))}
    assert _violations(modules) == expected


def test_the_cycle_check_finds_cycles(tmp_path: Path) -> None:
    files = {
        "a": "from .b import x\n",
        "b": "if T:\n    from .c import y\n",
        "c": "from . import a\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    modules = {p.stem: p for p in sorted(tmp_path.glob("*.py"))}
    assert len(list(nx.simple_cycles(_import_graph(modules)))) == 1


@pytest.mark.parametrize(
    ("function", "model"),
    [(jg.read_events, jg.EventSchema), (jg.mine, jg.MineOptions)],
)
def test_option_models_and_signatures_agree(function: Any, model: Any) -> None:
    # the options are written twice, in the signature (for readers and IDEs) and
    # in the model (for validation): the same names, in the same order, same defaults
    params = [
        p for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY
    ]
    assert [p.name for p in params] == list(model.model_fields)
    for p in params:
        field = model.model_fields[p.name]
        expected = inspect.Parameter.empty if field.is_required() else field.default
        assert p.default == expected, p.name
