-- phase_3_gradual_expansion: 10 % rollout.
-- Seed success criterion: "Performance equal or better than legacy" → the phase 2 checks on the
-- 10 % rollout tickers, latency ratio CI upper <= 1.00 and mean improvement >= 0 (design.md §9).
-- A recording without any of the candidate's rollout tickers proves nothing: NODATA.
WITH r AS (SELECT * FROM rollout),
     m AS (SELECT * FROM r LEFT JOIN (SELECT * FROM measured WHERE scope = 'rollout') ON true),
     d AS (SELECT * FROM r LEFT JOIN (SELECT * FROM diff_counts WHERE scope = 'rollout') ON true)
SELECT 'rollout_tickers_observed' AS check, r.observed_tickers::DOUBLE AS observed, '> 0' AS threshold,
       CASE WHEN r.ticks > 0 THEN 'PASS' ELSE 'NODATA' END AS status,
       CASE WHEN r.reported = 0 THEN 'the candidate reports no rollout tickers'
            ELSE printf('%d of %d rollout tickers occur in the recording (%d ticks, %d tickers in all)',
                        r.observed_tickers, r.reported, r.ticks, r.all_tickers) END AS reason
FROM r
UNION ALL
SELECT 'rollout_error_rate', m.fallback_rate_percent, '< 1 %',
       CASE WHEN m.ticks IS NULL OR m.ticks = 0 THEN 'NODATA'
            WHEN m.fallback_rate_percent < 1 THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN m.ticks IS NULL OR m.ticks = 0 THEN 'no rollout ticks in the recording'
            ELSE printf('candidate error+timeout rate %.3f %% over %d rollout ticks',
                        m.fallback_rate_percent, m.ticks::BIGINT) END
FROM m
UNION ALL
SELECT 'rollout_missing_events', d.missing, '= 0',
       CASE WHEN d.ticks = 0 THEN 'NODATA' ELSE zero_status(d.missing, d.total) END,
       CASE WHEN d.ticks = 0 THEN 'no rollout ticks in the recording'
            WHEN d.total = 0 THEN 'no events on rollout tickers: detection cannot be compared'
            ELSE printf('%d of %d rollout-ticker events missing from the candidate', d.missing, d.total) END
FROM d
UNION ALL
SELECT 'rollout_field_mismatches', d.field_mismatch, '= 0 beyond tolerance',
       CASE WHEN d.ticks = 0 THEN 'NODATA' ELSE zero_status(d.field_mismatch, d.total) END,
       CASE WHEN d.ticks = 0 THEN 'no rollout ticks in the recording'
            WHEN d.total = 0 THEN 'no events on rollout tickers: detection cannot be compared'
            ELSE printf('%d of %d rollout-ticker events differ in a field beyond tolerance', d.field_mismatch, d.total) END
FROM d
UNION ALL
SELECT 'rollout_extra_events', d.extra, '= 0',
       CASE WHEN d.ticks = 0 THEN 'NODATA' ELSE zero_status(d.extra, d.total) END,
       CASE WHEN d.ticks = 0 THEN 'no rollout ticks in the recording'
            WHEN d.total = 0 THEN 'no events on rollout tickers: detection cannot be compared'
            ELSE printf('%d candidate events on rollout tickers the primary did not emit', d.extra) END
FROM d
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
