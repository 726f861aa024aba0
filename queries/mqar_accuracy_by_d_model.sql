-- Zoology Figure 2: MQAR accuracy vs model width, the best over learning rates for each mixer,
-- d_model and (seq_len, num_kv_pairs). Accuracy is the best eval/accuracy of each finished run.
WITH mqar AS (
  SELECT r.mixer,
    CAST((SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'd_model') AS INTEGER) AS d_model,
    CAST((SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'seq_len') AS INTEGER) AS seq_len,
    CAST((SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'num_kv_pairs') AS INTEGER) AS num_kv_pairs,
    CAST((SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'lr') AS REAL) AS lr,
    s.max AS accuracy
  FROM runs r
  JOIN metric_summary s ON s.run_id = r.id AND s.key = 'eval/accuracy'
  WHERE r.kind = 'mqar' AND r.status = 'finished'
)
SELECT mixer, d_model, seq_len, num_kv_pairs,
  max(accuracy) AS accuracy,  -- SQLite takes lr from the row holding the max
  lr AS best_lr,
  count(*) AS learning_rates
FROM mqar
GROUP BY mixer, d_model, seq_len, num_kv_pairs
ORDER BY seq_len, mixer, d_model;
