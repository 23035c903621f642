-- 0007: indexes for two housekeeping reads that would otherwise scan whole tables.
--
-- tronrelayctl reconcile (energy/reconcile.h) reads, per pool, the leases whose stake may be on
-- chain: the live ones, and those updated since shortly before its chain read.
CREATE INDEX leases_holding_by_pool ON leases (pool_id)
  WHERE state IN ('delegating', 'active', 'reclaiming');
CREATE INDEX leases_by_pool_updated ON leases (pool_id, updated_at);

-- Done jobs are history kept for a while (who ran it, when), then deleted in batches by the
-- daemon's housekeeping (JobQueue::purge_done), oldest first; dead jobs stay until an operator
-- looks at them.
CREATE INDEX jobs_done_at ON jobs (done_at, id) WHERE state = 'done';
