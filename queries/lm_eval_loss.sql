-- Language-model runs, trained (lm) or scored from outside (zoo-score), ranked by held-out loss,
-- with their width, depth and sequence length.
SELECT r.name AS run, r.mixer, r.status,
  (SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'd_model') AS d_model,
  (SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'layers') AS layers,
  (SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'seq_len') AS seq_len,
  s.last AS eval_loss
FROM runs r
JOIN metric_summary s ON s.run_id = r.id AND s.key = 'eval/loss'
WHERE r.kind IN ('lm', 'scored')
ORDER BY s.last;
