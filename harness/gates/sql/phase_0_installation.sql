-- phase_0_installation: integration layer installed, all flags off.
-- Seed success criterion: "No performance impact, system stable" → 100 % event match,
-- latency ratio CI upper <= 1.05, 0 errors (design.md §9), and "stable": no memory growth beyond
-- the primary's (memory_growth, _setup.sql).
WITH d AS (SELECT * FROM diff_counts WHERE scope = 'all'),
     m AS (SELECT * FROM measured WHERE scope = 'all')
SELECT 'event_match_percent' AS check,
       CASE WHEN d.total > 0 THEN 100.0 * (d.total - d.unexplained) / d.total END AS observed,
       '= 100 %' AS threshold,
       zero_status(d.unexplained, d.total) AS status,
       CASE WHEN d.total = 0 THEN 'neither stack emitted events: nothing to compare'
            ELSE printf('%d of %d diff rows (one per paired or unpaired event) differ without an accepting rule; %d accepted by rules', d.unexplained, d.total, d.accepted) END AS reason
FROM d
UNION ALL
SELECT * FROM latency_check('latency_ratio_ci_upper', 1.05, false)
UNION ALL
SELECT * FROM mean_latency_check('latency_mean_ratio_ci_upper', 1.05, false)
UNION ALL
SELECT * FROM stack_thread_cpu(0.05)
UNION ALL
SELECT 'errors', (m.primary_error_rate_percent + m.fallback_rate_percent) * m.ticks / 100, '= 0',
       check_status(m.ticks = 0, m.primary_error_rate_percent = 0 AND m.fallback_rate_percent = 0),
       printf('primary errors %.3f %%, candidate errors %.3f %%, candidate timeouts %.3f %%',
              m.primary_error_rate_percent, m.candidate_error_rate_percent, m.candidate_timeout_rate_percent)
FROM m
UNION ALL
SELECT 'integration_flags_off', value, 'integration_enabled = false',
       CASE WHEN value = 0 THEN 'PASS' ELSE 'FAIL' END,
       'candidate reports integration_enabled = ' || coalesce(text, value::VARCHAR)
FROM candidate_stats WHERE key = 'integration_metrics.integration_enabled'
UNION ALL
SELECT * FROM memory_growth(256)
UNION ALL
SELECT * FROM phase_check('phase_0_installation')
