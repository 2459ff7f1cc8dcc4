-- One request budget per supplier (rate, concurrency, the statuses that mean "slow down"), and
-- how long each run's calls waited on a slowed budget.
ALTER TABLE integrations
  ADD COLUMN supplier_requests_per_second double precision NOT NULL DEFAULT 5
    CHECK (supplier_requests_per_second >= 0.1 AND supplier_requests_per_second <= 1000),
  ADD COLUMN supplier_concurrency integer NOT NULL DEFAULT 4
    CHECK (supplier_concurrency BETWEEN 1 AND 64),
  ADD COLUMN supplier_throttle_statuses integer[] NOT NULL DEFAULT '{429,503}';

ALTER TABLE sync_runs ADD COLUMN throttled_ms integer NOT NULL DEFAULT 0;
