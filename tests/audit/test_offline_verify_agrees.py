"""The scripts strangers run stand alone: the standard library, `cryptography` and tlog.py beside them.

The server and the scripts share one implementation of the rules (audit/tlog.py),
so what is checked here is that nothing of the project slips into them.
"""

import ast
import sys
from pathlib import Path

import pytest
from django.conf import settings

AUDIT = Path(settings.BASE_DIR) / "audit"


def _imports(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
            if node.module == "audit":
                assert [alias.name for alias in node.names] == ["tlog"], path
    return roots - set(sys.stdlib_module_names) - {"__future__"}


def test_tlog_imports_only_the_standard_library_and_cryptography():
    assert _imports(AUDIT / "tlog.py") == {"cryptography"}


@pytest.mark.parametrize("script", ["offline_verify.py", "witness.py"])
def test_scripts_import_only_tlog_beside_them(script):
    # `from audit import tlog` only when imported as part of the project (tests); run as a script, `import tlog`.
    assert _imports(AUDIT / script) <= {"cryptography", "tlog", "audit"}
