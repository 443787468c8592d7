//! The PostgreSQL schema and its migrations, recorded in the `cairn_migrations` table.
//!
//! Owns: the list of numbered migration steps. All pending steps run in one transaction
//! together with their rows in `cairn_migrations` (PostgreSQL's DDL is transactional), under
//! an advisory lock, so nodes starting at once apply each step exactly once and a crash
//! mid-migration leaves the previous version intact.
//! Must not: change a step once released; add a new step instead.

use crate::{Result, StoreError};
use sqlx::{Connection, PgConnection};

/// Migration `i` (0-based) takes the schema from version `i` to `i + 1`.
///
/// Notes on the shape:
/// - Tables are created in the connection's `search_path` (so one database can hold several
///   stores, one per schema, as the tests do). Names are unqualified.
/// - JSON is kept as `text`, byte for byte as the layers above wrote it (`jsonb` would
///   reorder keys and drop duplicates).
/// - `seq` columns are identity columns: strictly increasing, never reused, so a pagination
///   cursor never points at a different row later. (Across nodes, sequence order is
///   allocation order, not commit order; a listing may miss a row whose transaction was
///   still open, exactly as a listing that ran a moment earlier would.)
/// - History events are keyed by `(execution seq, event id)`: two integers instead of a
///   repeated ARN, and a page of history is a range scan of the primary key.
/// - `executions.partition` and `timers.partition` are [`super::partition_of`] the execution
///   ARN, for the partition leases of several nodes (see the module notes in `mod.rs`).
/// - Activity tasks keep their `seq` as their queue position, so a released task goes back
///   where it was; the partial index holds only the waiting tasks, so a claim never walks
///   past taken ones (only past the few claimed a moment ago, whose hand-out is not yet
///   committed).
/// - `partition_leases` has a row per partition from the start, so acquiring is an `UPDATE`
///   (never an insert race), and `cairn_fence` is what a fenced commit calls (see `commit.rs`).
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE meta (
        key   text PRIMARY KEY,
        value bytea NOT NULL
    );

    CREATE TABLE activities (
        seq                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        arn                      text NOT NULL UNIQUE,
        name                     text NOT NULL,
        creation_date_ms         bigint NOT NULL,
        encryption_configuration text NOT NULL
    );

    CREATE TABLE state_machines (
        seq                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        arn                      text NOT NULL UNIQUE,
        name                     text NOT NULL,
        machine_type             text NOT NULL,
        definition               text NOT NULL,
        role_arn                 text NOT NULL,
        status                   text NOT NULL,
        creation_date_ms         bigint NOT NULL,
        update_date_ms           bigint,
        revision_id              text,
        logging_configuration    text NOT NULL,
        tracing_configuration    text NOT NULL,
        encryption_configuration text NOT NULL,
        description              text
    );

    CREATE TABLE tags (
        seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        resource_arn text NOT NULL,
        key          text NOT NULL,
        value        text NOT NULL,
        UNIQUE (resource_arn, key)
    );

    CREATE TABLE executions (
        seq                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        partition                 smallint NOT NULL,
        arn                       text NOT NULL UNIQUE,
        state_machine_arn         text NOT NULL,
        name                      text NOT NULL,
        status                    text NOT NULL,
        start_date_ms             bigint NOT NULL,
        stop_date_ms              bigint,
        input                     text NOT NULL,
        output                    text,
        error                     text,
        cause                     text,
        definition                text NOT NULL,
        role_arn                  text NOT NULL,
        state_machine_version_arn text,
        state_machine_alias_arn   text,
        redrive_count             bigint NOT NULL,
        snapshot                  text NOT NULL
    );
    CREATE INDEX executions_by_machine
        ON executions (state_machine_arn, start_date_ms, seq);
    CREATE INDEX executions_by_machine_status
        ON executions (state_machine_arn, status, start_date_ms, seq);
    CREATE INDEX executions_running
        ON executions (partition, seq) WHERE status = 'RUNNING';

    CREATE TABLE events (
        execution bigint NOT NULL, -- executions.seq
        id        bigint NOT NULL,
        body      text NOT NULL,
        PRIMARY KEY (execution, id)
    );

    CREATE TABLE activity_tasks (
        seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- queue position
        activity_arn  text NOT NULL,
        execution_arn text NOT NULL,
        task          bigint NOT NULL,
        token         text NOT NULL,
        input         text NOT NULL,
        scheduled_ms  bigint NOT NULL,
        taken         boolean NOT NULL,
        UNIQUE (execution_arn, task)
    );
    CREATE INDEX activity_tasks_queue ON activity_tasks (activity_arn, seq) WHERE NOT taken;
    CREATE INDEX activity_tasks_by_activity ON activity_tasks (activity_arn);

    CREATE TABLE timers (
        execution_arn text NOT NULL,
        timer         bigint NOT NULL,
        partition     smallint NOT NULL,
        fire_at_ms    bigint NOT NULL,
        PRIMARY KEY (execution_arn, timer)
    );
    CREATE INDEX timers_by_partition ON timers (partition, fire_at_ms);
    "#,
    // 2: several nodes: membership, partition leases and their fence, claim leases.
    r#"
    CREATE TABLE nodes (
        id         text PRIMARY KEY,
        address    text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
    );

    CREATE TABLE partition_leases (
        partition  smallint PRIMARY KEY,
        owner      text,
        epoch      bigint NOT NULL DEFAULT 0,
        expires_at timestamptz NOT NULL DEFAULT '-infinity'
    );
    -- One row per partition, 0 ..= PARTITIONS - 1 (256 partitions, fixed for good).
    INSERT INTO partition_leases (partition) SELECT generate_series(0, 255);

    -- A claim is a short lease until the hand-out is committed (see tasks.rs). Claimed rows
    -- stay `NOT taken`, so `activity_tasks_queue` still covers the claim query.
    ALTER TABLE activity_tasks ADD COLUMN claimed_until timestamptz;

    -- The fence of a batch: lock the named lease rows FOR SHARE (a takeover's UPDATE waits
    -- for this transaction; one that committed first is seen, as each statement of a
    -- volatile function takes a fresh snapshot), then fail unless `node` holds every one of
    -- them at the given epoch. SQLSTATE CRN01 is `StoreError::Fenced`.
    CREATE FUNCTION cairn_fence(node text, partitions smallint[], epochs bigint[])
    RETURNS boolean LANGUAGE plpgsql VOLATILE AS $fence$
    DECLARE
        lost text;
    BEGIN
        PERFORM 1 FROM partition_leases WHERE partition = ANY (partitions)
            ORDER BY partition FOR SHARE;
        SELECT string_agg(format('partition %s epoch %s (now %s at epoch %s)', f.partition,
                   f.epoch, coalesce(l.owner, 'free'), l.epoch), ', ' ORDER BY f.partition)
        INTO lost
        FROM unnest(partitions, epochs) AS f(partition, epoch)
        LEFT JOIN partition_leases l ON l.partition = f.partition
        WHERE l.owner IS DISTINCT FROM node OR l.epoch IS DISTINCT FROM f.epoch;
        IF lost IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'CRN01',
                MESSAGE = format('lease lost: node %s no longer holds %s', node, lost);
        END IF;
        RETURN true;
    END
    $fence$;
    "#,
    // Versions and aliases of state machines (as in the SQLite schema). Writes that must see
    // a consistent set (publish, alias routes, version delete) lock the machine's row first.
    r#"
    CREATE TABLE state_machine_versions (
        seq                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        arn                      text NOT NULL UNIQUE,
        machine_arn              text NOT NULL,
        version                  bigint NOT NULL,
        definition               text NOT NULL,
        role_arn                 text NOT NULL,
        revision_id              text,
        description              text,
        creation_date_ms         bigint NOT NULL,
        logging_configuration    text NOT NULL,
        tracing_configuration    text NOT NULL,
        encryption_configuration text NOT NULL
    );
    CREATE INDEX state_machine_versions_by_machine ON state_machine_versions (machine_arn, seq);

    CREATE TABLE state_machine_version_counters (
        machine_arn  text PRIMARY KEY,
        last_version bigint NOT NULL
    );

    CREATE TABLE state_machine_aliases (
        seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        arn              text NOT NULL UNIQUE,
        machine_arn      text NOT NULL,
        name             text NOT NULL,
        description      text,
        route1_version   text NOT NULL,
        route1_weight    integer NOT NULL,
        route2_version   text,
        route2_weight    integer,
        creation_date_ms bigint NOT NULL,
        update_date_ms   bigint NOT NULL
    );
    CREATE INDEX state_machine_aliases_by_machine ON state_machine_aliases (machine_arn, seq);

    CREATE INDEX executions_by_version
        ON executions (state_machine_version_arn, start_date_ms, seq)
        WHERE state_machine_version_arn IS NOT NULL;
    CREATE INDEX executions_by_alias
        ON executions (state_machine_alias_arn, start_date_ms, seq)
        WHERE state_machine_alias_arn IS NOT NULL;
    "#,
    // RedriveExecution: when the execution was last redriven (DescribeExecution/ListExecutions
    // `redriveDate`). `redrive_count` exists since the first migration.
    r#"
    ALTER TABLE executions ADD COLUMN redrive_date_ms bigint;
    "#,
    // Account isolation under `--auth sigv4`: ListStateMachines and ListActivities filter by
    // the account an ARN names (its fifth field), in the query, so a page is full.
    r#"
    ALTER TABLE state_machines
        ADD COLUMN account text GENERATED ALWAYS AS (split_part(arn, ':', 5)) STORED;
    CREATE INDEX state_machines_by_account ON state_machines (account, seq);
    ALTER TABLE activities
        ADD COLUMN account text GENERATED ALWAYS AS (split_part(arn, ':', 5)) STORED;
    CREATE INDEX activities_by_account ON activities (account, seq);
    "#,
    // Distributed Map: Map Runs (DescribeMapRun, UpdateMapRun) and which executions are the
    // children of which run (ListExecutions with mapRunArn, DescribeExecution's mapRunArn).
    r#"
    CREATE TABLE map_runs (
        arn                          text PRIMARY KEY,
        execution_arn                text NOT NULL,
        state_machine_arn            text NOT NULL,
        status                       text NOT NULL,
        start_date_ms                bigint NOT NULL,
        stop_date_ms                 bigint,
        max_concurrency              bigint NOT NULL,
        tolerated_failure_count      bigint NOT NULL,
        tolerated_failure_percentage double precision NOT NULL,
        item_counts                  text NOT NULL,
        execution_counts             text NOT NULL,
        redrive_count                bigint NOT NULL DEFAULT 0,
        redrive_date_ms              bigint
    );
    CREATE INDEX map_runs_by_execution ON map_runs (execution_arn);
    CREATE TABLE map_run_executions (
        execution_arn text PRIMARY KEY,
        map_run_arn   text NOT NULL,
        item_index    bigint NOT NULL
    );
    CREATE INDEX map_run_executions_by_run ON map_run_executions (map_run_arn, item_index);
    "#,
];

/// The schema version this build writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Key of the advisory lock that serialises migrations (with the schema's name as the
/// second half, so stores in different schemas do not wait for each other).
const LOCK_KEY: i32 = 0x6361_6972; // "cair"

/// Create the schema the connection's `search_path` names first, if it does not exist yet, so
/// `?options[search_path]=cairn` on a fresh database just works (each cluster of nodes, or
/// each test, can have a schema of its own). `$user` and an existing schema are left alone,
/// so a role without the CREATE privilege can still use a schema made for it.
pub async fn create_named_schema(conn: &mut PgConnection) -> Result<()> {
    let path: String = sqlx::query_scalar("SHOW search_path")
        .fetch_one(&mut *conn)
        .await?;
    let Some(first) = path.split(',').next().map(str::trim) else {
        return Ok(());
    };
    let name = first
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map(|n| n.replace("\"\"", "\""))
        .unwrap_or_else(|| first.to_string());
    if name.is_empty() || name == "$user" {
        return Ok(());
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&name)
            .fetch_one(&mut *conn)
            .await?;
    if !exists {
        let create: String =
            sqlx::query_scalar("SELECT format('CREATE SCHEMA IF NOT EXISTS %I', $1::text)")
                .bind(&name)
                .fetch_one(&mut *conn)
                .await?;
        // `CREATE SCHEMA IF NOT EXISTS` is not race-safe: two nodes starting together both
        // see no schema and the second fails on pg_namespace's unique index. So creation runs
        // under a transaction-scoped advisory lock on the name, and a schema another session
        // created in the meantime (duplicate schema / unique violation) counts as created.
        let created = async {
            let mut tx = conn.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(LOCK_KEY)
                .bind(&name)
                .execute(&mut *tx)
                .await?;
            sqlx::raw_sql(&create).execute(&mut *tx).await?;
            tx.commit().await
        }
        .await;
        match created {
            Ok(()) => {}
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("42P06") | Some("23505")) => {}
            Err(e) => {
                return Err(StoreError::Database(format!(
                    "cannot create schema {name:?} named by search_path: {e}"
                )))
            }
        }
    }
    Ok(())
}

/// Bring the schema up to [`VERSION`]; refuse a schema written by a newer build.
pub async fn migrate(conn: &mut PgConnection) -> Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))")
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS cairn_migrations ( \
             version    integer PRIMARY KEY, \
             applied_at timestamptz NOT NULL DEFAULT now() \
         )",
    )
    .execute(&mut *tx)
    .await?;
    let current: i32 = sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM cairn_migrations")
        .fetch_one(&mut *tx)
        .await?;
    if current > VERSION {
        return Err(StoreError::Database(format!(
            "the database has schema version {current}, newer than the {VERSION} this build \
             of Cairn understands; run a newer Cairn or use another database or schema"
        )));
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::Database(format!("migration {} failed: {e}", step + 1)))?;
        sqlx::query("INSERT INTO cairn_migrations (version) VALUES ($1)")
            .bind(step as i32 + 1)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
