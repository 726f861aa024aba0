/// The registry's schema as numbered migrations (docs/FORMATS.md, "Registry"). Each is applied once,
/// inside `BEGIN IMMEDIATE`, and recorded in `zoo_migrations`; never edit one that has shipped,
/// add a new one.
enum RegistrySchema {
  /// (version, name, SQL) in order.
  static let migrations: [(version: Int, name: String, sql: String)] = [
    (
      1, "initial",
      """
      CREATE TABLE datasets (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL UNIQUE,
        sha256        TEXT NOT NULL,
        source        TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        documents     INTEGER NOT NULL,
        tokens        INTEGER NOT NULL,
        subsets       TEXT NOT NULL,   -- JSON list of Pile subset names, in the store's index order
        skipped       TEXT NOT NULL,   -- JSON object: reason -> skipped input lines
        created_at    TEXT NOT NULL
      );
      CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL CHECK (kind IN ('lm', 'mqar')),
        mixer       TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
        config      TEXT NOT NULL,     -- canonical JSON, sorted keys
        started_at  TEXT NOT NULL,
        ended_at    TEXT,
        host        TEXT NOT NULL,
        pid         INTEGER,
        pid_start   INTEGER,           -- the process's start time (Linux clock ticks), against pid reuse
        git_commit  TEXT,
        zoo_version TEXT NOT NULL
      );
      CREATE INDEX runs_mixer_status ON runs(mixer, status);
      CREATE TABLE params (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
      );
      CREATE TABLE metrics (
        run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key       TEXT NOT NULL,
        step      INTEGER NOT NULL,
        value     REAL,                -- NULL for NaN
        wall_time REAL NOT NULL        -- seconds since 1970
      );
      CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
      CREATE TABLE metric_summary (
        run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key       TEXT NOT NULL,
        goal      TEXT NOT NULL CHECK (goal IN ('min', 'max')),  -- which direction is best
        min       REAL,
        max       REAL,
        last      REAL,
        last_step INTEGER NOT NULL,
        best      REAL,
        best_step INTEGER,
        count     INTEGER NOT NULL,
        PRIMARY KEY (run_id, key)
      );
      CREATE TABLE artifacts (
        id         INTEGER PRIMARY KEY,
        run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,
        path       TEXT NOT NULL,
        sha256     TEXT NOT NULL,
        bytes      INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX artifacts_run ON artifacts(run_id);
      """
    ),
    (
      2, "analyses",
      """
      CREATE TABLE analyses (
        id          INTEGER PRIMARY KEY,
        command     TEXT NOT NULL,     -- zoo-analyze subcommand: gap, bigrams, mqar
        arguments   TEXT NOT NULL,     -- JSON object of its settings (runs, baseline, context, ...)
        outputs     TEXT NOT NULL,     -- JSON list of the files it wrote
        created_at  TEXT NOT NULL,
        host        TEXT NOT NULL,
        zoo_version TEXT NOT NULL
      );
      """
    ),
    (
      3, "scored runs",
      // SQLite cannot alter a CHECK constraint: the runs table is rebuilt with 'scored' (runs whose
      // losses came from outside Zoo's trainers, e.g. zoo-score) allowed, ids kept. Runs with
      // foreign keys off (see Registry.migrate), so dropping the old table cascades nowhere.
      """
      CREATE TABLE runs_v3 (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        kind        TEXT NOT NULL CHECK (kind IN ('lm', 'mqar', 'scored')),
        mixer       TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
        config      TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        ended_at    TEXT,
        host        TEXT NOT NULL,
        pid         INTEGER,
        pid_start   INTEGER,
        git_commit  TEXT,
        zoo_version TEXT NOT NULL
      );
      INSERT INTO runs_v3 (id, name, kind, mixer, status, config, started_at, ended_at, host, pid, pid_start, git_commit, zoo_version)
        SELECT id, name, kind, mixer, status, config, started_at, ended_at, host, pid, pid_start, git_commit, zoo_version FROM runs;
      DROP TABLE runs;
      ALTER TABLE runs_v3 RENAME TO runs;
      CREATE INDEX runs_mixer_status ON runs(mixer, status);
      """
    ),
    (
      4, "declared goals, run identity",
      // 1. Goals are declared by whoever logs a metric, and `none` (no best kept) joins min and
      //    max: metric_summary is rebuilt for the new CHECK, every row kept as it was. Then the
      //    keys whose goal was guessed wrong from their name get the goal their loggers now
      //    declare: throughput (`*tokens_per_s`) is best when highest, its best and best_step
      //    recomputed from the history (the first step at its maximum); settings and timings
      //    (`train/lr`, `train/grad_norm`, `train/epoch_seconds`, `train/unigram_entropy`) keep no best.
      // 2. Runs get a `uuid` (their identity across registry files, for merging per-task files;
      //    existing runs get a random one) and `last_seen` (seconds since 1970 of the process's
      //    last write or heartbeat; existing runs get their end, else start, time).
      """
      CREATE TABLE metric_summary_v4 (
        run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key       TEXT NOT NULL,
        goal      TEXT NOT NULL CHECK (goal IN ('min', 'max', 'none')),
        min       REAL,
        max       REAL,
        last      REAL,
        last_step INTEGER NOT NULL,
        best      REAL,
        best_step INTEGER,
        count     INTEGER NOT NULL,
        PRIMARY KEY (run_id, key)
      );
      INSERT INTO metric_summary_v4 (run_id, key, goal, min, max, last, last_step, best, best_step, count)
        SELECT run_id, key, goal, min, max, last, last_step, best, best_step, count FROM metric_summary;
      DROP TABLE metric_summary;
      ALTER TABLE metric_summary_v4 RENAME TO metric_summary;
      UPDATE metric_summary SET goal = 'max', best = max,
        best_step = (SELECT m.step FROM metrics m WHERE m.run_id = metric_summary.run_id AND m.key = metric_summary.key
                     AND m.value = metric_summary.max ORDER BY m.step, m.rowid LIMIT 1)
        WHERE key LIKE '%tokens_per_s';
      UPDATE metric_summary SET goal = 'none', best = NULL, best_step = NULL
        WHERE key IN ('train/lr', 'train/grad_norm', 'train/epoch_seconds', 'train/unigram_entropy');
      ALTER TABLE runs ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
      UPDATE runs SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
        || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
      CREATE UNIQUE INDEX runs_uuid ON runs(uuid);
      ALTER TABLE runs ADD COLUMN last_seen REAL;
      UPDATE runs SET last_seen = CAST(strftime('%s', coalesce(ended_at, started_at)) AS REAL);
      """
    ),
  ]
}
