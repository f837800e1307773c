//! The stable fuzz driver: for each target, seeded mutations of its seed
//! corpus (bit flips, interesting bytes, insertions, deletions, duplicated
//! and spliced ranges, truncation) run through the parser for a time budget.
//! Panics, oversized allocations and slow inputs are saved under
//! `fuzz/crashes/<target>/` (replayed by `tests/corpus.rs` from then on).
//!
//! `cargo run --release -p fuzz -- [--seconds S] [--seed N] [TARGET ...]`

use std::time::{Duration, Instant};

use fuzz::{check, inputs, CountingAlloc, Finding, TARGETS};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One mutation of `data`, drawn from `rng`; `other` is another seed to
/// splice from.
fn mutate(rng: &mut fastrand::Rng, data: &mut Vec<u8>, other: &[u8]) {
    const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, b'\n', b'\t', b'-'];
    let len = data.len();
    match rng.u8(0..8) {
        0 if len > 0 => {
            let i = rng.usize(0..len);
            data[i] ^= 1 << rng.u8(0..8);
        }
        1 if len > 0 => {
            let i = rng.usize(0..len);
            data[i] = INTERESTING[rng.usize(0..INTERESTING.len())];
        }
        2 => {
            let i = rng.usize(0..=len);
            let n = rng.usize(1..9);
            let bytes: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            data.splice(i..i, bytes);
        }
        3 if len > 1 => {
            let a = rng.usize(0..len);
            let b = (a + rng.usize(1..17)).min(len);
            data.drain(a..b);
        }
        4 if len > 1 => {
            let a = rng.usize(0..len);
            let b = (a + rng.usize(1..65)).min(len);
            let copy = data[a..b].to_vec();
            let at = rng.usize(0..=len);
            data.splice(at..at, copy);
        }
        5 if !other.is_empty() => {
            let cut = rng.usize(0..=len);
            let from = rng.usize(0..other.len());
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        6 if len > 0 => data.truncate(rng.usize(0..len)),
        _ if len >= 4 => {
            // A 32-bit little-endian field set to a boundary value.
            let i = rng.usize(0..=len - 4);
            let v = [0u32, 1, 0x7fff_ffff, 0xffff_ffff, 0x10000][rng.usize(0..5)];
            data[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        _ => data.push(rng.u8(..)),
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take = |flag: &str, default: u64| -> u64 {
        match args.iter().position(|a| a == flag) {
            Some(k) if k + 1 < args.len() => {
                let v = args[k + 1].parse().unwrap_or(default);
                args.drain(k..k + 2);
                v
            }
            _ => default,
        }
    };
    let seconds = take("--seconds", 60);
    let seed = take("--seed", 1);
    let targets: Vec<String> = if args.is_empty() {
        TARGETS.iter().map(|t| t.to_string()).collect()
    } else {
        args
    };
    // Panics are findings, reported below, not noise on stderr.
    std::panic::set_hook(Box::new(|_| {}));
    let crashes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crashes");
    println!("| target | executions | minutes | panics | oversized allocations | slowest ms |");
    println!("|---|---|---|---|---|---|");
    for target in &targets {
        let seeds = inputs(target);
        if !TARGETS.contains(&target.as_str()) {
            eprintln!("unknown target {target}; targets: {}", TARGETS.join(" "));
            std::process::exit(2);
        }
        let dir = tempfile::tempdir().expect("a scratch directory");
        let mut rng = fastrand::Rng::with_seed(seed);
        let (mut execs, mut panics, mut oversized, mut slowest) = (0u64, 0, 0, Duration::ZERO);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(seconds) {
            let mut data = if seeds.is_empty() {
                Vec::new()
            } else {
                seeds[rng.usize(0..seeds.len())].1.clone()
            };
            let other: &[u8] = if seeds.is_empty() {
                &[]
            } else {
                &seeds[rng.usize(0..seeds.len())].1
            };
            for _ in 0..rng.usize(1..5) {
                mutate(&mut rng, &mut data, other);
            }
            let t = Instant::now();
            let finding = check(target, &data, dir.path());
            let took = t.elapsed();
            slowest = slowest.max(took);
            execs += 1;
            let name = match &finding {
                Finding::Clean if took < Duration::from_secs(10) => continue,
                Finding::Clean => "slow",
                Finding::Panic(_) => {
                    panics += 1;
                    "panic"
                }
                Finding::Oversized(_) => {
                    oversized += 1;
                    "oversized"
                }
            };
            let dir = crashes.join(target);
            let _ = std::fs::create_dir_all(&dir);
            let file = dir.join(format!("{name}-{seed}-{execs}.bin"));
            let _ = std::fs::write(&file, &data);
            eprintln!("{target}: {finding:?} -> {}", file.display());
        }
        println!(
            "| {target} | {execs} | {:.1} | {panics} | {oversized} | {} |",
            started.elapsed().as_secs_f64() / 60.0,
            slowest.as_millis()
        );
    }
}
