-- One row per component checked by a self-check run (the lead's self-check workflow inserts them).
-- Grain: (check_id, component). Questions asked: "latest result per component", "checks over time",
-- so rows are ordered by component then time, and partitioned by month to keep old months cheap to drop.
CREATE TABLE IF NOT EXISTS onecard.self_checks
(
    check_id   String COMMENT 'id of the self-check run (one run checks every component)',
    started_at DateTime64(3) COMMENT 'when the run started (UTC)',
    component  String COMMENT 'postgres, temporal, warehouse, api, ...',
    detail     String COMMENT 'what the check saw; free text or JSON'
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (component, started_at, check_id);
