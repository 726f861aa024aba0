-- Runs per mixer and status (how many finished, failed, were killed, still run).
SELECT mixer, kind, status, count(*) AS runs
FROM runs
GROUP BY mixer, kind, status
ORDER BY mixer, kind, status;
