"""The JavaScript verifier the /verify/ page serves passes the committed test vectors under Node."""

import shutil
import subprocess
from pathlib import Path

from django.conf import settings


def test_javascript_verifier_passes_the_vectors_under_node():
    node = shutil.which("node")
    assert node, "Node.js is needed: the JavaScript verifier is tested under it"
    done = subprocess.run(
        [node, "--test", str(Path("tests") / "audit" / "js")],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "# pass 7" in done.stdout and "# fail 0" in done.stdout
