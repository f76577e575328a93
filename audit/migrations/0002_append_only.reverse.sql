DROP TRIGGER IF EXISTS audit_chainhead_guard ON audit_chainhead;
DROP FUNCTION IF EXISTS audit_chainhead_guard();
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event;
DROP FUNCTION IF EXISTS audit_event_refuse_change();
