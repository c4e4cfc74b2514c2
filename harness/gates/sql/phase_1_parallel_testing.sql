-- phase_1_parallel_testing: parallel processing for comparison.
-- Seed success criterion: "Channel performance within 5 % of legacy" → latency ratio CI upper
-- <= 1.05, channel success rate >= 95 %, no missing events (design.md §9; `missing_events`, like
-- every other kind of event difference, is in _always.sql: missing and extra are losses in every phase).
SELECT * FROM latency_check('latency_ratio_ci_upper', 1.05, false)
UNION ALL
SELECT * FROM mean_latency_check('latency_mean_ratio_ci_upper', 1.05, false)
UNION ALL
SELECT * FROM stack_thread_cpu(0.05)
UNION ALL
SELECT 'channel_success_rate', m.success_rate_percent, '>= 95 %',
       check_status(m.ticks = 0, m.success_rate_percent >= 95),
       printf('%.2f %% of %d ticks processed by the candidate without error or timeout',
              m.success_rate_percent, m.ticks::BIGINT)
FROM measured m WHERE m.scope = 'all'
UNION ALL
SELECT * FROM phase_check('phase_1_parallel_testing')
