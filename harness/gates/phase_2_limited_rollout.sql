-- phase_2_limited_rollout: 1 % rollout to low-risk tickers.
-- Seed success criterion: "Error rate < 1 %, no event detection degradation" → on the rollout
-- tickers: candidate error rate < 1 %, missing = 0, mismatches within tolerance (design.md §9).
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
