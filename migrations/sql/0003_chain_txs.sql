-- 0003: chain_txs, the journal of every transaction tronrelayd signs. A row is written (state
-- 'signed', with the exact signed bytes and their txid) in a transaction of its own before the
-- bytes are first broadcast, so that after a crash at any instant the daemon knows every tx that
-- may be on chain and settles it by gettransactioninfobyid: included, failed, or expired (its
-- expiration passed without it in a block; the owner flow then builds a new one). Rebroadcasts
-- send these same bytes; a tx is never signed twice.

CREATE TABLE chain_txs (
  id                 bigserial PRIMARY KEY,
  -- SHA-256 of raw_data: the chain's transaction id.
  txid               bytea NOT NULL UNIQUE CHECK (length(txid) = 32),
  -- What the tx is for ('lease_delegate', 'lease_reclaim', 'pool_stake', …): open text, the owner
  -- flow names it.
  purpose            text NOT NULL CHECK (purpose <> ''),
  -- The object whose flow advances when this tx settles ('lease:42', 'pool:7'); '' for none.
  owner_ref          text NOT NULL DEFAULT '',
  pool_id            bigint REFERENCES pools (id),
  -- The whole signed Transaction message, as sent to /wallet/broadcasthex.
  signed_bytes       bytea NOT NULL CHECK (length(signed_bytes) > 0),
  -- raw_data.expiration: no block after one whose time reaches it can include the tx.
  expiration         timestamptz NOT NULL,
  -- signed: written ahead, a broadcast may or may not have reached a node. broadcast: a node
  -- accepted the bytes (SUCCESS or DUP_TRANSACTION_ERROR). included: in a block, succeeded.
  -- failed: refused by a node on its first broadcast, or in a block with a failed result.
  -- expired: not in any block and past its expiration: it never will be.
  state              text NOT NULL DEFAULT 'signed'
                       CHECK (state IN ('signed', 'broadcast', 'included', 'failed', 'expired')),
  -- Broadcasts tried, whatever their answer; the last one's time.
  broadcast_attempts integer NOT NULL DEFAULT 0 CHECK (broadcast_attempts >= 0),
  last_broadcast_at  timestamptz,
  -- From gettransactioninfobyid once in a block (included, or failed inside a block).
  block_number       bigint CHECK (block_number >= 0),
  block_time         timestamptz,
  receipt_result     text NOT NULL DEFAULT '',
  fee_sun            bigint NOT NULL DEFAULT 0 CHECK (fee_sun >= 0),
  -- Why it failed or expired (a node's code such as 'SIGERROR', or a receipt's 'REVERT'); on a
  -- signed/broadcast row, the last broadcast problem (the node unreachable, a refusal of a
  -- rebroadcast), kept for the operator.
  error_code         text NOT NULL DEFAULT '',
  error_message      text NOT NULL DEFAULT '',
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK ((block_number IS NULL) = (block_time IS NULL)),
  CHECK (state <> 'included' OR block_number IS NOT NULL),
  CHECK (state NOT IN ('signed', 'broadcast', 'expired') OR block_number IS NULL),
  CHECK (state <> 'failed' OR error_code <> ''),
  CHECK (state <> 'broadcast' OR broadcast_attempts > 0)
);
-- The sweeper's and the recovery pass's work list, oldest first.
CREATE INDEX chain_txs_unresolved ON chain_txs (id) WHERE state IN ('signed', 'broadcast');
CREATE INDEX chain_txs_by_owner ON chain_txs (owner_ref, id);

-- A tx only moves forward: signed → broadcast → included | failed | expired (signed may skip
-- broadcast), broadcast → broadcast counts another attempt, and a settled tx never changes. What
-- was signed (txid, bytes, expiration) and whom it serves never change either: a rebroadcast must
-- send exactly the bytes written ahead.
CREATE FUNCTION relay_chain_tx_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state IN ('included', 'failed', 'expired')
     OR (OLD.state = 'broadcast' AND NEW.state = 'signed')
     OR NEW.txid <> OLD.txid OR NEW.signed_bytes <> OLD.signed_bytes
     OR NEW.expiration <> OLD.expiration OR NEW.purpose <> OLD.purpose
     OR NEW.owner_ref <> OLD.owner_ref OR NEW.pool_id IS DISTINCT FROM OLD.pool_id
     OR NEW.created_at <> OLD.created_at
     OR NEW.broadcast_attempts < OLD.broadcast_attempts THEN
    RAISE EXCEPTION 'chain tx % (%) cannot become %: update refused', OLD.id, OLD.state, NEW.state
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER chain_txs_move_forward BEFORE UPDATE ON chain_txs
  FOR EACH ROW EXECUTE FUNCTION relay_chain_tx_moves_forward();
-- The journal is the record of what may be on chain: rows are never deleted.
CREATE TRIGGER chain_txs_no_delete BEFORE DELETE ON chain_txs
  FOR EACH ROW EXECUTE FUNCTION relay_refuse_change();
CREATE TRIGGER chain_txs_no_truncate BEFORE TRUNCATE ON chain_txs
  FOR EACH STATEMENT EXECUTE FUNCTION relay_refuse_change();
