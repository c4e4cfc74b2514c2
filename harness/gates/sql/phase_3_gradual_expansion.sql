-- phase_3_gradual_expansion: 10 % rollout.
-- Seed success criterion: "Performance equal or better than legacy" → the phase 2 checks on the
-- 10 % rollout tickers, latency ratio CI upper <= 1.00 and mean improvement >= 0 (design.md §9).
-- A recording without any of the candidate's rollout tickers proves nothing: NODATA.
SELECT * FROM rollout_checks
UNION ALL
SELECT * FROM latency_check('latency_ratio_ci_upper', 1.00, false)
UNION ALL
SELECT * FROM stack_thread_cpu(0.05)
UNION ALL
SELECT * FROM mean_latency_check('performance_acceptable', 1.00, false)
UNION ALL
SELECT * FROM phase_check('phase_3_gradual_expansion')
