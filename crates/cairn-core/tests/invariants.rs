//! The crate's invariant, checked: no tokio, no database, no network, no clock, no
//! randomness of its own (DESIGN.md "The core"; CI also checks `cargo tree`).

use std::path::Path;

const FORBIDDEN_DEPENDENCIES: [&str; 8] = [
    "tokio", "rusqlite", "sqlx", "reqwest", "axum", "hyper", "rand", "uuid",
];
const FORBIDDEN_CALLS: [&str; 5] = [
    "SystemTime::now",
    "Instant::now",
    "Timestamp::now",
    "Zoned::now",
    "thread_rng",
];

#[test]
fn no_io_clock_or_randomness_dependencies() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for line in deps.lines() {
        let name = line.split(['=', '.']).next().unwrap_or("").trim();
        assert!(
            !FORBIDDEN_DEPENDENCIES.contains(&name),
            "forbidden dependency {name}"
        );
    }
    for entry in std::fs::read_dir(dir.join("src")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for call in FORBIDDEN_CALLS {
            assert!(!text.contains(call), "{} calls {call}", path.display());
        }
    }
}
