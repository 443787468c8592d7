//! Replays every file of the fuzz corpus (`fuzz/corpus/<target>/`) through the same entry
//! points the cargo-fuzz targets use (`cairn::fuzz_entry`), on stable Rust, so CI catches a
//! regression on any input a fuzzer once found interesting. No panic, no hang.

use std::path::Path;

#[test]
fn every_corpus_file_runs_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0;
    for target in cairn::fuzz_entry::TARGETS {
        let dir = root.join(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus of {target} at {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            assert!(
                cairn::fuzz_entry::run(target, &data),
                "unknown target {target}"
            );
            replayed += 1;
        }
    }
    assert!(replayed >= cairn::fuzz_entry::TARGETS.len(), "empty corpus");
    eprintln!("replayed {replayed} corpus files");
}

#[test]
fn every_target_has_a_fuzz_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for target in cairn::fuzz_entry::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "{target}"
        );
        assert!(
            root.join(format!("fuzz_targets/{target}.rs")).exists(),
            "{target}"
        );
    }
}
