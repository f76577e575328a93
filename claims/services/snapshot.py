"""Importing an incident's balance snapshot (CSV), all or nothing.

The file is read once to hash it and once to validate and stage it, as a
stream: rows go to a temporary staging table (COPY on PostgreSQL), checks
that need the whole file (duplicates, one name and email per account) run as
SQL there, and the final inserts are INSERT ... SELECT. Python memory does
not grow with the file.

One module over 400 lines on purpose: reading, staging, the whole-file checks
and the inserts share the staging table and its SQL, and each step only makes
sense beside the others.
"""

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor, event_record
from claims.models import Customer, Holding, Incident, Snapshot
from core.errors import ApplicationError, Conflict
from core.locks import locked
from core.types import User

COLUMNS = ("account_id", "name", "email", "asset", "quantity")
STAGE_TABLE = "claims_snapshot_stage"
_CHUNK = 1 << 20
_QUANTITY = re.compile(r"\d{1,20}(?:\.\d{1,18})?")
_QUANTITY_TOO_PRECISE = re.compile(r"\d+\.\d{19,}")
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9._:@-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The WHATWG "valid e-mail address" (what browsers accept in <input type=email>), ASCII only.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)

Progress = Callable[[int], None]


class SnapshotRejected(ApplicationError):
    """The file has bad rows; nothing was written. `errors` lists (line, reason)."""

    status = 400

    def __init__(self, errors: list[dict[str, Any]], error_count: int) -> None:
        shown = "; ".join(f"line {e['line']}: {e['reason']}" for e in errors[:5])
        more = f" (and {error_count - 5} more)" if error_count > 5 else ""
        super().__init__(
            "snapshot_rejected",
            f"The snapshot was rejected with {error_count} error(s): {shown}{more}. Nothing was imported.",
            extra={"errors": errors, "error_count": error_count},
        )
        self.errors = errors
        self.error_count = error_count


@dataclass(frozen=True)
class SnapshotImportResult:
    snapshot: Snapshot
    created: bool


class _ErrorReport:
    """Keeps the first `limit` errors and counts them all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[dict[str, Any]] = []
        self.count = 0

    def add(self, line: int, reason: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append({"line": line, "reason": reason})

    def __bool__(self) -> bool:
        return self.count > 0


class _ProgressReader(io.RawIOBase):
    """A raw binary reader that reports bytes read, so a text layer can sit on top."""

    def __init__(self, source: BinaryIO, progress: Progress | None) -> None:
        self.source = source
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        if self.progress and size:
            self.progress(size)
        return size


def file_sha256(file: BinaryIO) -> str:
    """SHA-256 of a binary file, read in chunks; leaves the file at its start."""
    file.seek(0)
    digest = hashlib.sha256()
    while chunk := file.read(_CHUNK):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


class SnapshotRow(NamedTuple):
    line: int
    account_id: str
    name: str
    email: str
    asset_id: int
    quantity: str


def snapshot_rows(
    file: BinaryIO, *, assets: dict[str, int], errors: _ErrorReport, progress: Progress | None = None
) -> Iterator[SnapshotRow]:
    """Parse and check each row on its own; yield the good ones, report the bad ones.

    Checks that need the whole file (duplicates, consistent accounts) are not done here.
    This loop is the import's hot path (a million rows): keep it lean.
    """
    text = io.TextIOWrapper(io.BufferedReader(_ProgressReader(file, progress), _CHUNK), "utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = [column.strip().lower() for column in next(reader, [])]
        problem = _header_problem(header)
        if problem:
            errors.add(1, problem)
            return
        order = [header.index(c) for c in COLUMNS]
        canonical = order == list(range(len(COLUMNS)))
        width = len(header)
        quantity_ok, account_ok, email_ok, control = (
            _QUANTITY.fullmatch,
            _ACCOUNT_ID.fullmatch,
            _EMAIL.fullmatch,
            _CONTROL.search,
        )
        last_good_email = ""
        for row in reader:
            if len(row) != width:
                if row:
                    errors.add(reader.line_num, f"expected {width} fields, found {len(row)}")
                continue
            if not canonical:
                row = [row[i] for i in order]
            account_id, name, email, symbol, quantity = row
            account_id, name, email = account_id.strip(), name.strip(), email.strip()
            symbol, quantity = symbol.strip(), quantity.strip()
            if (
                account_ok(account_id)
                and name
                and len(name) <= 200
                and not control(name)
                and (email == last_good_email or email_ok(email))
                and symbol in assets
                and quantity_ok(quantity)
            ):
                last_good_email = email
                yield SnapshotRow(reader.line_num, account_id, name, email, assets[symbol], quantity)
            else:
                _report_row(errors, reader.line_num, account_id, name, email, symbol, quantity, assets)
    except UnicodeDecodeError:
        errors.add(reader.line_num + 1, "the file is not UTF-8 text")
    except csv.Error as exc:
        errors.add(reader.line_num, f"malformed CSV: {exc}")


def _header_problem(header: list[str]) -> str:
    parts = []
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        parts.append(f"unknown column(s) {', '.join(unknown)}")
    if len(set(header)) != len(header):
        parts.append("a column is repeated")
    return f"header must be {','.join(COLUMNS)}: " + "; ".join(parts) if parts else ""


def _report_row(
    errors: _ErrorReport,
    line: int,
    account_id: str,
    name: str,
    email: str,
    symbol: str,
    quantity: str,
    assets: dict[str, int],
) -> None:
    """Say every reason a row failed (the slow path, only for bad rows)."""
    if not _ACCOUNT_ID.fullmatch(account_id):
        errors.add(line, f"account_id {account_id!r} is missing or not 1-64 letters, digits or ._:@-")
    if not name or len(name) > 200 or _CONTROL.search(name):
        errors.add(line, "name is missing, longer than 200 characters or has control characters")
    if not _EMAIL.fullmatch(email):
        errors.add(line, f"malformed email {email!r}")
    if symbol not in assets:
        errors.add(line, f"unknown asset {symbol!r} (this incident has {', '.join(sorted(assets))})")
    if not _QUANTITY.fullmatch(quantity):
        if quantity.startswith("-"):
            errors.add(line, f"negative quantity {quantity!r}")
        elif _QUANTITY_TOO_PRECISE.fullmatch(quantity):
            errors.add(line, f"quantity {quantity!r} has more than 18 decimal places")
        else:
            errors.add(line, f"quantity {quantity!r} is not a plain decimal number (up to 20 digits, 18 places)")


class _Stage:
    """The staging table, filled with COPY on PostgreSQL and executemany elsewhere."""

    columns = "line, account_id, name, email, asset_id, quantity"

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.postgres = connection.vendor == "postgresql"

    def create(self) -> None:
        quantity_type = "numeric(38,18)" if self.postgres else "text"
        on_commit = "ON COMMIT DROP" if self.postgres else ""
        # A caller's outer transaction (tests) may still hold one from an earlier import.
        self.cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        self.cursor.execute(
            f"CREATE TEMP TABLE {STAGE_TABLE} (line integer NOT NULL, account_id text NOT NULL, "
            f"name text NOT NULL, email text NOT NULL, asset_id bigint NOT NULL, "
            f"quantity {quantity_type} NOT NULL) {on_commit}"
        )

    def fill(self, rows: Iterator[SnapshotRow]) -> None:
        if self.postgres:
            self._fill_copy(rows)
        else:
            self._fill_insert(rows)
        if self.postgres:
            self.cursor.execute(f"ANALYZE {STAGE_TABLE}")
        else:  # SQLite has no hash joins
            self.cursor.execute(f"CREATE INDEX {STAGE_TABLE}_account ON {STAGE_TABLE} (account_id, asset_id)")
            self.cursor.execute(f"CREATE INDEX {STAGE_TABLE}_line ON {STAGE_TABLE} (line)")

    def _fill_copy(self, rows: Iterator[SnapshotRow]) -> None:
        raw = self.cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {STAGE_TABLE} ({self.columns}) FROM STDIN") as copy:
            buffer: list[str] = []
            for r in rows:
                # Control characters were refused; only backslash needs COPY escaping.
                name = r.name.replace("\\", "\\\\")
                email = r.email.replace("\\", "\\\\")
                buffer.append(f"{r.line}\t{r.account_id}\t{name}\t{email}\t{r.asset_id}\t{r.quantity}\n")
                if len(buffer) >= 20000:
                    copy.write("".join(buffer))
                    buffer.clear()
            if buffer:
                copy.write("".join(buffer))

    def _fill_insert(self, rows: Iterator[SnapshotRow]) -> None:
        sql = f"INSERT INTO {STAGE_TABLE} ({self.columns}) VALUES (%s, %s, %s, %s, %s, %s)"
        batch: list[tuple] = []
        for r in rows:
            batch.append((r.line, r.account_id, r.name, r.email, r.asset_id, r.quantity))
            if len(batch) >= 5000:
                self.cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            self.cursor.executemany(sql, batch)

    def drop(self) -> None:
        if not self.postgres:  # PostgreSQL drops them at commit
            self.cursor.execute(f"DROP TABLE IF EXISTS temp.{STAGE_TABLE}")
            self.cursor.execute(f"DROP TABLE IF EXISTS temp.{ACCOUNTS_TABLE}")


ACCOUNTS_TABLE = "claims_snapshot_accounts"


def _accounts_build(cursor: Any, *, postgres: bool) -> None:
    """One row per account: its first line, and whether its name or email differ between lines."""
    collate = 'COLLATE "C"' if postgres else ""
    on_commit = "ON COMMIT DROP" if postgres else ""
    cursor.execute(f"DROP TABLE IF EXISTS {ACCOUNTS_TABLE}")
    cursor.execute(
        f"CREATE TEMP TABLE {ACCOUNTS_TABLE} {on_commit} AS "
        f"SELECT account_id, MIN(line) AS first_line, "
        f"(MIN(name {collate}) <> MAX(name {collate}) OR MIN(email {collate}) <> MAX(email {collate})) AS mixed "
        f"FROM {STAGE_TABLE} GROUP BY account_id"
    )


def _report_mixed_accounts(cursor: Any, errors: _ErrorReport) -> None:
    """Each line whose name or email differs from the account's first line."""
    cursor.execute(f"SELECT 1 FROM {ACCOUNTS_TABLE} WHERE mixed LIMIT 1")
    if cursor.fetchone() is None:
        return
    cursor.execute(
        f"SELECT s.line, s.account_id, a.first_line FROM {ACCOUNTS_TABLE} a "
        f"JOIN {STAGE_TABLE} f ON f.line = a.first_line "
        f"JOIN {STAGE_TABLE} s ON s.account_id = a.account_id "
        f"WHERE a.mixed AND s.line <> a.first_line AND (s.name <> f.name OR s.email <> f.email) ORDER BY s.line"
    )
    for line, account_id, first_line in cursor.fetchall():
        errors.add(line, f"account {account_id} has a different name or email than on line {first_line}")


def _report_duplicates(cursor: Any, errors: _ErrorReport, symbols: dict[int, str]) -> None:
    """Each line that repeats an (account, asset) pair seen on an earlier line."""
    cursor.execute(
        f"SELECT s.line, s.account_id, s.asset_id, d.first_line FROM {STAGE_TABLE} s "
        f"JOIN (SELECT account_id, asset_id, MIN(line) AS first_line FROM {STAGE_TABLE} "
        f"GROUP BY account_id, asset_id HAVING COUNT(*) > 1) d "
        f"ON d.account_id = s.account_id AND d.asset_id = s.asset_id "
        f"WHERE s.line > d.first_line ORDER BY s.line"
    )
    for line, account_id, asset_id, first_line in cursor.fetchall():
        errors.add(line, f"duplicate account {account_id} and asset {symbols[asset_id]} (first on line {first_line})")


def _insert_customers(cursor: Any, now: Any) -> int:
    """Insert the accounts not yet known (existing customers are kept as they are); return how many."""
    cursor.execute(
        f"INSERT INTO {Customer._meta.db_table} (account_id, name, email, language, created_at) "
        f"SELECT s.account_id, s.name, s.email, 'ja', %s FROM {ACCOUNTS_TABLE} a "
        f"JOIN {STAGE_TABLE} s ON s.line = a.first_line WHERE true "
        f"ON CONFLICT (account_id) DO NOTHING",
        [now],
    )
    return cursor.rowcount


def _insert_holdings(cursor: Any) -> int:
    """Insert every staged row; a repeated (account, asset) breaks the unique index (IntegrityError)."""
    cursor.execute(
        f"INSERT INTO {Holding._meta.db_table} (asset_id, customer_id, quantity) "
        f"SELECT s.asset_id, c.id, s.quantity FROM {STAGE_TABLE} s "
        f"JOIN {Customer._meta.db_table} c ON c.account_id = s.account_id"
    )
    return cursor.rowcount


@transaction.atomic(durable=True)
def snapshot_import(
    *, actor: User | Actor, incident: Incident, file: BinaryIO, file_name: str, progress: Progress | None = None
) -> SnapshotImportResult:
    """Import an incident's balance snapshot from CSV (account_id,name,email,asset,quantity).

    All or nothing: any bad row raises SnapshotRejected listing line numbers and
    reasons, and nothing is written. The same file again (same SHA-256) returns
    the existing snapshot with created=False; a different file for an incident
    that has one is a Conflict. Only a draft incident takes a new snapshot.
    `progress` is called with the number of bytes read as validation advances.
    """
    sha256 = file_sha256(file)
    incident = locked(Incident.objects).get(pk=incident.pk)
    existing = _snapshot_existing(incident=incident, sha256=sha256)
    if existing is not None:
        return SnapshotImportResult(existing, created=False)
    now = timezone.now()
    counts = _rows_load(incident=incident, file=file, progress=progress, now=now)
    who = Actor.of(actor)
    snapshot = Snapshot.objects.create(
        incident=incident,
        sha256=sha256,
        file_name=file_name[:255],
        row_count=counts.rows,
        customer_count=counts.customers,
        imported_at=now,
        imported_by=who.name,
    )
    event_record(
        actor=who,
        action="snapshot.imported",
        subject=incident,
        data={
            "after": {
                "sha256": sha256,
                "file_name": snapshot.file_name,
                "rows": counts.rows,
                "customers": counts.customers,
            },
            "new_customers": counts.new_customers,
        },
    )
    return SnapshotImportResult(snapshot, created=True)


def _snapshot_existing(*, incident: Incident, sha256: str) -> Snapshot | None:
    """The incident's snapshot if it is this same file; refuses another file, or an incident past draft."""
    existing = Snapshot.objects.filter(incident=incident).first()
    if existing is not None:
        if existing.sha256 == sha256:
            return existing
        raise Conflict(
            "snapshot_exists",
            _("Incident %(code)s already has a snapshot (SHA-256 %(sha)s); a different file is refused.")
            % {"code": incident.code, "sha": existing.sha256},
        )
    if incident.status != Incident.Status.DRAFT:
        raise ApplicationError(
            "incident_not_draft", _("A snapshot can only be imported while the incident is a draft.")
        )
    return None


class _Loaded(NamedTuple):
    rows: int
    customers: int
    new_customers: int


def _rows_load(*, incident: Incident, file: BinaryIO, progress: Progress | None, now: dt.datetime) -> _Loaded:
    """Stage and check every row, then insert the new customers and every holding (SnapshotRejected if any is bad)."""
    assets = dict(incident.assets.values_list("symbol", "id"))
    if not assets:
        raise ApplicationError(
            "incident_has_no_assets", _("Declare the incident's assets before importing a snapshot.")
        )
    errors = _ErrorReport(settings.SNAPSHOT_MAX_REPORTED_ERRORS)
    symbols = {asset_id: symbol for symbol, asset_id in assets.items()}
    with connection.cursor() as cursor:
        stage = _Stage(cursor)
        if stage.postgres:
            cursor.execute("SET LOCAL work_mem = '256MB'")  # hash aggregates over a million rows stay in memory
        stage.create()
        try:
            stage.fill(snapshot_rows(file, assets=assets, errors=errors, progress=progress))
            _accounts_build(cursor, postgres=stage.postgres)
            _report_mixed_accounts(cursor, errors)
            if errors:
                _report_duplicates(cursor, errors, symbols)
                raise SnapshotRejected(sorted(errors.items, key=lambda e: e["line"]), errors.count)
            new_customers = _insert_customers(cursor, now)
            try:
                # Duplicates are rare: let the unique index find them, and only then list them.
                with transaction.atomic():
                    rows = _insert_holdings(cursor)
            except IntegrityError:
                _report_duplicates(cursor, errors, symbols)
                if not errors:
                    raise
                raise SnapshotRejected(sorted(errors.items, key=lambda e: e["line"]), errors.count) from None
            cursor.execute(f"SELECT COUNT(*) FROM {ACCOUNTS_TABLE}")
            customers = cursor.fetchone()[0]
        finally:
            stage.drop()
    if rows == 0:
        raise SnapshotRejected([{"line": 1, "reason": "the file has no data rows"}], 1)
    return _Loaded(rows, customers, new_customers)
