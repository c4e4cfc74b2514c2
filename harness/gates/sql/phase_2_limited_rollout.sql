-- phase_2_limited_rollout: 1 % rollout to low-risk tickers.
-- Seed success criterion: "Error rate < 1 %, no event detection degradation" → on the rollout
-- tickers: candidate error rate < 1 %, missing = 0, mismatches within tolerance (design.md §9).
-- A recording without any of the candidate's rollout tickers proves nothing: NODATA.
SELECT * FROM rollout_checks
UNION ALL
SELECT * FROM phase_check('phase_2_limited_rollout')
