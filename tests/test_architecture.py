"""The layers hold: imports run one way (claims → accounts, reserves → audit → core), no import cycles, and
no app's template names a URL of an app above it. See docs/architecture.md."""

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "audit", "benchmarks", "claims", "config", "core", "demo", "operations", "reserves")

# What each package may import (besides itself). Nothing may import benchmarks or demo, and the apps
# never import config: it only wires them together.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "audit": {"core"},
    "reserves": {"audit", "core"},
    "accounts": {"audit", "core"},
    "claims": {"accounts", "reserves", "audit", "core"},
    # Operations reads every layer below claims for the operator (probes, metrics, the operations page).
    "operations": {"reserves", "audit", "core"},
    "config": {"accounts", "claims", "reserves", "audit", "core", "operations"},
    "demo": {"accounts", "claims", "reserves", "audit", "core"},
    "benchmarks": {"accounts", "claims", "reserves", "audit", "core", "config", "operations"},
}
# URL namespaces an app's templates may name: its own and those of the apps below it.
TEMPLATE_MAY_NAME: dict[str, set[str]] = {
    "core": set(),
    "audit": {"audit"},
    "reserves": {"reserves", "audit"},
    "accounts": {"accounts", "audit"},
    "claims": {"claims", "accounts", "reserves", "audit"},
    "operations": {"operations", "reserves", "audit"},
}
URL_TAG = re.compile(r"\{% url ['\"](?:(?P<namespace>[\w-]+):)?(?P<name>[\w-]+)['\"]")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str, modules: dict[str, Path]) -> set[str]:
    """Every project module this file imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name.split(".")[0] in PACKAGES:
                targets.add(name)
    return targets


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {module: _imports(path, module, modules) for module, path in modules.items()}


def test_imports_run_one_way_down_the_layers():
    broken = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if (source := module.split(".")[0]) != (layer := target.split(".")[0]) and layer not in MAY_IMPORT[source]
    )
    assert broken == []


def test_there_is_no_import_cycle():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_app_templates_name_only_urls_of_their_own_app_and_those_below():
    wrong = []
    for app, allowed in TEMPLATE_MAY_NAME.items():
        for path in (ROOT / "templates" / app).rglob("*"):
            if path.is_file():
                for match in URL_TAG.finditer(path.read_text()):
                    if match["namespace"] not in allowed:
                        wrong.append(f"{path.relative_to(ROOT)} names {match['namespace'] or ''}:{match['name']}")
    assert wrong == []


def test_the_checks_see_what_they_check():
    """Guards against a check that passes because it found nothing."""
    graph = _graph()
    assert "claims.services.review" in graph and "core.locks" in graph["claims.services.handoff"]
    assert any(URL_TAG.search(path.read_text()) for path in (ROOT / "templates" / "claims").rglob("*.html"))


def test_a_package_imported_from_an_upper_layer_is_reported():
    """The layer rule itself: a made-up edge from audit to claims would be refused."""
    assert "claims" not in MAY_IMPORT["audit"] and "reserves" not in MAY_IMPORT["core"]
    assert all("benchmarks" not in allowed and "demo" not in allowed for allowed in MAY_IMPORT.values())
    layers = defaultdict(set)
    for source, allowed in MAY_IMPORT.items():
        layers[source] = allowed
    assert not any(source in MAY_IMPORT[target] for source, allowed in layers.items() for target in allowed)
