-- 0001: tenants and their API keys, the tenant ledger (append-only entries + holds), idempotency
-- keys and the audit log. Money is bigint sun everywhere.

CREATE TABLE tenants (
  id           bigserial PRIMARY KEY,
  name         text NOT NULL CHECK (name <> ''),
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- Running totals of this tenant's ledger_entries, written in the same transaction as each entry
  -- while the row is locked (SELECT ... FOR UPDATE serializes a tenant's ledger writes). The view
  -- ledger_balances_derived recomputes them from the entries; the two must always agree.
  balance_sun  bigint NOT NULL DEFAULT 0,
  reserved_sun bigint NOT NULL DEFAULT 0,
  CONSTRAINT tenants_never_overdrawn CHECK (reserved_sun >= 0 AND balance_sun >= reserved_sun)
);

CREATE TABLE api_keys (
  id          bigserial PRIMARY KEY,
  tenant_id   bigint NOT NULL REFERENCES tenants (id),
  prefix      text NOT NULL CHECK (prefix <> ''),
  secret_hash bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),  -- SHA-256 of the secret
  scopes      text[] NOT NULL CHECK (cardinality(scopes) > 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz,
  revoked_at  timestamptz
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id DESC);

CREATE TABLE holds (
  id         bigserial PRIMARY KEY,
  tenant_id  bigint NOT NULL REFERENCES tenants (id),
  amount     bigint NOT NULL CHECK (amount > 0),
  captured   bigint NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= amount),
  state      text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'captured', 'released')),
  reference  text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz,
  CHECK ((state = 'open') = (settled_at IS NULL)),
  CHECK (state = 'captured' OR captured = 0)
);
CREATE INDEX holds_open_by_tenant ON holds (tenant_id) WHERE state = 'open';

-- balance  = credit + refund − debit − capture
-- reserved = hold − release − capture        (a capture of C from a hold of A writes capture C and
--                                             release A − C, so a settled hold nets to zero)
CREATE TABLE ledger_entries (
  id         bigserial PRIMARY KEY,
  tenant_id  bigint NOT NULL REFERENCES tenants (id),
  kind       text NOT NULL CHECK (kind IN ('credit', 'debit', 'hold', 'release', 'capture', 'refund')),
  amount     bigint NOT NULL CHECK (amount > 0),
  hold_id    bigint REFERENCES holds (id),
  reference  text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind IN ('hold', 'release', 'capture')) = (hold_id IS NOT NULL))
);
CREATE INDEX ledger_entries_by_tenant ON ledger_entries (tenant_id, id DESC);
CREATE INDEX ledger_entries_by_hold ON ledger_entries (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE idempotency_keys (
  tenant_id       bigint NOT NULL REFERENCES tenants (id),
  key             text NOT NULL CHECK (key <> '' AND length(key) <= 255),
  request_hash    text NOT NULL,
  status          text NOT NULL DEFAULT 'in_progress' CHECK (status IN ('in_progress', 'completed')),
  response_status integer,
  response_body   text,
  created_at      timestamptz NOT NULL,
  completed_at    timestamptz,
  PRIMARY KEY (tenant_id, key),
  CHECK ((status = 'completed') = (response_status IS NOT NULL AND completed_at IS NOT NULL))
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- tenant_id has no foreign key on purpose: a refused action on an unknown tenant is recorded too.
CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  tenant_id  bigint,
  actor      text NOT NULL CHECK (actor <> ''),
  action     text NOT NULL CHECK (action <> ''),
  details    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, id DESC);

-- Append-only tables: history is corrected by new rows (a refund, a release), never rewritten.
CREATE FUNCTION relay_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION relay_refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION relay_refuse_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION relay_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION relay_refuse_change();

-- A hold moves once, from open to captured or released; its amount and owner never change.
CREATE FUNCTION relay_hold_settles_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state <> 'open' OR NEW.amount <> OLD.amount OR NEW.tenant_id <> OLD.tenant_id
     OR NEW.created_at <> OLD.created_at OR NEW.reference <> OLD.reference THEN
    RAISE EXCEPTION 'hold % is settled or immutable: update refused', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER holds_settle_once BEFORE UPDATE ON holds
  FOR EACH ROW EXECUTE FUNCTION relay_hold_settles_once();
CREATE TRIGGER holds_no_delete BEFORE DELETE ON holds
  FOR EACH ROW EXECUTE FUNCTION relay_refuse_change();

-- The balances as the entries alone define them; reconciliation and tests compare this with the
-- running totals on tenants.
CREATE VIEW ledger_balances_derived AS
SELECT t.id AS tenant_id,
       (coalesce(sum(e.amount) FILTER (WHERE e.kind IN ('credit', 'refund')), 0)
        - coalesce(sum(e.amount) FILTER (WHERE e.kind IN ('debit', 'capture')), 0))::bigint
         AS balance_sun,
       (coalesce(sum(e.amount) FILTER (WHERE e.kind = 'hold'), 0)
        - coalesce(sum(e.amount) FILTER (WHERE e.kind IN ('release', 'capture')), 0))::bigint
         AS reserved_sun
FROM tenants t
LEFT JOIN ledger_entries e ON e.tenant_id = t.id
GROUP BY t.id;
