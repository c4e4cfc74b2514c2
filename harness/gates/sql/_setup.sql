-- Engine-owned setup run before any gate file: summary views and the macros gates share.
-- (Gate files themselves may only SELECT; this file is trusted and never user-supplied.)

CREATE VIEW latency AS
SELECT r.value AS point, r.low, r.high,
       (SELECT value FROM stats WHERE scope = 'all' AND metric = 'ratio_mean') AS mean_point,
       (SELECT low FROM stats WHERE scope = 'all' AND metric = 'ratio_mean') AS mean_low,
       (SELECT high FROM stats WHERE scope = 'all' AND metric = 'ratio_mean') AS mean_high,
       (SELECT value FROM stats WHERE scope = 'all' AND metric = 'latency_n') AS n,
       (SELECT value FROM stats WHERE metric = 'noise_floor') AS floor,
       (SELECT note FROM stats WHERE metric = 'noise_floor') AS floor_source,
       (SELECT note FROM stats WHERE scope = 'all' AND metric = 'too_small') AS power_note
FROM stats r WHERE r.scope = 'all' AND r.metric = 'ratio_median';

CREATE VIEW measured AS
SELECT scope,
       max(value) FILTER (metric = 'ticks') AS ticks,
       max(value) FILTER (metric = 'paired') AS paired,
       max(value) FILTER (metric = 'success_rate_percent') AS success_rate_percent,
       max(value) FILTER (metric = 'fallback_rate_percent') AS fallback_rate_percent,
       max(value) FILTER (metric = 'win_rate_percent') AS win_rate_percent,
       max(value) FILTER (metric = 'avg_time_improvement_ms') AS avg_time_improvement_ms,
       max(value) FILTER (metric = 'primary_error_rate_percent') AS primary_error_rate_percent,
       max(value) FILTER (metric = 'candidate_error_rate_percent') AS candidate_error_rate_percent,
       max(value) FILTER (metric = 'candidate_timeout_rate_percent') AS candidate_timeout_rate_percent,
       max(value) FILTER (metric = 'candidate_mean_ns') AS candidate_mean_ns
FROM stats GROUP BY scope;

CREATE VIEW diff_counts AS
SELECT s.scope,
       count(d.class) AS total,
       count(*) FILTER (d.class = 'match') AS matched,
       count(*) FILTER (d.class <> 'match' AND d.accepted_by IS NOT NULL) AS accepted,
       count(*) FILTER (d.class <> 'match' AND d.accepted_by IS NULL) AS unexplained,
       count(*) FILTER (d.class = 'missing' AND d.accepted_by IS NULL) AS missing,
       count(*) FILTER (d.class = 'extra' AND d.accepted_by IS NULL) AS extra,
       count(*) FILTER (d.class = 'field_mismatch' AND d.accepted_by IS NULL) AS field_mismatch,
       count(*) FILTER (d.class = 'order' AND d.accepted_by IS NULL) AS order_diff,
       -- every event is in exactly one diff row: these are event counts, not row counts
       count(*) FILTER (d.class <> 'extra') AS primary_events,
       count(*) FILTER (d.class <> 'missing') AS candidate_events,
       count(*) FILTER (d.class IN ('match', 'field_mismatch', 'order')) AS paired_events,
       count(*) FILTER (d.class = 'missing' AND d.accepted_by IS NOT NULL) AS accepted_missing,
       count(*) FILTER (d.class = 'extra' AND d.accepted_by IS NOT NULL) AS accepted_extra,
       count(*) FILTER (d.class = 'field_mismatch' AND d.accepted_by IS NOT NULL) AS accepted_field,
       count(*) FILTER (d.class = 'order' AND d.accepted_by IS NOT NULL) AS accepted_order,
       -- delivered late (the candidate returned a paired event on a later call); `late_known`:
       -- paired rows whose diff records it at all (0 for diffs written before it existed)
       count(*) FILTER (d.late) AS late,
       count(d.late) FILTER (d.class IN ('match', 'field_mismatch', 'order')) AS late_known,
       -- rows accepted per rule id (MAP), for the declared-count checks: same single scan
       histogram(d.accepted_by) FILTER (d.class <> 'match' AND d.accepted_by IS NOT NULL) AS by_rule
FROM (VALUES ('all'), ('rollout')) s(scope)
LEFT JOIN diff d
  ON s.scope = 'all' OR d.ticker IN (SELECT ticker FROM rollout_tickers)
GROUP BY s.scope;

-- From ticker_ticks (observations per ticker, counted once when the evidence opens), not from
-- three more scans of the observations.
CREATE VIEW rollout AS
SELECT (SELECT count(*) FROM rollout_tickers) AS reported,
       (SELECT count(*) FROM ticker_ticks
         WHERE ticker IN (SELECT ticker FROM rollout_tickers)) AS observed_tickers,
       (SELECT coalesce(sum(ticks), 0)::BIGINT FROM ticker_ticks
         WHERE ticker IN (SELECT ticker FROM rollout_tickers)) AS ticks,
       (SELECT count(*) FROM ticker_ticks) AS all_tickers;

-- Latency ratio status: PASS only when the whole 95 % CI is within the threshold; FAIL only when
-- the whole CI is beyond the threshold plus the calibrated noise floor; anything between is
-- INCONCLUSIVE (a CI straddling the threshold, or an excess the machine's noise can explain).
-- A run whose stacks ran concurrently in two processes (`--sides concurrent`) times the two sides
-- of a pair at different moments on two cores that trade places every 500 ticks: pairs of one
-- swap cycle share its noise, so its CIs resample whole cycles (bootstrap.bootstrap_ratios; a
-- per-pair CI missed 1.00 in 7 of 12 short A/A runs, docs/scaling.md). With fewer cycles than
-- the bootstrap needs, its latency is not decided: INCONCLUSIVE. Its CIs arrive already widened
-- by `concurrent_margin` (bootstrap.CONCURRENT_MARGIN) on both sides: its A/A ratios still stray
-- about ±0.02, which no resampling sees; the same ladder then judges them.
CREATE MACRO concurrent_sides() AS (SELECT any_value(sides) = 'concurrent' FROM run_info);

CREATE MACRO latency_clusters() AS (SELECT max(value) FILTER (metric = 'latency_clusters') FROM stats);

CREATE MACRO concurrent_unbounded() AS (
  SELECT coalesce(max(value) FILTER (metric = 'latency_clusters')
                  < max(value) FILTER (metric = 'min_latency_clusters'), false) FROM stats);

CREATE MACRO concurrent_margin() AS (
  SELECT coalesce(max(value) FILTER (metric = 'concurrent_margin'), 0) FROM stats);

CREATE MACRO ratio_status(lo, hi, t, nf, strict) AS
  CASE WHEN hi IS NULL OR isnan(hi) THEN 'NODATA'
       WHEN concurrent_unbounded() THEN 'INCONCLUSIVE'
       WHEN (strict AND hi < t) OR (NOT strict AND hi <= t) THEN 'PASS'
       WHEN lo > t + nf THEN 'FAIL'
       ELSE 'INCONCLUSIVE' END;

CREATE MACRO ratio_reason(pt, lo, hi, t, nf, src, power) AS
  CASE WHEN hi IS NULL OR isnan(hi) THEN 'no paired latencies: ' || coalesce(power, 'no ticks')
       ELSE printf('ratio %.3f, 95%% CI [%.3f, %.3f] vs %.2f; noise floor %.3f (%s)', pt, lo, hi, t,
                   nf, src)
            || CASE WHEN lo > t + nf THEN '; CI entirely beyond threshold + noise floor'
                    WHEN hi <= t THEN '; CI within threshold'
                    WHEN lo > t THEN '; beyond threshold but within the noise floor'
                    ELSE '; CI straddles the threshold' END
            || CASE WHEN power LIKE '%too small%' THEN '; ' || power ELSE '' END
            || CASE WHEN concurrent_unbounded() THEN printf('; not decided: the stacks ran in two '
                    || 'processes (--sides concurrent) and the run holds %d swap cycles, too few '
                    || 'to bound the ratio; replay more ticks or with --sides interleaved',
                    latency_clusters()::BIGINT)
                    WHEN concurrent_sides() THEN printf('; CI over %d swap cycles, widened by %.2f '
                    || 'on both sides (--sides concurrent)', latency_clusters()::BIGINT,
                    concurrent_margin())
                    ELSE '' END END;

-- Memory the stacks keep: on memory-probed ticks where neither call returned events, the bytes
-- each call allocated that its stack still held afterwards (runner: `_make_call` on `PROBE`
-- ticks). Both stacks see the same tick, so new-ticker state and growing histories cancel in the
-- paired difference; a leak does not. Two 99 % lower bounds of the excess: of its mean (normal
-- approximation; catches a leak on some ticks only) and of its median (order statistics; other
-- threads allocating inside a probe, e.g. a Dask worker's, add outliers the median ignores).
CREATE VIEW memory AS
WITH pr AS (SELECT primary_held_bytes::DOUBLE AS p, candidate_held_bytes::DOUBLE AS c
            FROM observations
            WHERE primary_held_bytes IS NOT NULL AND candidate_held_bytes IS NOT NULL),
     ranked AS (SELECT c - p AS d, row_number() OVER (ORDER BY c - p) AS r,
                       count(*) OVER () AS total FROM pr),
     s AS (SELECT count(*) AS n, avg(p) AS primary_mean, avg(c) AS candidate_mean,
                  avg(c - p) AS excess, coalesce(stddev_samp(c - p), 0) AS sd,
                  median(c - p) AS median_excess,
                  (SELECT max(d) FROM ranked
                    WHERE r <= greatest(1, floor(total / 2.0 - 1.288 * sqrt(total)))) AS median_low
           FROM pr)
SELECT n, primary_mean, candidate_mean, excess, median_excess, median_low,
       excess - 2.576 * sd / sqrt(greatest(n, 1)) AS low,
       excess + 2.576 * sd / sqrt(greatest(n, 1)) AS high
FROM s;

-- A candidate keeping more than `limit` bytes per tick beyond what the primary keeps grows
-- without bound over a day (256 B/tick is 2.5 GB on a 10M-tick day): FAIL once either lower
-- bound is beyond it; PASS otherwise; NODATA with fewer than 10 probes.
CREATE MACRO memory_growth(lim) AS TABLE
SELECT 'memory_growth' AS check, m.excess AS observed,
       printf('candidate keeps <= %d B/tick more than primary', lim) AS threshold,
       CASE WHEN m.n < 10 THEN 'NODATA' WHEN m.low > lim OR m.median_low > lim THEN 'FAIL'
            ELSE 'PASS' END AS status,
       CASE WHEN m.n < 10 THEN printf('%d memory-probed ticks without events (need 10)', m.n)
            ELSE printf('candidate keeps %.0f B/tick, primary %.0f B/tick: excess mean %.0f B/tick (99%% CI [%.0f, %.0f]), median %.0f (99%% lower bound %.0f), on %d memory-probed ticks',
                        m.candidate_mean, m.primary_mean, m.excess, m.low, m.high, m.median_excess, m.median_low, m.n)
                 || CASE WHEN m.low > lim OR m.median_low > lim THEN '; the candidate grows beyond the primary (a leak)' ELSE '' END END AS reason
FROM memory m;

-- Per-call latency times the call on the thread that makes it. Work a stack hands to threads (or
-- child processes) of its own is in no call's time, and in one process those threads take the GIL and a core from the
-- other side's calls (replay/threads.py): beyond `lim` (a fraction) of the timed calls' time the
-- latency comparison is not decided (INCONCLUSIVE, never PASS); a run written before the threads
-- were measured has no row.
CREATE MACRO stack_thread_cpu(lim) AS TABLE
WITH t AS (SELECT stack_thread_cpu_ns::DOUBLE AS cpu, stack_threads AS names FROM run_info),
     c AS (SELECT (max(value) FILTER (metric = 'primary_mean_ns')
                   + max(value) FILTER (metric = 'candidate_mean_ns'))
                  * max(value) FILTER (metric = 'latency_n') AS timed
           FROM stats WHERE scope = 'all'),
     ct AS (SELECT timed, coalesce(NOT isnan(timed) AND timed > 0, false) AS known FROM c)
SELECT 'stack_thread_cpu' AS check, t.cpu / 1e9 AS observed,
       printf('<= %.0f %% of the timed calls'' time', lim * 100) AS threshold,
       CASE WHEN NOT c.known THEN 'NODATA'
            WHEN t.cpu <= lim * c.timed THEN 'PASS' ELSE 'INCONCLUSIVE' END AS status,
       CASE WHEN NOT c.known THEN 'no timed calls to compare with'
            WHEN t.cpu = 0 THEN printf('no thread or process the stacks started used CPU outside their calls (%.2f s of timed calls)', c.timed / 1e9)
            ELSE printf('threads and processes the stacks started (%s) used %.3f s of CPU outside their calls, %.1f %% of the %.2f s the timed calls took',
                        coalesce(t.names, '?'), t.cpu / 1e9, 100 * t.cpu / c.timed, c.timed / 1e9)
                 || CASE WHEN t.cpu > lim * c.timed THEN '; per-call latency leaves that work out, and those threads (processes) take the GIL (a core) from the other side''s calls: latency is not decided' ELSE '' END END AS reason
FROM t, ct c WHERE t.cpu IS NOT NULL;

-- The reason of an event check: its text, or why there is nothing to compare.
CREATE MACRO events_reason(total, txt) AS
  CASE WHEN total = 0 THEN 'neither stack emitted events: nothing to compare' ELSE txt END;

CREATE MACRO zero_status(n, total) AS
  CASE WHEN total IS NULL OR total = 0 THEN 'NODATA' WHEN n = 0 THEN 'PASS' ELSE 'FAIL' END;

-- A measured-rate check: NODATA when there is nothing to measure, else PASS when `ok` holds
-- (a NULL `ok` is a FAIL: a rate that cannot be compared never passes).
CREATE MACRO check_status(nodata, ok) AS
  CASE WHEN nodata THEN 'NODATA' WHEN ok THEN 'PASS' ELSE 'FAIL' END;

-- The phase bars on the latency ratio (median, and mean for the "improvement" checks), with the
-- threshold written as the bar reads: `strict` is "<" (phase 4's improvement), else "<=".
CREATE MACRO latency_check(name, lim, strict) AS TABLE
SELECT name AS check, lat.high AS observed,
       CASE WHEN strict THEN '< ' ELSE '<= ' END || printf('%.2f', lim) AS threshold,
       ratio_status(lat.low, lat.high, lim, lat.floor, strict) AS status,
       ratio_reason(lat.point, lat.low, lat.high, lim, lat.floor, lat.floor_source, lat.power_note) AS reason
FROM latency lat;

-- The mean ratio weighs every tick by its time, as the seed's own performance test does
-- (`avg_multichannel <= avg_legacy * 1.05`): a tail the median never sees (found 2026-12-08: 1 % of
-- ticks 21x slower, mean +20 %, median +3 %, PASSed phases 0 and 1) moves it.
CREATE MACRO mean_latency_check(name, lim, strict) AS TABLE
SELECT name AS check, lat.mean_high AS observed,
       printf('mean ratio CI upper %s %.2f', CASE WHEN strict THEN '<' ELSE '<=' END, lim)
       || CASE WHEN lim = 1 THEN printf(' (improvement %s 0 ms)', CASE WHEN strict THEN '>' ELSE '>=' END)
               ELSE '' END AS threshold,
       ratio_status(lat.mean_low, lat.mean_high, lim, lat.floor, strict) AS status,
       ratio_reason(lat.mean_point, lat.mean_low, lat.mean_high, lim, lat.floor, lat.floor_source, lat.power_note) AS reason
FROM latency lat;

-- The rollout-scoped checks shared by phase 2 (1 %) and phase 3 (10 %): error rate, missing,
-- field mismatches and extra events on the candidate's rollout tickers; NODATA without them.
CREATE VIEW rollout_checks AS
WITH r AS (SELECT * FROM rollout),
     m AS (SELECT * FROM r LEFT JOIN (SELECT * FROM measured WHERE scope = 'rollout') ON true),
     d AS (SELECT * FROM r LEFT JOIN (SELECT * FROM diff_counts WHERE scope = 'rollout') ON true),
     -- the three event checks: one row each, in this order (unnest keeps list order)
     e AS (SELECT d.ticks, d.total, unnest([
             {'check': 'rollout_missing_events', 'n': d.missing, 'threshold': '= 0',
              'text': printf('%d of %d rollout-ticker events missing from the candidate', d.missing, d.total)},
             {'check': 'rollout_field_mismatches', 'n': d.field_mismatch, 'threshold': '= 0 beyond tolerance',
              'text': printf('%d of %d rollout-ticker events differ in a field beyond tolerance', d.field_mismatch, d.total)},
             {'check': 'rollout_extra_events', 'n': d.extra, 'threshold': '= 0',
              'text': printf('%d candidate events on rollout tickers the primary did not emit', d.extra)}
           ], recursive := true) FROM d)
SELECT 'rollout_tickers_observed' AS check, r.observed_tickers::DOUBLE AS observed, '> 0' AS threshold,
       CASE WHEN r.ticks > 0 THEN 'PASS' ELSE 'NODATA' END AS status,
       CASE WHEN r.reported = 0 THEN 'the candidate reports no rollout tickers'
            ELSE printf('%d of %d rollout tickers occur in the recording (%d ticks, %d tickers in all)',
                        r.observed_tickers, r.reported, r.ticks, r.all_tickers) END AS reason
FROM r
UNION ALL
SELECT 'rollout_error_rate', m.fallback_rate_percent, '< 1 %',
       check_status(m.ticks IS NULL OR m.ticks = 0, m.fallback_rate_percent < 1),
       CASE WHEN m.ticks IS NULL OR m.ticks = 0 THEN 'no rollout ticks in the recording'
            ELSE printf('candidate error+timeout rate %.3f %% over %d rollout ticks',
                        m.fallback_rate_percent, m.ticks::BIGINT) END
FROM m
UNION ALL
SELECT e.check, e.n, e.threshold,
       CASE WHEN e.ticks = 0 THEN 'NODATA' ELSE zero_status(e.n, e.total) END,
       CASE WHEN e.ticks = 0 THEN 'no rollout ticks in the recording'
            WHEN e.total = 0 THEN 'no events on rollout tickers: detection cannot be compared'
            ELSE e.text END
FROM e;

-- What kind of loss each unexplained unpaired event is (one scan, all scope): a candidate event
-- repeating a key that is already paired is a duplicate; a primary event answered at the same
-- ticker and tick by an unpaired candidate event of another type (or of the same type and another
-- direction) changed type (direction). Missing and extra stay counted as such; these say why.
CREATE VIEW loss_kinds AS
WITH u AS (SELECT ticker, type, direction, tick_seq, class FROM diff
           WHERE class IN ('missing', 'extra') AND accepted_by IS NULL),
     paired AS (SELECT DISTINCT ticker, type, direction, tick_seq FROM diff
                WHERE class IN ('match', 'field_mismatch', 'order')),
     dup AS (SELECT count(*) AS n FROM u SEMI JOIN paired p
             ON p.ticker = u.ticker AND p.type = u.type AND p.tick_seq = u.tick_seq
            AND p.direction IS NOT DISTINCT FROM u.direction
             WHERE u.class = 'extra'),
     cand AS (SELECT DISTINCT ticker, tick_seq, type, direction FROM u WHERE class = 'extra'),
     lost AS (SELECT * FROM u WHERE class = 'missing'),
     retyped AS (SELECT count(*) AS n FROM lost l SEMI JOIN cand c
                 ON c.ticker = l.ticker AND c.tick_seq = l.tick_seq AND c.type <> l.type),
     redirected AS (SELECT count(*) AS n FROM lost l SEMI JOIN cand c
                    ON c.ticker = l.ticker AND c.tick_seq = l.tick_seq AND c.type = l.type
                   AND c.direction IS DISTINCT FROM l.direction)
SELECT dup.n AS duplicate, retyped.n AS retyped, redirected.n AS redirected
FROM dup, retyped, redirected;

-- A run is evidence for the rollout phase its candidate was configured for (a candidate without
-- a phase, e.g. a plain legacy build, for any): gating phase 3 on a phase 1 run proves nothing.
CREATE MACRO phase_check(gated) AS TABLE
SELECT 'candidate_phase' AS check, NULL::DOUBLE AS observed, gated AS threshold,
       CASE WHEN candidate_phase IS NULL OR candidate_phase = gated THEN 'PASS'
            ELSE 'INCONCLUSIVE' END AS status,
       CASE WHEN candidate_phase IS NULL THEN 'candidate has no rollout phase configured'
            WHEN candidate_phase = gated THEN 'candidate ran configured for ' || gated
            ELSE 'candidate ran configured for ' || candidate_phase || ', not ' || gated
                 || ': replay with --set candidate.phase=' || gated || ' to gate this phase' END AS reason
FROM run_info;
