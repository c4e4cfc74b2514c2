-- phase_1_parallel_testing: parallel processing for comparison.
-- Seed success criterion: "Channel performance within 5 % of legacy" → latency ratio CI upper
-- <= 1.05, channel success rate >= 95 %, no missing events (design.md §9; `missing_events`, like
-- every other kind of event difference, is in _always.sql: missing and extra are losses in every phase).
WITH lat AS (SELECT * FROM latency),
     m AS (SELECT * FROM measured WHERE scope = 'all')
SELECT 'latency_ratio_ci_upper' AS check, lat.high AS observed, '<= 1.05' AS threshold,
       ratio_status(lat.low, lat.high, 1.05, lat.floor, false) AS status,
       ratio_reason(lat.point, lat.low, lat.high, 1.05, lat.floor, lat.floor_source, lat.power_note) AS reason
FROM lat
UNION ALL
SELECT 'channel_success_rate', m.success_rate_percent, '>= 95 %',
       CASE WHEN m.ticks = 0 THEN 'NODATA' WHEN m.success_rate_percent >= 95 THEN 'PASS' ELSE 'FAIL' END,
       printf('%.2f %% of %d ticks processed by the candidate without error or timeout',
              m.success_rate_percent, m.ticks::BIGINT)
FROM m
UNION ALL
SELECT * FROM phase_check('phase_1_parallel_testing')
