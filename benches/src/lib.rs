//! Benchmark support package; the benchmarks are in `benches/`.
