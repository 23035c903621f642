-- 0005: quotes, priced offers of energy (POST /v1/quote) that a lease takes once, at exactly the
-- quoted terms. A quote is written once and never changed except to be taken (used_at, used_by),
-- and only before it expires; unused expired quotes may be swept, taken ones are kept for their
-- leases.

CREATE TABLE quotes (
  -- "q_" + 16 hex: public, random, unguessable across tenants.
  id                        text PRIMARY KEY CHECK (id ~ '^q_[0-9a-f]{16}$'),
  tenant_id                 bigint NOT NULL REFERENCES tenants (id),
  -- 21 bytes as the chain stores them: 0x41 ‖ 20-byte account id.
  receiver                  bytea NOT NULL CHECK (length(receiver) = 21 AND get_byte(receiver, 0) = 65),
  energy                    bigint NOT NULL CHECK (energy > 0),
  duration_s                bigint NOT NULL CHECK (duration_s > 0),
  -- What to delegate: at least 1 TRX, the chain's minimum delegation.
  stake_sun                 bigint NOT NULL CHECK (stake_sun >= 1000000),
  unit_price_sun_per_energy bigint NOT NULL CHECK (unit_price_sun_per_energy > 0),
  energy_sun                bigint NOT NULL CHECK (energy_sun = energy * unit_price_sun_per_energy),
  bandwidth_sun             bigint NOT NULL CHECK (bandwidth_sun >= 0),
  activation_sun            bigint NOT NULL CHECK (activation_sun >= 0),
  total_sun                 bigint NOT NULL
                              CHECK (total_sun = energy_sun + bandwidth_sun + activation_sun),
  activation_required       boolean NOT NULL,
  fillable                  boolean NOT NULL,
  -- The chain's totals the stake was computed from (TotalEnergyWeight in whole TRX).
  total_energy_limit        bigint NOT NULL CHECK (total_energy_limit > 0),
  total_energy_weight       bigint NOT NULL CHECK (total_energy_weight > 0),
  -- A usdt_transfer intent: all four set, or none (an explicit energy).
  usdt_to                   bytea CHECK (length(usdt_to) = 21 AND get_byte(usdt_to, 0) = 65),
  usdt_amount               bigint CHECK (usdt_amount > 0),
  usdt_energy_required      bigint CHECK (usdt_energy_required >= 0),
  usdt_receiver_available   bigint CHECK (usdt_receiver_available >= 0),
  created_at                timestamptz NOT NULL,
  expires_at                timestamptz NOT NULL,
  used_at                   timestamptz,
  used_by                   text CHECK (used_by <> ''),
  CHECK (expires_at > created_at),
  CHECK (activation_required OR activation_sun = 0),
  CHECK (num_nulls(usdt_to, usdt_amount, usdt_energy_required, usdt_receiver_available) IN (0, 4)),
  CHECK ((used_at IS NULL) = (used_by IS NULL)),
  CHECK (used_at IS NULL OR used_at < expires_at)
);
CREATE INDEX quotes_by_tenant ON quotes (tenant_id, created_at DESC);
-- The sweeper's path: unused quotes by expiry.
CREATE INDEX quotes_unused_by_expiry ON quotes (expires_at) WHERE used_at IS NULL;

-- A quote's terms never change, and it is taken at most once: the only update allowed sets
-- used_at/used_by on an unused row. Only unused quotes may be deleted.
CREATE FUNCTION relay_quote_taken_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.used_at IS NOT NULL THEN
      RAISE EXCEPTION 'quote % was used by %: delete refused', OLD.id, OLD.used_by
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.used_at IS NOT NULL
     OR (to_jsonb(NEW) - 'used_at' - 'used_by') <> (to_jsonb(OLD) - 'used_at' - 'used_by') THEN
    RAISE EXCEPTION 'quote % is immutable once written and taken at most once: update refused',
      OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER quotes_taken_once BEFORE UPDATE OR DELETE ON quotes
  FOR EACH ROW EXECUTE FUNCTION relay_quote_taken_once();
