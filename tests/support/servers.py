"""Private Redis and PostgreSQL servers that a test may stop and start (never the machine's shared ones).

Each runs from a temporary directory on a port of its own, and is torn down by the fixture that made it.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick), so parallel runs on one machine do not collide."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port: int, *, up: bool, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not go {'up' if up else 'down'} within {timeout} s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class PrivateRedis:
    """`redis-server` on `port`, no persistence: stop() loses what it held, as a crash would."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, up=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        _wait_port(self.port, up=False)


class PrivatePostgres:
    """A PostgreSQL cluster made with `initdb` in `directory`, run with `pg_ctl` on `port` (trust auth, local)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.data, self.port = directory / "data", port
        self.log = directory / "postgres.log"
        self.pid: int | None = None
        self.user = "postgres"
        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        self.env = env
        owner = self._as_postgres()
        if owner:  # as root: the cluster belongs to the postgres user, who must reach its directory
            directory.mkdir(parents=True, exist_ok=True)
            for parent in [directory, *directory.parents]:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)  # traverse only, not list
            os.chown(directory, owner["user"], owner["group"])
        subprocess.run(
            ["initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            env=env,
            **self._as_postgres(),
        )

    @staticmethod
    def _as_postgres() -> dict:
        """PostgreSQL refuses to run as root: run its tools as the `postgres` system user then."""
        if os.geteuid() != 0:
            return {}
        import pwd

        user = pwd.getpwnam("postgres")
        return {"user": user.pw_uid, "group": user.pw_gid}

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            ["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"],
            check=True,
            capture_output=True,
            env=self.env,
            **self._as_postgres(),
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        """A fast shutdown: every open connection is cut, as in a crash or a failover."""
        subprocess.run(
            ["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            env=self.env,
            **self._as_postgres(),
        )
        if self.pid and _alive(self.pid):  # its directory went away under it: stop the postmaster itself
            os.kill(self.pid, signal.SIGINT)
        _wait_port(self.port, up=False)

    def restart(self) -> None:
        self.stop()
        self.start()
