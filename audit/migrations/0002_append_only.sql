CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on audit_event is refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();

CREATE OR REPLACE FUNCTION audit_chainhead_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head cannot be deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'the audit chain head cannot move back from % to %', OLD.seq, NEW.seq
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.seq > 0 AND NOT EXISTS (SELECT 1 FROM audit_event WHERE seq = NEW.seq AND hash = NEW.hash) THEN
        RAISE EXCEPTION 'the audit chain head must name an existing event' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_chainhead_guard
    BEFORE UPDATE OR DELETE ON audit_chainhead
    FOR EACH ROW EXECUTE FUNCTION audit_chainhead_guard();
