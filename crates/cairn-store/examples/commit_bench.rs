//! How fast does `Store::commit` go? Prints commits/s, steps/s and events/s for batches of 1,
//! 10 and 50 steps, on SQLite (a temporary directory) or PostgreSQL (a fresh schema per batch
//! size, dropped afterwards). A step is what one interpreter step writes: the execution row
//! (a 1.5 kB definition, a 600 B snapshot) and 4 history events of ~300 B each.
//!
//! "CPU µs/commit" is the CPU time of this whole process (every thread: for SQLite that
//! includes the checkpointer; for PostgreSQL it excludes the server) per commit, building the
//! batches included. On a busy machine it is the steadier figure: wall-clock rates fall with
//! the load, CPU per commit hardly moves.
//!
//! ```text
//! cargo run --release -p cairn-store --example commit_bench [seconds-per-size]
//! cargo run --release -p cairn-store --example commit_bench -- --postgres URL [seconds-per-size]
//! ```

use cairn_store::sqlite::SqliteStore;
use cairn_store::{Batch, EventRecord, ExecutionRecord, Store};
use std::time::{Duration, Instant};

const EVENTS_PER_STEP: u64 = 4;
/// Executions kept running at once; each batch advances the next `steps` of them.
const RUNNING: usize = 1_000;
const SIZES: [usize; 3] = [1, 10, 50];

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let postgres = if args.peek().map(String::as_str) == Some("--postgres") {
        args.next();
        Some(args.next().expect("--postgres needs a URL"))
    } else {
        None
    };
    let seconds: f64 = args.next().map_or(3.0, |s| s.parse().expect("seconds"));
    let duration = Duration::from_secs_f64(seconds);
    match postgres {
        Some(url) => postgres::bench(&url, seconds, duration),
        None => {
            let dir = tempfile::tempdir().expect("temporary directory");
            println!(
                "SQLite store in {}; {seconds} s per batch size",
                dir.path().display()
            );
            header();
            for steps in SIZES {
                let path = dir.path().join(format!("bench-{steps}.db"));
                run(&SqliteStore::open(&path).unwrap(), steps, duration);
            }
        }
    }
}

fn header() {
    println!(
        "{:>6} {:>10} {:>12} {:>12} {:>12} {:>14} {:>14}",
        "steps", "commits", "commits/s", "steps/s", "events/s", "µs per commit", "CPU µs/commit"
    );
}

#[cfg(feature = "postgres")]
mod postgres {
    use cairn_store::postgres::PostgresStore;
    use sqlx::{Connection, PgConnection};
    use std::time::Duration;

    pub fn bench(url: &str, seconds: f64, duration: Duration) {
        println!("PostgreSQL store; {seconds} s per batch size");
        super::header();
        for steps in super::SIZES {
            let schema = format!("commit_bench_{}_{steps}", std::process::id());
            admin(url, &format!("CREATE SCHEMA {schema}"));
            let separator = if url.contains('?') { '&' } else { '?' };
            let store =
                PostgresStore::connect(&format!("{url}{separator}options[search_path]={schema}"))
                    .unwrap();
            super::run(&store, steps, duration);
            drop(store);
            admin(url, &format!("DROP SCHEMA {schema} CASCADE"));
        }
    }

    fn admin(url: &str, sql: &str) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let mut conn = PgConnection::connect(url).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            })
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[cfg(not(feature = "postgres"))]
mod postgres {
    pub fn bench(_: &str, _: f64, _: std::time::Duration) {
        eprintln!("built without the `postgres` feature of cairn-store");
        std::process::exit(2);
    }
}

fn run(store: &dyn Store, steps: usize, duration: Duration) {
    let definition = format!(r#"{{"StartAt":"S0","States":{{{}}}}}"#, states(20));
    let mut executions: Vec<ExecutionRecord> =
        (0..RUNNING).map(|i| execution(i, &definition)).collect();
    let mut next_event = vec![1u64; RUNNING];
    let mut cursor = 0;
    let mut commits = 0u64;
    let cpu_before = process_cpu();
    let started = Instant::now();
    while started.elapsed() < duration {
        let mut batch = Batch::default();
        for _ in 0..steps {
            let i = cursor % RUNNING;
            cursor += 1;
            let e = &mut executions[i];
            e.snapshot = snapshot(next_event[i]);
            for _ in 0..EVENTS_PER_STEP {
                batch.events.push(EventRecord {
                    execution_arn: e.arn.clone(),
                    id: next_event[i],
                    body: event_body(next_event[i]),
                });
                next_event[i] += 1;
            }
            batch.executions.push(e.clone());
        }
        store.commit(&batch).unwrap();
        commits += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, process_cpu()) {
        (Some(before), Some(after)) => format!("{:.1}", (after - before) * 1e6 / commits as f64),
        _ => "?".to_owned(),
    };
    let steps_done = commits as f64 * steps as f64;
    println!(
        "{:>6} {:>10} {:>12.0} {:>12.0} {:>12.0} {:>14.1} {:>14}",
        steps,
        commits,
        commits as f64 / secs,
        steps_done / secs,
        steps_done * EVENTS_PER_STEP as f64 / secs,
        secs * 1e6 / commits as f64,
        cpu,
    );
}

/// CPU seconds (user + system) this process has used so far, every thread counted, from
/// `/proc/self/stat` (Linux; `None` elsewhere). The unit there is USER_HZ, 100 on Linux.
fn process_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime are fields 14 and 15 of the line: indexes 11 and 12 after the name.
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

fn states(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#""S{i}":{{"Type":"Pass","Parameters":{{"step":{i},"x.$":"$.x"}},"ResultPath":"$.r{i}","Next":"S{}"}}"#,
                i + 1
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn execution(i: usize, definition: &str) -> ExecutionRecord {
    ExecutionRecord {
        arn: format!("arn:aws:states:us-east-1:123456789012:execution:bench:{i:08}"),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into(),
        name: format!("{i:08}"),
        status: "RUNNING".into(),
        start_date_ms: 1_700_000_000_000 + i as i64,
        stop_date_ms: None,
        input: r#"{"x":1,"payload":"a modest input document of about a hundred bytes"}"#.into(),
        output: None,
        error: None,
        cause: None,
        definition: definition.to_owned(),
        role_arn: "arn:aws:iam::123456789012:role/bench".into(),
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        redrive_count: 0,
        redrive_date_ms: None,
        snapshot: snapshot(0),
        seq: 0,
    }
}

fn snapshot(n: u64) -> String {
    format!(
        r#"{{"state":"S{}","input":{{"x":1,"r":"{}"}},"counters":{n}}}"#,
        n % 20,
        "v".repeat(520)
    )
}

fn event_body(id: u64) -> String {
    format!(
        r#"{{"id":{id},"previousEventId":{},"timestamp":1700000000.123,"type":"PassStateExited","stateExitedEventDetails":{{"name":"S{}","output":"{}"}}}}"#,
        id.saturating_sub(1),
        id % 20,
        "o".repeat(180)
    )
}
