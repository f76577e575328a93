"""The demo's logins and URL in a box: what `make run` prints last, once the server answers."""

from demo.claims import DemoLogin

NOTES_AFTER = [
    "Approvers and the admin enrol a TOTP app at their first login (QR code);",
    "on this machine `.venv/bin/python manage.py totp_code approver` prints the current code.",
    "Try: approve the recommended claim of ACC-00003 (approver, then approver2), build a bulk batch at",
    "/staff/claims/batches/ (reviewer or approver) and approve it as the other approver,",
    "file a fresh claim as emma@example.com (English), read /regulator/ as the regulator.",
]


def logins_box(logins: list[DemoLogin], url: str, *, mail_dir: str = "") -> str:
    """The logins as a framed table, the URL on top; plain ASCII so every terminal draws it."""
    base = url.rstrip("/")
    rows = [f"Open {base}/login/", ""]
    rows.append(f"{'role':<10} {'username':<18} {'password':<21} note")
    rows += [f"{login.role:<10} {login.username:<18} {login.password:<21} {login.note}" for login in logins]
    rows += ["", *NOTES_AFTER]
    if mail_dir:
        rows.append(f"E-mails (invitations, activation and reset links) are files in {mail_dir}/.")
    width = max(len(row) for row in rows)
    line = "+" + "-" * (width + 2) + "+"
    title = " Demo ready "
    top = "+" + title.center(width + 2, "=") + "+"
    return "\n".join([top, *(f"| {row:<{width}} |" for row in rows), line])
