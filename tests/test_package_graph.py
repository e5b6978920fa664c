"""The library's packages import one way: each layer may import only the layers before it (README, Layout).

Reads every genie_audio/**/*.py with `ast`: `import` and `from ... import` statements anywhere (also inside
functions) and string constants that name a genie_audio module (what `importlib.import_module` would load, or a
registry entry "genie_audio.x.y:Class"). A file's package is the first name under genie_audio/ (a top-level
module is its own package). Packages in one layer are independent of each other. `testing` is test support: it
may import anything, and nothing in the library may import it. Inside a package, the modules import each other
without a cycle (a cycle means two modules that are one, or one that is in the wrong place).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[1] / "genie_audio"

# Lowest first: a package may import its own package and those of earlier layers, nothing else.
LAYERS = [
    ("data", "diffusion"),  # what training reads: audio ops, formats, pipelines; flow matching and samplers
    ("models", "archive"),  # the three models, their layers, VQ and training masks; archive preparation
    ("training", "codec"),  # the one loop and its parts; whole-recording encode/decode with a tokenizer
    ("runs",),              # trained runs read back from their workdirs; dataset encoding
    ("editing",),           # action timelines, in-painting, splicing, the editor
    ("eval",),              # metrics, evaluators, action analysis
    ("tasks", "app"),       # one Task per stage; the editor app (a page over the editing API)
]
TEST_SUPPORT = "testing"
_MODULE_NAME = re.compile(r"^genie_audio(\.\w+)+(:\w+)?$")


def layer_of(package: str) -> int:
  for index, layer in enumerate(LAYERS):
    if package in layer:
      return index
  raise AssertionError(f"genie_audio.{package} is in no layer of LAYERS; add it where it belongs")


def package_of_file(path: Path, library: Path = LIBRARY) -> str:
  parts = path.relative_to(library).parts
  return parts[0].removesuffix(".py")


def package_of_module(module: str) -> str | None:
  """'genie_audio.models.vq' -> 'models'; None for non-library modules and for `genie_audio` itself."""
  parts = module.split(":")[0].split(".")
  return parts[1] if parts[0] == "genie_audio" and len(parts) > 1 else None


def imported_modules(path: Path) -> list[tuple[int, str]]:
  """(line, module) of every genie_audio module the file names, in imports or as a module-name string."""
  tree = ast.parse(path.read_text(), str(path))
  found = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found += [(node.lineno, alias.name) for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
      if node.module == "genie_audio":  # `from genie_audio import codec`: the names are the modules
        found += [(node.lineno, f"genie_audio.{alias.name}") for alias in node.names]
      else:
        found.append((node.lineno, node.module))
    elif isinstance(node, ast.ImportFrom) and node.level > 0:
      raise AssertionError(f"{path}:{node.lineno}: relative import; use absolute imports")
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_NAME.match(node.value):
      found.append((node.lineno, node.value))
  return found


def upward_imports(library: Path = LIBRARY) -> list[str]:
  """One line per import against the order: file:line, the imported module and why."""
  problems = []
  for path in sorted(library.rglob("*.py")):
    package = package_of_file(path, library)
    if package == "__init__":
      continue
    for line, module in imported_modules(path):
      target = package_of_module(module)
      if target is None or target == package or package == TEST_SUPPORT:
        continue
      where = f"{path.relative_to(library.parent)}:{line} imports {module}"
      if target == TEST_SUPPORT:
        problems.append(f"{where}: the library must not import {TEST_SUPPORT}/ (test support)")
      elif layer_of(target) > layer_of(package):
        problems.append(f"{where}: {target} comes after {package} in the package order")
      elif layer_of(target) == layer_of(package):
        problems.append(f"{where}: {target} and {package} are independent packages of one layer")
  return problems


def test_every_library_package_has_a_layer():
  packages = {package_of_file(p) for p in LIBRARY.rglob("*.py")} - {"__init__", TEST_SUPPORT}
  for package in sorted(packages):
    layer_of(package)


def test_imports_go_one_way():
  problems = upward_imports()
  assert not problems, "imports against the package order:\n" + "\n".join(problems)


def _imported_names(path: Path, module: str) -> list[str]:
  """The names `from MODULE import ...` statements of the file import."""
  return [alias.name for node in ast.walk(ast.parse(path.read_text(), str(path)))
          if isinstance(node, ast.ImportFrom) and node.module == module for alias in node.names]


def module_cycles(library: Path = LIBRARY) -> list[list[str]]:
  """Each import cycle among the modules of one package, as its module names (one cycle per strongly
  connected component of the module graph, found with Tarjan's algorithm)."""
  names = {".".join(p.relative_to(library.parent).with_suffix("").parts): p for p in library.rglob("*.py")
           if p.name != "__init__.py"}
  graph = {}
  for name, path in names.items():
    package = name.split(".")[1]
    targets = set()
    for _, module in imported_modules(path):
      module = module.split(":")[0]
      # `from genie_audio.data import latents` names the package; its names may be modules too.
      candidates = [module] + [f"{module}.{n}" for n in _imported_names(path, module)]
      targets |= {m for m in candidates if m in names and package_of_module(m) == package and m != name}
    graph[name] = sorted(targets)
  index, low, stack, on_stack, cycles = {}, {}, [], set(), []

  def visit(node):
    index[node] = low[node] = len(index)
    stack.append(node)
    on_stack.add(node)
    for target in graph[node]:
      if target not in index:
        visit(target)
        low[node] = min(low[node], low[target])
      elif target in on_stack:
        low[node] = min(low[node], index[target])
    if low[node] == index[node]:
      component = []
      while not component or component[-1] != node:
        component.append(stack.pop())
        on_stack.discard(component[-1])
      if len(component) > 1:
        cycles.append(sorted(component))

  for node in sorted(graph):
    if node not in index:
      visit(node)
  return cycles


def test_no_import_cycle_inside_a_package():
  cycles = module_cycles()
  assert not cycles, "modules that import each other:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_check_sees_a_cycle(tmp_path):
  library = tmp_path / "genie_audio"
  (library / "data").mkdir(parents=True)
  (library / "data" / "a.py").write_text("from genie_audio.data import b\n")
  (library / "data" / "b.py").write_text("def f():\n  from genie_audio.data.a import x\n")
  (library / "data" / "c.py").write_text("from genie_audio.data import a\n")
  assert module_cycles(library) == [["genie_audio.data.a", "genie_audio.data.b"]]


@pytest.mark.parametrize("source, expected", [
    ("from genie_audio.tasks import lam\n", "comes after"),
    ("def f():\n  import genie_audio.runs.run\n", "comes after"),
    ("REGISTRY = {'x': 'genie_audio.testing.toy_task:ToyTask'}\n", "must not import testing/"),
    ("from genie_audio import codec\n", "independent packages"),
])
def test_the_check_sees_an_upward_import(tmp_path, source, expected):
  library = tmp_path / "genie_audio"
  (library / "training").mkdir(parents=True)
  (library / "training" / "bad.py").write_text(source)
  problems = upward_imports(library)
  assert len(problems) == 1 and "genie_audio/training/bad.py" in problems[0] and expected in problems[0]
