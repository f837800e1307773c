//! Fit-time benchmark of the prediction crate against scikit-learn: generates a
//! seeded genotype matrix (default 2,000 × 50,000) and phenotype, writes them for
//! the Python side (`fit_x.i8`, row-major dosages; `fit_y.f64`, little-endian),
//! and times genolens' ridge and elastic-net fits with the given penalties.
//!
//! `fit-timing DIR [N M LAMBDA ALPHA]`; prints `ridge_seconds`,
//! `elastic_net_seconds` and summaries of the fits for the comparison.

use std::io::Write as _;
use std::time::Instant;

use genolens::assoc::predict::elastic_net::{elastic_net_path, CoordinateDescent};
use genolens::assoc::predict::ridge::ridge;
use ndarray::{Array1, Array2};

fn main() {
    if let Err(e) = run() {
        eprintln!("fit-timing: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(
        args.first()
            .ok_or("usage: fit-timing DIR [N M LAMBDA ALPHA]")?,
    );
    let num = |i: usize, default: f64| -> Result<f64, String> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse().map_err(|_| format!("bad number {s:?}"))
        })
    };
    let (n, m) = (num(1, 2000.0)? as usize, num(2, 50_000.0)? as usize);
    let (lambda, alpha) = (num(3, 1000.0)?, num(4, 0.05)?);
    // Genotypes: per-variant allele frequency in [0.05, 0.5], HWE draws; a
    // phenotype from 200 causal variants plus noise. A fixed linear
    // congruential stream, so the files are the same on every machine.
    let mut state = 20_261_128u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let freqs: Vec<f64> = (0..m).map(|_| 0.05 + 0.45 * uniform()).collect();
    let mut bytes = vec![0u8; n * m];
    for i in 0..n {
        for (j, f) in freqs.iter().enumerate() {
            bytes[i * m + j] = u8::from(uniform() < *f) + u8::from(uniform() < *f);
        }
    }
    let x = Array2::from_shape_fn((n, m), |(i, j)| f64::from(bytes[i * m + j]));
    let y: Array1<f64> = (0..n)
        .map(|i| {
            let genetic: f64 = (0..200).map(|j| x[[i, j * (m / 200)]] * 0.05).sum();
            genetic + (uniform() - 0.5) * 2.0
        })
        .collect();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("fit_x.i8"), &bytes).map_err(|e| e.to_string())?;
    let mut yb = Vec::with_capacity(n * 8);
    for v in &y {
        yb.write_all(&v.to_le_bytes()).map_err(|e| e.to_string())?;
    }
    std::fs::write(dir.join("fit_y.f64"), yb).map_err(|e| e.to_string())?;

    let t = Instant::now();
    let fit = ridge(x.view(), y.view(), lambda).map_err(|e| e.to_string())?;
    let ridge_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let enet = elastic_net_path(
        x.view(),
        y.view(),
        &[alpha],
        0.5,
        &CoordinateDescent::default(),
    )
    .map_err(|e| e.to_string())?
    .remove(0);
    let enet_s = t.elapsed().as_secs_f64();
    println!("shape {n} {m}");
    println!("ridge_seconds {ridge_s:.3}");
    println!(
        "ridge_weight_norm {:.6e}",
        fit.weights.dot(&fit.weights).sqrt()
    );
    println!("elastic_net_seconds {enet_s:.3}");
    println!(
        "elastic_net_nonzero {}",
        enet.weights.iter().filter(|w| **w != 0.0).count()
    );
    println!("elastic_net_sweeps {}", enet.sweeps);
    Ok(())
}
