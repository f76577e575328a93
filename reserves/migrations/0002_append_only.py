"""PostgreSQL refuses UPDATE and DELETE of ledger transfers and allocation rounds (they are history).

Also leaves free space in payout and entitlement pages so their updates stay HOT.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION reserves_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER reserves_transfer_append_only
    BEFORE UPDATE OR DELETE ON reserves_transfer
    FOR EACH ROW EXECUTE FUNCTION reserves_refuse_change();

CREATE TRIGGER reserves_allocation_append_only
    BEFORE UPDATE OR DELETE ON reserves_allocation
    FOR EACH ROW EXECUTE FUNCTION reserves_refuse_change();

-- Room on each page for the updates a payout and an entitlement go through, so they stay HOT.
ALTER TABLE reserves_payout SET (fillfactor = 70);
ALTER TABLE reserves_entitlement SET (fillfactor = 70);

CREATE TRIGGER reserves_sandboxtransfer_append_only
    BEFORE UPDATE OR DELETE ON reserves_sandboxtransfer
    FOR EACH ROW EXECUTE FUNCTION reserves_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS reserves_sandboxtransfer_append_only ON reserves_sandboxtransfer;
DROP TRIGGER IF EXISTS reserves_allocation_append_only ON reserves_allocation;
DROP TRIGGER IF EXISTS reserves_transfer_append_only ON reserves_transfer;
DROP FUNCTION IF EXISTS reserves_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("reserves", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
