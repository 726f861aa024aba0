-- Token stores written by zoo-ingest, with their sizes, and a total row.
SELECT * FROM (
  SELECT path, source, documents, tokens, skipped FROM datasets
  UNION ALL
  SELECT 'TOTAL', count(*) || ' stores', sum(documents), sum(tokens), '' FROM datasets
)
ORDER BY path = 'TOTAL', path;
