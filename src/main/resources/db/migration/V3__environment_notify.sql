-- Every change to an environment or its signing keys is announced on channel rlg_environment_changed with the
-- environment id, so that every replica's in-memory EnvironmentCache refreshes that environment at once
-- (NOTIFY is delivered on commit; a replica that missed it catches up at its periodic full refresh).
CREATE FUNCTION rlg_notify_environment_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- one statement per table: plpgsql plans each statement against the row type of the firing table
    IF TG_TABLE_NAME = 'environment' THEN
        PERFORM pg_notify('rlg_environment_changed', COALESCE(NEW.id, OLD.id));
    ELSE
        PERFORM pg_notify('rlg_environment_changed', COALESCE(NEW.environment_id, OLD.environment_id));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER environment_changed AFTER INSERT OR UPDATE OR DELETE ON environment
    FOR EACH ROW EXECUTE FUNCTION rlg_notify_environment_changed();
CREATE TRIGGER signing_key_changed AFTER INSERT OR UPDATE OR DELETE ON signing_key
    FOR EACH ROW EXECUTE FUNCTION rlg_notify_environment_changed();
