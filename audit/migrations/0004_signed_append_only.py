"""PostgreSQL refuses UPDATE and DELETE on checkpoints, receipts and signing keys, like on events."""

from django.db import migrations

TABLES = ("audit_checkpoint", "audit_receipt", "audit_signingkey")

FORWARD = "\n".join(
    f"""
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
"""
    for table in TABLES
)
# The function from 0002 names audit_event in its message; give it the table it fired on.
FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;
"""
BACKWARD = "\n".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};" for table in TABLES)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION + FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_signing")]
    operations = [migrations.RunPython(forward, backward)]
