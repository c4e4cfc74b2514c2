-- phase_4_full_rollout: all traffic on multi-channel.
-- Seed success criterion: "System stability, performance improvement" → latency ratio CI upper
-- < 1.00, fallback rate < 5 %, no critical alert (design.md §9; alerts are in _always.sql), and
-- the dashboard's RECOMMEND bar of a >= 70 % win rate. "Stability" includes no memory growth
-- beyond the primary's (memory_growth, _setup.sql).
WITH m AS (SELECT * FROM measured WHERE scope = 'all')
SELECT * FROM latency_check('latency_ratio_ci_upper', 1.00, true)
UNION ALL
SELECT * FROM stack_thread_cpu(0.05)
UNION ALL
SELECT * FROM mean_latency_check('performance_improvement', 1.00, true)
UNION ALL
SELECT unnest([
  {'check': 'fallback_rate', 'observed': m.fallback_rate_percent, 'threshold': '< 5 %',
   'status': check_status(m.ticks = 0, m.fallback_rate_percent < 5),
   'reason': printf('%.3f %% of %d ticks would fall back to legacy', m.fallback_rate_percent, m.ticks::BIGINT)},
  {'check': 'win_rate', 'observed': m.win_rate_percent, 'threshold': '>= 70 % (dashboard RECOMMEND)',
   'status': CASE WHEN concurrent_sides() AND coalesce(m.paired, 0) > 0 THEN 'INCONCLUSIVE'
                  ELSE check_status(m.paired IS NULL OR m.paired = 0, m.win_rate_percent >= 70) END,
   'reason': printf('candidate faster on %.2f %% of %d paired ticks', coalesce(m.win_rate_percent, 'nan'::DOUBLE), coalesce(m.paired, 0)::BIGINT)
             || CASE WHEN concurrent_sides() THEN '; not decided: the stacks ran concurrently (--sides concurrent)' ELSE '' END}
], recursive := true)
FROM m
UNION ALL
SELECT * FROM memory_growth(256)
UNION ALL
SELECT * FROM phase_check('phase_4_full_rollout')
