DROP TRIGGER IF EXISTS reserves_sandboxtransfer_append_only ON reserves_sandboxtransfer;
DROP TRIGGER IF EXISTS reserves_allocation_append_only ON reserves_allocation;
DROP TRIGGER IF EXISTS reserves_transfer_append_only ON reserves_transfer;
DROP FUNCTION IF EXISTS reserves_refuse_change();
