-- phase_3_gradual_expansion: 10 % rollout.
-- Seed success criterion: "Performance equal or better than legacy" → the phase 2 checks on the
-- 10 % rollout tickers, latency ratio CI upper <= 1.00 and mean improvement >= 0 (design.md §9).
-- A recording without any of the candidate's rollout tickers proves nothing: NODATA.
SELECT * FROM rollout_checks
UNION ALL
SELECT 'latency_ratio_ci_upper', lat.high, '<= 1.00',
       ratio_status(lat.low, lat.high, 1.00, lat.floor, false),
       ratio_reason(lat.point, lat.low, lat.high, 1.00, lat.floor, lat.floor_source, lat.power_note)
FROM latency lat
UNION ALL
SELECT 'performance_acceptable', lat.mean_high, 'mean ratio CI upper <= 1.00 (improvement >= 0 ms)',
       ratio_status(lat.mean_low, lat.mean_high, 1.00, lat.floor, false),
       ratio_reason(lat.mean_point, lat.mean_low, lat.mean_high, 1.00, lat.floor, lat.floor_source, lat.power_note)
FROM latency lat
UNION ALL
SELECT * FROM phase_check('phase_3_gradual_expansion')
