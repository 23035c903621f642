-- 0006: leases, energy delegated from one of our pools to a receiver for a duration, then
-- reclaimed (DESIGN.md §3, §4; energy/lease.h). Every transition is one UPDATE guarded by the state
-- it expects (store/lease_repository.cc); the trigger below refuses anything that is not a forward
-- move of the state machine, so no code path can rewrite a lease's history:
--
--   pending → delegating → active → reclaiming → reclaimed
--      └──────────┴──→ failed
--
-- Everything a lease causes carries its reference 'lease:<id>': the hold, the pool reservation,
-- the chain txs (owner_ref) and the reclaim job (ref).

CREATE TABLE leases (
  id                        bigserial PRIMARY KEY,
  tenant_id                 bigint NOT NULL REFERENCES tenants (id),
  state                     text NOT NULL DEFAULT 'pending'
                              CHECK (state IN ('pending', 'delegating', 'active', 'reclaiming',
                                               'reclaimed', 'failed')),
  -- failed: why. reclaimed: how, when the stake came back by other means than our tx.
  state_reason              text NOT NULL DEFAULT '',
  -- The quote it took (inline requests are quoted too): one lease per quote.
  quote_id                  text UNIQUE REFERENCES quotes (id),
  -- 21 bytes as the chain stores them: 0x41 ‖ 20-byte account id.
  receiver                  bytea NOT NULL CHECK (length(receiver) = 21 AND get_byte(receiver, 0) = 65),
  energy                    bigint NOT NULL CHECK (energy > 0),
  duration_s                bigint NOT NULL CHECK (duration_s > 0),
  -- Delegated, and exactly this much undelegated: at least 1 TRX, the chain's minimum.
  stake_sun                 bigint NOT NULL CHECK (stake_sun >= 1000000),
  unit_price_sun_per_energy bigint NOT NULL CHECK (unit_price_sun_per_energy > 0),
  energy_sun                bigint NOT NULL CHECK (energy_sun >= 0),
  bandwidth_sun             bigint NOT NULL CHECK (bandwidth_sun >= 0),
  activation_sun            bigint NOT NULL CHECK (activation_sun >= 0),
  -- Held at admission, captured in full once the delegation is in a block.
  total_sun                 bigint NOT NULL
                              CHECK (total_sun = energy_sun + bandwidth_sun + activation_sun),
  lock                      boolean NOT NULL DEFAULT false,
  -- Blocks of 3 s; with lock, 0 means the chain default (86,400 blocks = 3 days).
  lock_period_blocks        bigint NOT NULL DEFAULT 0 CHECK (lock_period_blocks >= 0),
  -- Recorded together by pending → delegating.
  pool_id                   bigint REFERENCES pools (id),
  permission_id             integer CHECK (permission_id >= 0 AND permission_id <> 1),
  hold_id                   bigint REFERENCES holds (id),
  reservation_id            bigint REFERENCES pool_reservations (id),
  -- The DelegateResource, and the latest UnDelegateResource tried.
  delegate_tx_id            bigint REFERENCES chain_txs (id),
  reclaim_tx_id             bigint REFERENCES chain_txs (id),
  -- The delegation's block time, and when the reclaim is due.
  delegated_at              timestamptz,
  expires_at                timestamptz,
  -- Early reclaim: when asked, and the refund it earns (paid when the reclaim completes).
  reclaim_requested_at      timestamptz,
  refund_sun                bigint NOT NULL DEFAULT 0 CHECK (refund_sun >= 0 AND refund_sun <= energy_sun),
  reclaimed_at              timestamptz,
  -- The daemon's clock, not the server's: the recovery pass compares them with it.
  created_at                timestamptz NOT NULL,
  updated_at                timestamptz NOT NULL,
  CHECK (lock OR lock_period_blocks = 0),
  CHECK (state = 'pending' OR state = 'failed' OR
         num_nulls(pool_id, permission_id, hold_id, reservation_id) = 0),
  CHECK (num_nulls(pool_id, permission_id, hold_id, reservation_id) IN (0, 4)),
  CHECK (state NOT IN ('active', 'reclaiming', 'reclaimed') OR
         num_nulls(delegate_tx_id, delegated_at, expires_at) = 0),
  CHECK ((delegated_at IS NULL) = (expires_at IS NULL)),
  CHECK (expires_at IS NULL OR expires_at > delegated_at),
  CHECK ((state = 'reclaimed') = (reclaimed_at IS NOT NULL)),
  CHECK (state <> 'failed' OR state_reason <> ''),
  CHECK (reclaim_requested_at IS NOT NULL OR refund_sun = 0),
  CHECK (reclaim_tx_id IS NULL OR state IN ('reclaiming', 'reclaimed'))
);
-- One delegation in flight per (pool, receiver): a second one to the same receiver from the same
-- pool waits until the first is settled (409 conflict), so two can never race on chain.
CREATE UNIQUE INDEX leases_in_flight ON leases (pool_id, receiver)
  WHERE state IN ('pending', 'delegating');
-- GET /v1/leases: a tenant's leases newest first, by state, by receiver.
CREATE INDEX leases_by_tenant ON leases (tenant_id, id DESC);
CREATE INDEX leases_by_tenant_state ON leases (tenant_id, state, id DESC);
CREATE INDEX leases_by_tenant_receiver ON leases (tenant_id, receiver, id DESC);
-- The recovery pass's work list, and the overdue reclaims.
CREATE INDEX leases_unsettled ON leases (id) WHERE state IN ('pending', 'delegating', 'reclaiming');
CREATE INDEX leases_active_by_expiry ON leases (expires_at) WHERE state = 'active';

-- Only forward moves; terms never change; what a step recorded is never rewritten; failed and
-- reclaimed are final. A pending lease may be deleted (an admission refused before any money
-- moved), nothing else.
CREATE FUNCTION relay_lease_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.state <> 'pending' THEN
      RAISE EXCEPTION 'lease % is %: delete refused', OLD.id, OLD.state
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  IF NOT ((OLD.state, NEW.state) IN (('pending', 'delegating'), ('pending', 'failed'),
                                     ('delegating', 'delegating'), ('delegating', 'active'),
                                     ('delegating', 'failed'), ('active', 'reclaiming'),
                                     ('reclaiming', 'reclaiming'), ('reclaiming', 'reclaimed')))
     OR NEW.tenant_id <> OLD.tenant_id OR NEW.quote_id IS DISTINCT FROM OLD.quote_id
     OR NEW.receiver <> OLD.receiver OR NEW.energy <> OLD.energy
     OR NEW.duration_s <> OLD.duration_s OR NEW.stake_sun <> OLD.stake_sun
     OR NEW.unit_price_sun_per_energy <> OLD.unit_price_sun_per_energy
     OR NEW.energy_sun <> OLD.energy_sun OR NEW.bandwidth_sun <> OLD.bandwidth_sun
     OR NEW.activation_sun <> OLD.activation_sun OR NEW.total_sun <> OLD.total_sun
     OR NEW.lock <> OLD.lock OR NEW.lock_period_blocks <> OLD.lock_period_blocks
     OR NEW.created_at <> OLD.created_at
     OR (OLD.state <> 'pending' AND (NEW.pool_id IS DISTINCT FROM OLD.pool_id
                                     OR NEW.permission_id IS DISTINCT FROM OLD.permission_id
                                     OR NEW.hold_id IS DISTINCT FROM OLD.hold_id
                                     OR NEW.reservation_id IS DISTINCT FROM OLD.reservation_id))
     OR (OLD.delegate_tx_id IS NOT NULL AND NEW.delegate_tx_id IS DISTINCT FROM OLD.delegate_tx_id)
     OR (OLD.delegated_at IS NOT NULL AND (NEW.delegated_at IS DISTINCT FROM OLD.delegated_at
                                           OR NEW.expires_at IS DISTINCT FROM OLD.expires_at))
     OR (OLD.state <> 'active' AND (NEW.reclaim_requested_at IS DISTINCT FROM OLD.reclaim_requested_at
                                    OR NEW.refund_sun <> OLD.refund_sun)) THEN
    RAISE EXCEPTION 'lease % (%) cannot become %: update refused', OLD.id, OLD.state, NEW.state
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER leases_move_forward BEFORE UPDATE OR DELETE ON leases
  FOR EACH ROW EXECUTE FUNCTION relay_lease_moves_forward();
CREATE TRIGGER leases_no_truncate BEFORE TRUNCATE ON leases
  FOR EACH STATEMENT EXECUTE FUNCTION relay_refuse_change();
