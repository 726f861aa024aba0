-- Per-run final metrics: the last logged value of each key, with its best and where it was.
SELECT r.name AS run, r.kind, r.mixer, r.status, s.key AS metric,
  s.last, s.last_step, s.best, s.best_step, s.count AS points
FROM runs r
JOIN metric_summary s ON s.run_id = r.id
ORDER BY r.name, s.key;
