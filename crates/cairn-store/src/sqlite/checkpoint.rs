//! Background WAL checkpoints, so that the writer never waits for an fsync.
//!
//! With `synchronous=NORMAL` a commit only appends to the WAL; the fsyncs happen when the WAL
//! is copied back into the database file (a checkpoint). SQLite's automatic checkpoint runs on
//! the committing connection, so every thousand pages or so one unlucky commit pays for
//! copying the WAL and for two fsyncs; measured here that halved the commit rate. Instead the
//! writer's automatic checkpoint is set far out (a backstop only) and this thread, with its
//! own connection, checkpoints in `PASSIVE` mode (beside readers and the writer) once enough
//! has been written.
//!
//! One catch: SQLite only restarts the WAL from its beginning when a checkpoint has copied
//! *every* frame before the next write transaction begins. Under a steady stream of commits
//! a passive checkpoint never quite catches up (new frames arrive while it copies), and the WAL
//! would grow without bound (seen in the commit bench: 270 MB). So when the WAL is long, the
//! thread holds the writer's lock for one more passive checkpoint: it copies only the short
//! tail, and the next commit restarts the WAL.
//!
//! Must not: run a checkpoint on the writer's thread in the common case, or sleep.

use super::{configure, lock, open_connection};
use crate::Result;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Checkpoint after this many bytes of row data were committed (the WAL then holds roughly
/// two to three times as much, as whole pages).
const CHECKPOINT_AFTER_BYTES: u64 = 4 << 20;
/// A WAL longer than this many frames (4 kB pages) is checkpointed to its end under the
/// writer's lock, so that the next commit restarts it.
const RESTART_AFTER_FRAMES: i64 = 8_192;
/// The writer's own automatic checkpoint, in pages: only if this thread falls far behind.
pub const WRITER_AUTOCHECKPOINT_PAGES: i64 = 65_536;

#[derive(Default)]
struct State {
    written: u64,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// Handle on the checkpoint thread; dropping it stops the thread.
pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path, writer: Arc<Mutex<Connection>>) -> Result<Checkpointer> {
        let conn = open_connection(path)?;
        configure(&conn)?;
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("cairn-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &thread_shared, &writer))
            .map_err(|e| crate::StoreError::Database(format!("cannot start checkpointer: {e}")))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Record that a commit wrote about `bytes` of row data.
    pub fn wrote(&self, bytes: u64) {
        let mut state = lock(&self.shared.state);
        let before = state.written;
        state.written += bytes;
        if before < CHECKPOINT_AFTER_BYTES && state.written >= CHECKPOINT_AFTER_BYTES {
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared, writer: &Mutex<Connection>) {
    loop {
        {
            let mut state = lock(&shared.state);
            while state.written < CHECKPOINT_AFTER_BYTES && !state.stop {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.stop {
                return;
            }
            state.written = 0;
        }
        // A failed checkpoint loses nothing (the WAL keeps the data); the next one retries,
        // and the writer's backstop checkpoint bounds the WAL meanwhile.
        // `frames` is the WAL's length when the checkpoint began; if it is long, the WAL
        // has not been restarted for a while (commits keep arriving while a checkpoint
        // runs), so finish the tail with commits paused.
        if let Ok((frames, _)) = passive(conn) {
            if frames > RESTART_AFTER_FRAMES {
                let _writes_paused = lock(writer);
                let _ = passive(conn);
            }
        }
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: (frames in the WAL, frames copied so far).
fn passive(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}
