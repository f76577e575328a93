"""Scale-out without hidden local state: two web processes and a worker, each in a directory of its own.

Each process has its own working directory and its own VAR_DIR; they share only what production machines share:
PostgreSQL, Redis and the file store (STORAGES["default"], here a directory standing in for a mount or a bucket).
A customer uploads evidence through web A and downloads it through web B; the worker writes a Zengin file and
web B checks the bank's result against it. Nothing is found under any process's own directories.
"""

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from accounts.tokens import token_issue
from benchmarks.workers import worker_processes
from claims.models import Customer
from core.roles import Role
from reserves.models import Payout, ZenginFile
from tests.support.factories import PDF_BYTES, claim_file, customer_user, incident_with_snapshot, user_with_role
from tests.support.login import otp_device
from tests.support.money import fund_open, register, reserve_fund
from tests.support.results import bank_result_csv
from tests.support.workers import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free port of 8160-8169 (this suite's range on a shared machine), else any free one."""
    for port in [*range(8160, 8170), 0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free port")


class Web:
    """`manage.py runserver` (the WSGI application, no reloader) started from `directory`."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="web-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=directory,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, Path(self.log.name).read_text()[-3000:]
            try:
                if urllib.request.urlopen(self.url + "/healthz", timeout=1).status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError(Path(self.log.name).read_text()[-3000:])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        Path(self.log.name).unlink(missing_ok=True)

    def call(self, method: str, path: str, token: str, body: bytes | None = None, content_type: str = ""):
        headers = {"Authorization": f"Token {token}"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def multipart(fields: dict[str, str], files: list[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, file_name, content_type, content in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def test_any_web_process_serves_what_another_process_stored(worker_env_for, tmp_path, settings):
    store = tmp_path / "shared-store"  # the mount or the bucket every machine shares
    machines = {name: tmp_path / name for name in ("web-a", "web-b", "worker")}
    for directory in machines.values():
        directory.mkdir()
    env = worker_env_for(
        PRIVATE_STORAGE_DIR=str(store),
        PAYOUT_BANK_RAIL="zengin",
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        LOG_LEVEL="WARNING",
    )

    def machine_env(name: str) -> dict[str, str]:
        return {**env, "VAR_DIR": str(machines[name] / "var")}

    incident = incident_with_snapshot()
    customer = Customer.objects.get(account_id="ACC-1")
    claim = claim_file(customer, incident)
    customer_token = Token.objects.create(user=customer_user(customer)).key
    approver = user_with_role(Role.APPROVER)
    approver_token = token_issue(user=approver, device=otp_device(approver)).key  # staff tokens carry a second factor

    web_a = Web(machines["web-a"], machine_env("web-a"))
    web_b = Web(machines["web-b"], machine_env("web-b"))
    try:
        with worker_processes(env=machine_env("worker"), count=1, cwd=machines["worker"]):
            # Evidence: uploaded through web A, served by web B.
            body, content_type = multipart({}, [("files", "statement.pdf", "application/pdf", PDF_BYTES)])
            status, answer = web_a.call(
                "POST", f"/api/claims/{claim.ref}/evidence/", customer_token, body, content_type
            )
            assert status == 201, answer
            [evidence] = json.loads(answer)
            status, content = web_b.call("GET", f"/api/claims/{claim.ref}/evidence/{evidence['id']}/", customer_token)
            assert (status, content) == (200, PDF_BYTES)

            # A bank file: written by the worker, checked by web B when the bank's result comes back.
            reserve_fund(10_000_000)
            fund = fund_open()
            register(fund, {"C-1": 100_000, "C-2": 250_000})
            wait_until(
                lambda: Payout.objects.filter(status="submitted").count() == 2, timeout=90, what="the Zengin file"
            )
            zfile = ZenginFile.objects.get()
            sent = (store / "zengin" / zfile.name).read_bytes()
            rows = [
                (int(p.rail_reference.rpartition("#")[2]), p.pk, p.amount_jpy, "paid", "", "")
                for p in Payout.objects.all()
            ]
            result, content_type = multipart(
                {"format": "bank-result-csv/1"},
                [("file", "result.csv", "text/csv", bank_result_csv(file_name=zfile.name, sent=sent, rows=rows))],
            )
            status, answer = web_b.call("POST", "/api/staff/rails/results/", approver_token, result, content_type)
            assert status == 201, answer
            assert json.loads(answer)["status"] == "applied"
            assert set(Payout.objects.values_list("status", flat=True)) == {"paid"}
    finally:
        web_a.stop()
        web_b.stop()

    stored = files_under(store)
    assert f"zengin/{zfile.name}" in stored
    assert any(name.startswith(f"evidence/{claim.pk}/") for name in stored)
    for name, directory in machines.items():  # nothing a process wrote stayed on its own machine
        assert not [f for f in files_under(directory) if "evidence" in f or "zengin" in f], name
