"""The exchange core reference server (reference_servers/exchange_core.py) as a real process on a real port."""

import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from reserves.rails.exchange_account import CoreClient

SECRET = "test-core-secret"
KEY_ID = "claims"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CoreServer:
    process: subprocess.Popen
    url: str
    state: Path

    def client(self, timeout: float = 5.0) -> CoreClient:
        return CoreClient(base_url=self.url, key_id=KEY_ID, secret=SECRET, timeout=timeout)

    def faults(self, **changes) -> dict:
        reply = self.client().request("POST", "/_admin/faults", changes)
        assert reply.status == 200, reply
        return reply.body

    def credits(self) -> list[dict]:
        """Read the core's own books (its SQLite file), not through our client."""
        with sqlite3.connect(self.state) as db:
            rows = db.execute("SELECT idempotency_key, credit_id, account_id, amount_jpy FROM credits").fetchall()
        return [dict(zip(("key", "credit_id", "account_id", "amount_jpy"), row, strict=True)) for row in rows]

    def settings_env(self, timeout: float) -> dict[str, str]:
        return {
            "EXCHANGE_CORE_URL": self.url,
            "EXCHANGE_CORE_KEY_ID": KEY_ID,
            "EXCHANGE_CORE_SECRET": SECRET,
            "EXCHANGE_CORE_TIMEOUT_SECONDS": str(timeout),
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def core_server_start(tmp_path: Path, **faults) -> CoreServer:
    state = tmp_path / "core.sqlite3"
    args = [sys.executable, "-m", "reference_servers.exchange_core", "--port", "0", "--secret", SECRET]
    args += ["--state", str(state), "--seed", "7"]
    for name, value in faults.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise RuntimeError(f"the reference server did not start: {line} {process.stderr.read()}")
    url = line.strip().rpartition(" ")[2]
    server = CoreServer(process=process, url=url, state=state)
    for _ in range(50):
        if server.client(timeout=1).health().status == 200:
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("the reference server does not answer /v1/health")
