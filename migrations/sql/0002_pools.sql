-- 0002: pools (the TRON accounts whose staked TRX we delegate) and pool_reservations (stake promised
-- to a lease or relay). Capacity is derived, never stored: free = the last snapshot's delegatable
-- stake − reservations that snapshot does not reflect yet (store/pool_repository.cc computes it while
-- holding the pool row, which serializes reservations per pool).

CREATE TABLE pools (
  id                      bigserial PRIMARY KEY,
  tenant_id               bigint NOT NULL REFERENCES tenants (id),
  -- 21 bytes as the chain stores them: 0x41 ‖ 20-byte account id.
  address                 bytea NOT NULL CHECK (length(address) = 21 AND get_byte(address, 0) = 65),
  kind                    text NOT NULL CHECK (kind IN ('own', 'permission')),
  name                    text NOT NULL,
  status                  text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'active', 'suspended', 'disabled', 'deleted')),
  status_reason           text NOT NULL DEFAULT '',
  permission_id           integer CHECK (permission_id >= 0),
  min_reserve_sun         bigint NOT NULL DEFAULT 0 CHECK (min_reserve_sun >= 0),
  max_delegate_sun        bigint CHECK (max_delegate_sun >= 0),
  low_energy_alert        bigint CHECK (low_energy_alert >= 0),
  -- The unsigned AccountPermissionUpdate generated for a permission pool.
  permission_txid         bytea CHECK (length(permission_txid) = 32),
  permission_raw_data     bytea,
  permission_tx_broadcast boolean NOT NULL DEFAULT false,
  -- The last snapshot read on chain: all NULL before the first refresh, all set after it.
  observed_at             timestamptz,
  balance_sun             bigint CHECK (balance_sun >= 0),
  staked_energy_sun       bigint CHECK (staked_energy_sun >= 0),
  delegated_out_sun       bigint CHECK (delegated_out_sun >= 0),
  delegatable_sun         bigint CHECK (delegatable_sun >= 0),
  energy_limit            bigint CHECK (energy_limit >= 0),
  -- No sign check: usage can exceed the limit once stake delegated to the pool is withdrawn.
  energy_available        bigint,
  net_available           bigint,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CHECK ((permission_txid IS NULL) = (permission_raw_data IS NULL)),
  CHECK (NOT permission_tx_broadcast OR permission_txid IS NOT NULL),
  CONSTRAINT pools_snapshot_complete CHECK (
    num_nulls(observed_at, balance_sun, staked_energy_sun, delegated_out_sun, delegatable_sun,
              energy_limit, energy_available, net_available) IN (0, 8))
);
-- One live pool per account; a deleted pool keeps its row (history) and frees the address.
CREATE UNIQUE INDEX pools_live_address ON pools (address) WHERE status <> 'deleted';
CREATE INDEX pools_by_tenant ON pools (tenant_id, id DESC);

-- reserved: promised, not on chain yet. delegated: on chain since delegated_at (counts against
-- capacity until a snapshot observed after delegated_at reflects it). released: given back.
CREATE TABLE pool_reservations (
  id           bigserial PRIMARY KEY,
  pool_id      bigint NOT NULL REFERENCES pools (id),
  stake_sun    bigint NOT NULL CHECK (stake_sun > 0),
  state        text NOT NULL DEFAULT 'reserved' CHECK (state IN ('reserved', 'delegated', 'released')),
  reference    text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL,
  delegated_at timestamptz,
  released_at  timestamptz,
  CHECK ((state = 'reserved') <= (delegated_at IS NULL)),
  CHECK ((state = 'delegated') <= (delegated_at IS NOT NULL)),
  CHECK ((state = 'released') = (released_at IS NOT NULL))
);
CREATE INDEX pool_reservations_open ON pool_reservations (pool_id) WHERE state <> 'released';

-- A reservation only moves forward (reserved → delegated → released, or reserved → released) and
-- its pool, stake and reference never change: capacity sums must not be rewritten behind a lock.
CREATE FUNCTION relay_reservation_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state = 'released' OR (OLD.state = 'delegated' AND NEW.state = 'reserved')
     OR NEW.pool_id <> OLD.pool_id OR NEW.stake_sun <> OLD.stake_sun
     OR NEW.reference <> OLD.reference OR NEW.created_at <> OLD.created_at
     OR NEW.delegated_at IS DISTINCT FROM OLD.delegated_at AND OLD.delegated_at IS NOT NULL THEN
    RAISE EXCEPTION 'reservation % (%) cannot become %: update refused', OLD.id, OLD.state, NEW.state
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER pool_reservations_move_forward BEFORE UPDATE ON pool_reservations
  FOR EACH ROW EXECUTE FUNCTION relay_reservation_moves_forward();
CREATE TRIGGER pool_reservations_no_delete BEFORE DELETE ON pool_reservations
  FOR EACH ROW EXECUTE FUNCTION relay_refuse_change();
-- Pools are soft-deleted (status 'deleted') so that reservations and history keep their pool.
CREATE TRIGGER pools_no_delete BEFORE DELETE ON pools
  FOR EACH ROW EXECUTE FUNCTION relay_refuse_change();
