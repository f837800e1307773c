//! Every seed input and every saved crash of every fuzz target, replayed:
//! no panic, and no single allocation beyond the harness's limit.

use fuzz::{check, inputs, CountingAlloc, Finding, TARGETS};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn the_corpus_and_saved_crashes_parse_without_panics_or_oversized_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let mut replayed = 0;
    for target in TARGETS {
        let seeds = inputs(target);
        assert!(!seeds.is_empty(), "{target} has no seed input");
        for (path, bytes) in seeds {
            let finding = check(target, &bytes, dir.path());
            assert_eq!(finding, Finding::Clean, "{target}: {}", path.display());
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len());
}
