-- Workers renew the leases of the jobs they are running (worker.lease_ms): find a worker's live
-- leases without scanning every pending job.
CREATE INDEX jobs_leased ON jobs (leased_by) WHERE status = 'PENDING' AND leased_by IS NOT NULL;
