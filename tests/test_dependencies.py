"""Every import the package makes is brought by the runtime install (`pip install -e .`,
no extras): the test venv has more (pytest brings Pygments), which once hid a missing
dependency from the whole suite. The closure is read from the installed distributions'
own metadata, starting at pyproject.toml's `dependencies`, so this holds in any venv."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata

import pytest

from .conftest import REPO

SRC = REPO / "src" / "exporter"
# Extras that are features (imported only where the feature runs, with a clear message);
# test and lint extras are not.
FEATURE_EXTRAS = {"anki"}


def distribution_name(requirement: str) -> str:
    return re.sub(
        r"[-_.]+", "-", re.split(r"[\s;<>=!~\[(]", requirement.strip(), maxsplit=1)[0]
    ).lower()


def closure(requirements: list[str]) -> set[str]:
    """The distributions these requirements install, with everything they require."""
    seen: set[str] = set()
    todo = [r for r in requirements if "extra ==" not in r]
    while todo:
        name = distribution_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        todo += [r for r in requires if "extra ==" not in r]
    return seen


def imports() -> list[tuple[str, int, str]]:
    """(module file, line, top-level name) for each absolute import under src/exporter."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            rel = path.relative_to(REPO).as_posix()
            found += [(rel, node.lineno, name.split(".")[0]) for name in names]
    return found


@pytest.mark.slow
def test_every_import_is_brought_by_the_runtime_install():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = closure(project["dependencies"])
    features = closure(
        [r for extra in FEATURE_EXTRAS for r in project["optional-dependencies"][extra]]
    )
    providers = metadata.packages_distributions()
    missing = []
    for where, line, top in imports():
        if top in sys.stdlib_module_names or top in ("exporter", "__future__"):
            continue
        dists = {distribution_name(d) for d in providers.get(top, [])}
        if not dists & (runtime | features):
            missing.append(f"{where}:{line}: {top} ({', '.join(sorted(dists)) or 'nothing'})")
    assert not missing, "imports `pip install -e .` does not bring:\n" + "\n".join(missing)


def test_the_check_sees_an_undeclared_import():
    """The check above is not vacuous: pytest's own dependency is outside the closure."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = closure(project["dependencies"])
    assert "pygments" in runtime and "weasyprint" in runtime and "pyyaml" in runtime
    assert "pytest" not in runtime and "pypdf" not in runtime and "iniconfig" not in runtime
