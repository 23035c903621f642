-- 0008: split leases. With [leases] split_across_pools, a lease no single pool can fill is made of
-- parts, one per pool, each an ordinary lease (its own hold, reservation, delegation and reclaim).
-- The first part is the group: the others name it in group_id; every part knows how many there
-- are (split_parts, 1 for a lease that was not split). Both are set when the row is inserted and
-- never change.
ALTER TABLE leases
  ADD COLUMN group_id bigint REFERENCES leases (id),
  ADD COLUMN split_parts integer NOT NULL DEFAULT 1 CHECK (split_parts BETWEEN 1 AND 16),
  ADD CHECK (group_id IS NULL OR split_parts > 1);
CREATE INDEX leases_by_group ON leases (group_id) WHERE group_id IS NOT NULL;

CREATE TRIGGER leases_group_fixed BEFORE UPDATE ON leases
  FOR EACH ROW WHEN (NEW.group_id IS DISTINCT FROM OLD.group_id
                     OR NEW.split_parts <> OLD.split_parts)
  EXECUTE FUNCTION relay_refuse_change();
