//! The SQLite backend (rusqlite, WAL). Placeholder: implemented next.
