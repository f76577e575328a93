DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint;
DROP TRIGGER IF EXISTS audit_receipt_append_only ON audit_receipt;
DROP TRIGGER IF EXISTS audit_signingkey_append_only ON audit_signingkey;
