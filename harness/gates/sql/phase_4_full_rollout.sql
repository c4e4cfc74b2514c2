-- phase_4_full_rollout: all traffic on multi-channel.
-- Seed success criterion: "System stability, performance improvement" → latency ratio CI upper
-- < 1.00, fallback rate < 5 %, no critical alert (design.md §9; alerts are in _always.sql), and
-- the dashboard's RECOMMEND bar of a >= 70 % win rate. "Stability" includes no memory growth
-- beyond the primary's (memory_growth, _setup.sql).
WITH lat AS (SELECT * FROM latency),
     m AS (SELECT * FROM measured WHERE scope = 'all')
SELECT 'latency_ratio_ci_upper' AS check, lat.high AS observed, '< 1.00' AS threshold,
       ratio_status(lat.low, lat.high, 1.00, lat.floor, true) AS status,
       ratio_reason(lat.point, lat.low, lat.high, 1.00, lat.floor, lat.floor_source, lat.power_note) AS reason
FROM lat
UNION ALL
SELECT 'performance_improvement', lat.mean_high, 'mean ratio CI upper < 1.00 (improvement > 0 ms)',
       ratio_status(lat.mean_low, lat.mean_high, 1.00, lat.floor, true),
       ratio_reason(lat.mean_point, lat.mean_low, lat.mean_high, 1.00, lat.floor, lat.floor_source, lat.power_note)
FROM lat
UNION ALL
SELECT 'fallback_rate', m.fallback_rate_percent, '< 5 %',
       CASE WHEN m.ticks = 0 THEN 'NODATA' WHEN m.fallback_rate_percent < 5 THEN 'PASS' ELSE 'FAIL' END,
       printf('%.3f %% of %d ticks would fall back to legacy', m.fallback_rate_percent, m.ticks::BIGINT)
FROM m
UNION ALL
SELECT 'win_rate', m.win_rate_percent, '>= 70 % (dashboard RECOMMEND)',
       CASE WHEN m.paired IS NULL OR m.paired = 0 THEN 'NODATA' WHEN m.win_rate_percent >= 70 THEN 'PASS' ELSE 'FAIL' END,
       printf('candidate faster on %.2f %% of %d paired ticks', coalesce(m.win_rate_percent, 'nan'::DOUBLE), coalesce(m.paired, 0)::BIGINT)
FROM m
UNION ALL
SELECT * FROM memory_growth(256)
UNION ALL
SELECT * FROM phase_check('phase_4_full_rollout')
