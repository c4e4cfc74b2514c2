-- Checks every phase carries: run completeness, the seed dashboard's ladder and readiness
-- booleans, its monitoring alerts and automatic-fallback triggers (design.md §9), measured by the
-- harness from observations; plus cross-checks of what the candidate stack itself reports.
WITH m AS (SELECT * FROM measured WHERE scope = 'all'),
     d AS (SELECT * FROM diff_counts WHERE scope = 'all'),
     r AS (SELECT * FROM run_info)
SELECT 'run_complete' AS check, r.ticks_observed::DOUBLE AS observed,
       'status complete, tick audit ok' AS threshold,
       CASE WHEN r.ticks_observed = 0 THEN 'NODATA'
            WHEN r.status = 'complete' AND r.audit_ok THEN 'PASS'
            ELSE 'INCONCLUSIVE' END AS status,
       printf('status %s, audit ok %s, %d ticks read, %d observed', r.status, r.audit_ok,
              coalesce(r.ticks_read, -1), r.ticks_observed) AS reason
FROM r
UNION ALL
SELECT 'unexplained_differences', d.unexplained, '= 0', zero_status(d.unexplained, d.total),
       events_reason(d.total, printf('%d of %d diff rows (one per paired or unpaired event) differ without an accepting rule (%d missing, %d extra, %d field, %d order); %d more accepted by rules',
                        d.unexplained, d.total, d.missing, d.extra, d.field_mismatch, d.order_diff, d.accepted))
       || coalesce('; expired rules no longer apply: ' || (SELECT string_agg(id || ' (expired ' || expires || ')', ', ' ORDER BY id) FROM expired_rules), '')
FROM d
UNION ALL
-- Missing and extra are both losses; each kind of difference has its own check and counts, and
-- what the rules forgave stands beside what nothing explains. One row per kind, in list order.
SELECT e.check, e.n, e.threshold, zero_status(e.n, e.total), events_reason(e.total, e.text)
FROM (SELECT d.total, unnest([
        {'check': 'missing_events', 'n': d.missing, 'threshold': '= 0 unexplained',
         'text': printf('%d of %d primary events have no candidate counterpart (unexplained; %d of them changed type, %d direction); %d more missing but accepted by rules',
                        d.missing, d.primary_events, k.retyped, k.redirected, d.accepted_missing)},
        {'check': 'extra_events', 'n': d.extra, 'threshold': '= 0 unexplained',
         'text': printf('%d of %d candidate events have no primary counterpart (unexplained; %d of them duplicates); %d more extra but accepted by rules',
                        d.extra, d.candidate_events, k.duplicate, d.accepted_extra)},
        {'check': 'duplicate_events', 'n': k.duplicate, 'threshold': '= 0',
         'text': printf('%d candidate events repeat an already paired event (same ticker, type, direction and tick) the primary emitted once', k.duplicate)},
        {'check': 'wrong_type_events', 'n': k.retyped, 'threshold': '= 0',
         'text': printf('%d primary events answered by an unpaired candidate event of another type at the same ticker and tick', k.retyped)},
        {'check': 'wrong_direction_events', 'n': k.redirected, 'threshold': '= 0',
         'text': printf('%d primary events answered by a candidate event of the same type with another direction at the same ticker and tick', k.redirected)},
        {'check': 'field_changes', 'n': d.field_mismatch, 'threshold': '= 0 beyond tolerance',
         'text': printf('%d of %d paired events differ in a field beyond tolerance (unexplained); %d more accepted by rules',
                        d.field_mismatch, d.paired_events, d.accepted_field)},
        {'check': 'order_changes', 'n': d.order_diff, 'threshold': '= 0',
         'text': printf('%d of %d paired events emitted in another order within their tick (unexplained); %d more accepted by rules',
                        d.order_diff, d.paired_events, d.accepted_order)}
      ], recursive := true) FROM d, loss_kinds k) e
UNION ALL
-- When, not only what: a paired event the candidate returned on a later call than the primary
-- (its tick_seq kept, so the diff pairs it as equal) reached users late. No rule forgives it.
SELECT 'late_events', d.late::DOUBLE, '= 0',
       CASE WHEN d.paired_events > 0 AND d.late_known = 0 THEN 'NODATA'
            ELSE zero_status(d.late, d.total) END,
       CASE WHEN d.paired_events > 0 AND d.late_known = 0
            THEN 'the diff was written before delivery was compared: re-diff the run (harness diff RUN)'
            ELSE events_reason(d.total, printf('%d of %d paired events the candidate returned on a later tick than the primary did (the same event for the same tick, delivered late)',
                                               d.late, d.paired_events)) END
FROM d
UNION ALL
-- "Exactly the known ones": each rule that declares how many rows it accepts in a run with this
-- run's key (accepted-differences.toml `expect`) must accept that many, within its tolerance; an
-- expired rule accepts none, so its declared rows come back as unexplained and this says so.
SELECT 'accepted_rows[' || e.id || ']', coalesce(a.n, 0)::DOUBLE,
       CASE WHEN e.tolerance > 0 THEN printf('%d ± %.4g %%', e.expected, e.tolerance * 100)
            ELSE printf('= %d', e.expected) END,
       CASE WHEN abs(coalesce(a.n, 0) - e.expected) <= e.tolerance * e.expected THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN e.expired THEN printf('rule expired on %s and no longer applies: the %d diff rows it accepted in %s are unexplained now',
                                       e.expires, e.expected, e.run_key)
            ELSE printf('rule accepted %d diff rows in %s, declared %d', coalesce(a.n, 0), e.run_key, e.expected)
                 || CASE WHEN abs(coalesce(a.n, 0) - e.expected) <= e.tolerance * e.expected THEN ''
                         WHEN coalesce(a.n, 0) > e.expected THEN ': more than known, a new divergence hides under the rule'
                         ELSE ': fewer than known, a known divergence changed or went away (update the count)' END END
FROM rule_expectations e
LEFT JOIN (SELECT unnest(map_keys(by_rule)) AS accepted_by, unnest(map_values(by_rule)) AS n
           FROM diff_counts WHERE scope = 'all') a
  ON a.accepted_by = e.id
UNION ALL
-- ... and, where the rule declares it (`expect_digest`), exactly the known contents: the same
-- count of rows can hide a defect inside them (one more differing field, another value).
SELECT 'accepted_rows_digest[' || e.id || ']', coalesce(a.n, 0)::DOUBLE, '= ' || e.digest,
       CASE WHEN a.digest IS NOT DISTINCT FROM e.digest THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN a.digest IS NOT DISTINCT FROM e.digest
            THEN printf('the %d rows the rule accepted in %s hash to %s, as declared', a.n, e.run_key, a.digest)
            ELSE printf('the %d rows the rule accepted in %s hash to %s, declared %s: what they hold changed (a defect can hide in rows a rule already accepts without moving their count); if the change is intended, update expect_digest',
                        coalesce(a.n, 0), e.run_key, coalesce(a.digest, '(no rows)'), e.digest) END
FROM rule_expectations e
LEFT JOIN accepted_digests a ON a.id = e.id
WHERE e.digest IS NOT NULL AND NOT e.expired
UNION ALL
-- The reference itself, where the run's scope declares it (`primary_events`): in one process the
-- candidate can change the primary through state they share (a module-level table or function it
-- modifies); both then emit the same wrong events and every check above passes.
SELECT 'primary_events_reference', pd.n::DOUBLE, '= ' || pr.digest,
       CASE WHEN pd.digest = pr.digest THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN pd.digest = pr.digest
            THEN printf('the primary''s %d events hash to %s, as scope %s declares for %s', pd.n, pd.digest, pr.scope, pr.recording_key)
            ELSE printf('the primary''s %d events hash to %s, scope %s declares %s for %s: the primary did not behave as in its reference run. In one process the candidate can change the primary through state they share (a module-level table or function), and then both emit the same wrong events and no diff shows it (replay with --sides concurrent to run them apart); if the primary changed on purpose, update primary_events',
                        pd.n, pd.digest, pr.scope, pr.digest, pr.recording_key) END
FROM primary_reference pr, primary_events_digest pd
WHERE pr.digest IS NOT NULL
UNION ALL
-- Event ids identify events (users' clients key on them); the diff ignores their values, the
-- primary having declared them ignorable. Found 2026-12-08: a candidate giving its events ids
-- `<ticker>_<type>` PASSed phases 0 and 1. Where the primary's events all carry distinct ids, the
-- candidate's must too (no row when the primary's do not: then the field is no identifier).
SELECT 'event_ids_unique', (e.c_repeats + e.c_without)::DOUBLE, '= 0 repeated or missing',
       CASE WHEN e.c_repeats + e.c_without = 0 THEN 'PASS' ELSE 'FAIL' END,
       printf('%d of %d candidate events repeat an earlier event''s event_id and %d carry none; '
              || 'the primary''s %d events all carry distinct ids', e.c_repeats, e.c_events,
              e.c_without, e.p_events)
FROM event_ids e
WHERE e.p_events > 0 AND e.p_without = 0 AND e.p_repeats = 0
UNION ALL
-- A rule that accepts rows in a run for which it declares no count can never lead to a pass:
-- "accepted" means exactly the known rows, and an undeclared run has no known rows.
SELECT 'accepted_rows_undeclared', coalesce(sum(n), 0)::DOUBLE, '= 0',
       CASE WHEN coalesce(sum(n), 0) = 0 THEN 'PASS' ELSE 'FAIL' END,
       CASE WHEN coalesce(sum(n), 0) = 0 THEN 'every rule accepting rows declares its count for run key ' || coalesce(any_value(kk.k), '(none)')
            ELSE printf('%d diff rows accepted by rules without a declared count for run key %s: %s; declare expect counts for this key or the rows are not known differences',
                        sum(n)::BIGINT, coalesce(any_value(kk.k), '(none: the run is filtered)'),
                        string_agg(accepted_by || ' ' || n, ', ' ORDER BY accepted_by)) END
FROM (SELECT run_key AS k FROM run_info) kk
LEFT JOIN (SELECT * FROM (SELECT unnest(map_keys(by_rule)) AS accepted_by, unnest(map_values(by_rule)) AS n
                          FROM diff_counts WHERE scope = 'all')
           WHERE accepted_by NOT IN (SELECT id FROM rule_expectations)) u ON true
UNION ALL
-- The seed dashboard's ladder, its monitoring alerts and the automatic-fallback triggers, on the
-- harness's own measurements: one row each, in list order.
SELECT unnest([
  {'check': 'ready_for_next_phase', 'observed': m.success_rate_percent, 'threshold': '>= 95 % success',
   'status': check_status(m.ticks = 0, m.success_rate_percent >= 95),
   'reason': printf('candidate processed %.2f %% of %d ticks without error or timeout', m.success_rate_percent, m.ticks::BIGINT)},
  {'check': 'stability_confirmed', 'observed': m.fallback_rate_percent, 'threshold': '< 5 % fallback',
   'status': check_status(m.ticks = 0, m.fallback_rate_percent < 5),
   'reason': printf('%.2f %% of ticks would fall back to legacy (candidate error or timeout)', m.fallback_rate_percent)},
  {'check': 'dashboard_recommendation', 'observed': m.win_rate_percent, 'threshold': 'not STOP (success >= 90 %)',
   'status': check_status(m.ticks = 0, m.success_rate_percent >= 90),
   'reason': CASE WHEN m.success_rate_percent >= 95 AND m.win_rate_percent >= 70 THEN 'RECOMMEND'
                  WHEN m.success_rate_percent >= 90 THEN 'CAUTION' ELSE 'STOP' END
             || printf(' (success %.2f %%, win rate %.2f %%)', m.success_rate_percent, coalesce(m.win_rate_percent, 'nan'::DOUBLE))},
  {'check': 'alert_error_rate', 'observed': m.fallback_rate_percent, 'threshold': '<= 5 % (warning alert)',
   'status': check_status(m.ticks = 0, m.fallback_rate_percent <= 5),
   'reason': printf('candidate error+timeout rate %.2f %%', m.fallback_rate_percent)},
  {'check': 'alert_routing_latency', 'observed': m.candidate_mean_ns / 1e6, 'threshold': '<= 50 ms (critical alert)',
   'status': check_status(m.candidate_mean_ns IS NULL, m.candidate_mean_ns / 1e6 <= 50),
   'reason': printf('candidate mean processing time %.4f ms per tick', coalesce(m.candidate_mean_ns / 1e6, 'nan'::DOUBLE))},
  {'check': 'fallback_trigger_error_rate', 'observed': m.fallback_rate_percent, 'threshold': '<= 10 %',
   'status': check_status(m.ticks = 0, m.fallback_rate_percent <= 10),
   'reason': printf('automatic fallback fires above 10 %% errors; measured %.2f %%', m.fallback_rate_percent)},
  {'check': 'fallback_trigger_latency', 'observed': m.candidate_mean_ns / 1e6, 'threshold': '<= 100 ms',
   'status': check_status(m.candidate_mean_ns IS NULL, m.candidate_mean_ns / 1e6 <= 100),
   'reason': printf('automatic fallback fires above 100 ms; measured %.4f ms', coalesce(m.candidate_mean_ns / 1e6, 'nan'::DOUBLE))}
], recursive := true)
FROM m
UNION ALL
SELECT 'fallback_trigger_event_loss', d.missing, '= 0 missing', zero_status(d.missing, d.total),
       CASE WHEN d.total = 0 THEN 'no events to compare'
            ELSE printf('%d of %d primary events lost by the candidate (unexplained); %d more lost but accepted by rules',
                        d.missing, d.primary_events, d.accepted_missing) END
FROM d
UNION ALL
SELECT 'reported_critical_alerts', count(a.name), '= 0',
       CASE WHEN count(a.name) = 0 THEN 'PASS' ELSE 'FAIL' END,
       'candidate reported critical alerts: ' || coalesce(string_agg(a.name, ', '), 'none')
FROM candidate_alerts a
WHERE lower(a.severity) = 'critical'
HAVING EXISTS (SELECT 1 FROM candidate_stats WHERE key = 'alerts')
UNION ALL
SELECT 'reported_fallback_incidents', n, '= 0', CASE WHEN n = 0 THEN 'PASS' ELSE 'FAIL' END,
       printf('candidate reported %d emergency fallback incident(s)', n::BIGINT)
FROM (SELECT coalesce(value, json_array_length(text)::DOUBLE) AS n FROM candidate_stats
      WHERE key = 'fallback_incidents')
UNION ALL
SELECT 'reported_recommendation', NULL, 'not STOP',
       CASE WHEN text LIKE 'STOP%' THEN 'FAIL' ELSE 'PASS' END,
       'candidate dashboard says: ' || text
FROM candidate_stats WHERE key = 'dashboard.recommendations'
  -- With no channel requests (phase 0: integration off) the dashboard divides 0 by 0 and says
  -- STOP about nothing; its ladder is only a cross-check once the channel served ticks.
  AND coalesce((SELECT value FROM candidate_stats
                WHERE key = 'integration_metrics.channel_requests'), 1) > 0
UNION ALL
-- A known latency gap (accepted-differences.toml [[latency]]) covering this run: the candidate must
-- stay within the ratio accepted then (a regression beyond it + the noise floor FAILs). It never
-- replaces the phase's own latency bar, which still decides rollout readiness. The ceiling bounds the
-- mean ratio too (`latency_known_finding_mean[...]`): CI judges a covered run by these rows only, and
-- a tail regression (rare slow ticks) leaves the median where the finding accepted it.
SELECT k.name || '[' || f.id || ']', k.hi, printf('%s<= %.2f (accepted ceiling)', k.label, f.max_ratio),
       CASE WHEN f.expired THEN 'FAIL' ELSE ratio_status(k.lo, k.hi, f.max_ratio, lat.floor, false) END,
       CASE WHEN f.expired THEN printf('latency finding expired on %s and no longer applies', f.expires)
            ELSE 'known gap vs its accepted ceiling' || k.what || ': ' || ratio_reason(k.pt, k.lo, k.hi, f.max_ratio, lat.floor, lat.floor_source, lat.power_note) END
FROM latency_findings f, latency lat,
     LATERAL (SELECT unnest([
       {'name': 'latency_known_finding', 'label': '', 'what': '', 'pt': lat.point, 'lo': lat.low, 'hi': lat.high},
       {'name': 'latency_known_finding_mean', 'label': 'mean ', 'what': ', mean ratio',
        'pt': lat.mean_point, 'lo': lat.mean_low, 'hi': lat.mean_high}], recursive := true)) k
