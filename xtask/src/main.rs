//! Project automation, run as `cargo xtask <task>`:
//!
//! - `ci`: everything CI checks (fmt, clippy, tests, docs), after installing the
//!   reference tools the tests compare against;
//! - `bench`: end-to-end benchmarks against the reference tools, and the
//!   criterion benchmarks (`--text-only`: rust-bert against
//!   sentence-transformers; `--transformer-only`: genotype-transformer
//!   training throughput against the same model in PyTorch);
//! - `text-env [--python-ref]`: installs libtorch 2.4.0 (CPU) and the
//!   all-MiniLM-L6-v2 model for the `rust-bert` feature, and with
//!   `--python-ref` the sentence-transformers venv, into a cache outside the
//!   clone (`$GENOLENS_CACHE`, default `~/.cache/genolens`), and prints the
//!   environment to build and run with.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Debian packages the tests compare against, with the binary each provides
/// (chromium renders the study report in the browser test; gemma checks the
/// exact mixed model; bolt the REGENIE-style scan).
const REFERENCE_TOOLS: [(&str, &str); 6] = [
    ("plink2", "plink2"),
    ("plink1.9", "plink1.9"),
    ("bcftools", "bcftools"),
    ("chromium", "chromium"),
    ("gemma", "gemma"),
    ("bolt-lmm", "bolt"),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(),
        Some("fusion-bench") => fusion_bench(&args[1..]),
        Some("install-tools") => install_tools(),
        Some("workflow") => workflow_check("target/release/genolens"),
        Some("text-env") => text_env(args.iter().any(|a| a == "--python-ref")).map(|env| {
            for (k, v) in env.vars {
                println!("export {k}={v}");
            }
        }),
        _ => Err(
            "usage: cargo xtask <ci|bench|fusion-bench [options]|install-tools|workflow|text-env [--python-ref]>"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask fusion-bench [options]`: the semi-synthetic fusion benchmark
/// (benches/src/bin/fusion_bench.rs) in release, its Markdown tables on
/// stdout. Options pass through (`--replicates 20 --folds 3 --inner-folds 3
/// --models lasso,ridge`, `--no-prediction`).
fn fusion_bench(options: &[String]) -> Result<(), String> {
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "benches",
        "--bin",
        "fusion-bench",
    ]);
    step("cargo build --release -p benches --bin fusion-bench", build)?;
    let data = std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"));
    let mut run = Command::new(root().join("target/release/fusion-bench"));
    run.arg(&data).args(options);
    step("fusion-bench", run)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Cargo for the CI run: a clean clone builds everything once, so the
/// incremental caches would only take disk (several GiB on this workspace).
fn ci_cargo() -> Command {
    let mut c = cargo();
    c.env("CARGO_INCREMENTAL", "0");
    c
}

/// Fails unless `OURS.ext` and `THEIRS.ext` have the same bytes for every
/// extension, naming the command and the reference tool.
fn require_same(
    ours: &str,
    theirs: &str,
    exts: &[&str],
    what: &str,
    reference: &str,
) -> Result<(), String> {
    for ext in exts {
        let a = std::fs::read(format!("{ours}.{ext}")).map_err(|e| e.to_string())?;
        let b = std::fs::read(format!("{theirs}.{ext}")).map_err(|e| e.to_string())?;
        if a != b {
            return Err(format!("{what}: .{ext} differs from {reference}'s"));
        }
    }
    Ok(())
}

/// Runs a command, printing its wall time.
fn step(name: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("xtask: == {name}");
    let t = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{name}: cannot start: {e}"))?;
    eprintln!("xtask: {name}: {:.1} s", t.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn have(binary: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Installs the missing reference tools from Debian, when running as root.
fn install_tools() -> Result<(), String> {
    let mut missing: Vec<&str> = REFERENCE_TOOLS
        .iter()
        .filter(|(_, bin)| !have(bin))
        .map(|(pkg, _)| *pkg)
        .collect();
    // The BERT parity test's independent forward pass is numpy.
    // (Debian's own python3 counts: the test falls back to it when a pyenv
    // shim comes first on the PATH.)
    let numpy = ["python3", "/usr/bin/python3"].iter().any(|py| {
        Command::new(py)
            .args(["-c", "import numpy"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    if !numpy {
        missing.push("python3-numpy");
    }
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing, "reference tools")
}

/// Installs Debian packages with apt-get when running as root; otherwise an
/// error that names them (`what` says what they are for).
fn apt_install(packages: &[&str], what: &str) -> Result<(), String> {
    // `id -u` tells root without unsafe libc calls.
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.ok().as_deref() != Some("0") {
        return Err(format!(
            "missing {what}; install them (Debian: apt-get install {})",
            packages.join(" ")
        ));
    }
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    step("apt-get update", update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages);
    install.env("DEBIAN_FRONTEND", "noninteractive");
    step(&format!("apt-get install {}", packages.join(" ")), install)
}

fn ci() -> Result<(), String> {
    let t = Instant::now();
    install_tools()?;
    let mut fmt = ci_cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    step("cargo fmt --check", fmt)?;
    let mut clippy = ci_cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    step("cargo clippy", clippy)?;
    // The model directory (all-MiniLM-L6-v2) the BERT parity and tagger
    // tests of the workspace need; libtorch only matters further down.
    let env = text_env(false)?;
    let mut test = ci_cargo();
    // Every test binary runs even after one fails, so a CI log names all
    // failures at once instead of the first binary's.
    test.args(["test", "--workspace", "--no-fail-fast"]).envs(
        env.vars
            .iter()
            .filter(|(k, _)| k == "GENOLENS_MINILM")
            .cloned(),
    );
    let (passed, failed) = test_step(test)?;
    // The tests built the debug binary the workflow drives.
    workflow_check("target/debug/genolens")?;
    let mut doc = ci_cargo();
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("cargo doc", doc)?;

    // The rust-bert feature: libtorch and the model from the cache, then
    // clippy and the tests of the crates that have the feature.
    let mut clippy = ci_cargo();
    clippy
        .args([
            "clippy",
            "-p",
            "genolens-text",
            "-p",
            "genolens-cli",
            "--features",
            "rust-bert",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
        .envs(env.vars.iter().cloned());
    step("cargo clippy --features rust-bert", clippy)?;
    let mut test = ci_cargo();
    // Only the targets the feature changes: the others (the tagger and
    // relation fine-tuning among them) ran in the workspace step already.
    test.args([
        "test",
        "-p",
        "genolens-text",
        "--features",
        "rust-bert",
        "--lib",
        "--test",
        "bert",
        "--test",
        "literature",
    ])
    .envs(env.vars.iter().cloned())
    // libtorch's own thread pool fights the parallel test threads.
    .env("OMP_NUM_THREADS", "1");
    let (p2, f2) = test_step(test)?;

    // The transformer's GPU backends: both compile (CUDA needs no toolkit to
    // build), CUDA's missing driver is a typed error, and WGPU trains on
    // lavapipe (Mesa's software Vulkan).
    ensure_lavapipe()?;
    let mut clippy = ci_cargo();
    clippy.args([
        "clippy",
        "-p",
        "genolens-transformer",
        "--features",
        "wgpu,cuda",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    step(
        "cargo clippy -p genolens-transformer --features wgpu,cuda",
        clippy,
    )?;
    let mut test = ci_cargo();
    test.args([
        "test",
        "-p",
        "genolens-transformer",
        "--features",
        "wgpu,cuda",
        "--test",
        "backends",
    ]);
    let (p3, f3) = test_step(test)?;
    let (passed, failed) = (passed + p2 + p3, failed + f2 + f3);
    eprintln!("xtask: ci passed in {:.1} s", t.elapsed().as_secs_f64());
    // One closing line for the whole suite (cargo prints one per test binary).
    println!("ci: {passed} passed, {failed} failed");
    Ok(())
}

/// Runs the Snakemake workflow (`workflow/Snakefile`, Snakemake from PyPI in
/// a venv under `target/`) on the bundled EUR subset with `genolens` (a path
/// relative to the repository), and checks that the merged `.glm.linear` of
/// its shards equals one `qc` + `gwas` run over everything, byte for byte.
fn workflow_check(genolens: &str) -> Result<(), String> {
    let t = Instant::now();
    let root = root();
    let venv = root.join("target/snakemake-venv");
    let snakemake = venv.join("bin/snakemake");
    if !snakemake.exists() {
        // A fresh Debian's python3 has no venv module (ensurepip): install it.
        let ensurepip = Command::new("python3")
            .args(["-c", "import ensurepip"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ensurepip {
            apt_install(&["python3-venv", "python3-pip"], "Snakemake's venv")?;
        }
        let _ = std::fs::remove_dir_all(&venv);
        let mut mk = Command::new("python3");
        mk.args(["-m", "venv"]).arg(&venv);
        step("python3 -m venv target/snakemake-venv", mk)?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "-q", "snakemake==9.27.1"]);
        step("pip install snakemake", pip)?;
    }
    let out = "target/workflow-check";
    let _ = std::fs::remove_dir_all(root.join(out));
    let mut run = Command::new(&snakemake);
    run.current_dir(&root).args([
        "-s",
        "workflow/Snakefile",
        "--cores",
        "2",
        "--quiet",
        "--config",
        &format!("genolens={genolens}"),
        &format!("out={out}"),
    ]);
    step("snakemake -s workflow/Snakefile --cores 2", run)?;
    // The same analysis in one process, with the workflow's QC flags.
    let data = "../shared/data/bolt_lmm_eur_subset_1000g/EUR_subset";
    let single = format!("{out}/single");
    let mut qc = Command::new(root.join(genolens));
    qc.current_dir(&root).args([
        "qc",
        "--bfile",
        data,
        "--geno",
        "0.05",
        "--maf",
        "0.01",
        "--hwe",
        "1e-6",
        "--make-bed",
        "--out",
        &single,
    ]);
    step("genolens qc (single run)", qc)?;
    let mut gwas = Command::new(root.join(genolens));
    gwas.current_dir(&root).args([
        "gwas",
        "--bfile",
        &single,
        "--pheno",
        &format!("{data}.pheno.covars"),
        "--pheno-name",
        "PHENO",
        "--out",
        &single,
    ]);
    step("genolens gwas (single run)", gwas)?;
    let read = |p: &str| std::fs::read(root.join(p)).map_err(|e| format!("{p}: {e}"));
    let merged = read(&format!("{out}/merged/all.PHENO.glm.linear"))?;
    let whole = read(&format!("{single}.PHENO.glm.linear"))?;
    if merged != whole {
        return Err(format!(
            "workflow: {out}/merged/all.PHENO.glm.linear differs from the single run's {single}.PHENO.glm.linear"
        ));
    }
    eprintln!(
        "xtask: workflow: 3 shards merged equal the single run ({} rows) in {:.1} s",
        merged.iter().filter(|&&b| b == b'\n').count() - 1,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Installs Mesa's software Vulkan driver (lavapipe) when it is missing and we
/// are root, so the WGPU backend has an adapter without a GPU.
fn ensure_lavapipe() -> Result<(), String> {
    let icd = Path::new("/usr/share/vulkan/icd.d");
    let present = std::fs::read_dir(icd)
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
        })
        .unwrap_or(false);
    if present {
        return Ok(());
    }
    apt_install(
        &["mesa-vulkan-drivers", "libvulkan1"],
        "lavapipe for the WGPU test",
    )
}

/// The environment to build and run the `rust-bert` feature with.
struct TextEnv {
    /// `LIBTORCH`, `LIBTORCH_CXX11_ABI`, `LD_LIBRARY_PATH`, `GENOLENS_MINILM`
    /// and, with the Python reference, `GENOLENS_ST_PYTHON`.
    vars: Vec<(String, String)>,
}

impl TextEnv {
    fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Installs (idempotently, into the cache) what the `rust-bert` feature needs
/// and returns the environment for it.
fn text_env(python_ref: bool) -> Result<TextEnv, String> {
    let t = Instant::now();
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("xtask/install_text_env.sh"));
    if python_ref {
        cmd.arg("--python-ref");
    }
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("install_text_env.sh: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!("install_text_env.sh failed ({})", out.status));
    }
    let mut vars: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    // The PyPI wheels libtorch comes from use the pre-C++11 ABI.
    vars.push(("LIBTORCH_CXX11_ABI".into(), "0".into()));
    if let Some(i) = vars.iter().position(|(k, _)| k == "LD_LIBRARY_PATH") {
        if let Ok(old) = std::env::var("LD_LIBRARY_PATH") {
            if !old.is_empty() {
                vars[i].1 = format!("{}:{old}", vars[i].1);
            }
        }
    }
    let env = TextEnv { vars };
    for key in ["LIBTORCH", "LD_LIBRARY_PATH", "GENOLENS_MINILM"] {
        if env.get(key).is_none() {
            return Err(format!("install_text_env.sh did not print {key}"));
        }
    }
    eprintln!(
        "xtask: text-env ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(env)
}

/// Sentence embeddings: genolens (rust-bert) against sentence-transformers on
/// the same model, sentences and threads, in the same run: throughput and the
/// largest difference between the two sets of vectors.
fn text_bench(data: &Path) -> Result<(), String> {
    let env = text_env(true)?;
    let mut build = cargo();
    build
        .args([
            "build",
            "--release",
            "-p",
            "benches",
            "--features",
            "rust-bert",
            "--bin",
            "embed-timing",
        ])
        .envs(env.vars.iter().cloned());
    step("cargo build --release -p benches --bin embed-timing", build)?;
    let python = env
        .get("GENOLENS_ST_PYTHON")
        .ok_or("no GENOLENS_ST_PYTHON")?;
    let model = env.get("GENOLENS_MINILM").ok_or("no GENOLENS_MINILM")?;
    let corpus = root().join("../shared/data/biored/Test.PubTator");
    let dir = data.join("text");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let sentences = dir.join("sentences.txt");
    let ours_npy = dir.join("genolens.npy");
    let theirs_npy = dir.join("st.npy");
    let run = |cmd: &mut Command| -> Result<String, String> {
        let out = cmd.output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    };
    let rate = |text: &str| -> Result<f64, String> {
        let v = text
            .lines()
            .find_map(|l| l.strip_prefix("sentences_per_s ").map(str::to_string))
            .or_else(|| {
                text.lines().find_map(|l| {
                    let key = "\"sentences_per_s\": ";
                    let rest = &l[l.find(key)? + key.len()..];
                    Some(rest.split([',', '}']).next()?.trim().to_string())
                })
            })
            .ok_or(format!("no sentences_per_s in {text:?}"))?;
        v.parse().map_err(|_| format!("bad rate {v}"))
    };
    println!("| sentence embeddings, all-MiniLM-L6-v2, BioRED test sentences | genolens (rust-bert) sent/s | sentence-transformers sent/s | ratio |");
    println!("|---|---|---|---|");
    let mut ratios = Vec::new();
    for threads in ["1", "2"] {
        let ours = run(Command::new(root().join("target/release/embed-timing"))
            .arg(&corpus)
            .arg(model)
            .arg(&sentences)
            .arg(&ours_npy)
            .args([threads, "3"])
            .envs(env.vars.iter().cloned()))?;
        let theirs = run(Command::new(python)
            .arg(root().join("xtask/st_embed.py"))
            .args(["--model", model, "--sentences"])
            .arg(&sentences)
            .arg("--out")
            .arg(&theirs_npy)
            .args(["--threads", threads, "--repeat", "3"]))?;
        let (a, b) = (rate(&ours)?, rate(&theirs)?);
        println!("| {threads} thread(s) | {a:.1} | {b:.1} | {:.2} |", a / b);
        ratios.push(a / b);
    }
    let diff = run(Command::new(python).arg("-c").arg(format!(
        "import numpy as np; a=np.load('{}'); b=np.load('{}'); assert a.shape==b.shape, (a.shape, b.shape); print(float(np.abs(a-b).max()))",
        ours_npy.display(),
        theirs_npy.display()
    )))?;
    let diff: f64 = diff
        .trim()
        .parse()
        .map_err(|_| format!("bad diff {diff}"))?;
    println!("text: largest |genolens - sentence-transformers| over all vectors: {diff:.2e} (limit 1e-4)");
    println!(
        "text: throughput ratio genolens/sentence-transformers: {} (target >= 1.0)",
        ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if diff > 1e-4 {
        return Err(format!(
            "embeddings differ from sentence-transformers by {diff}"
        ));
    }
    Ok(())
}

/// Runs `cargo test`, echoing its output, and adds up its `test result:` lines.
fn test_step(mut cmd: Command) -> Result<(u64, u64), String> {
    use std::io::{BufRead, BufReader};
    eprintln!("xtask: == cargo test");
    let t = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cargo test: cannot start: {e}"))?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                let count = |word: &str| -> u64 {
                    rest.split(';')
                        .find_map(|part| {
                            part.trim().strip_suffix(word).map(|n| {
                                n.trim()
                                    .rsplit(' ')
                                    .next()
                                    .unwrap_or("0")
                                    .parse()
                                    .unwrap_or(0)
                            })
                        })
                        .unwrap_or(0)
                };
                passed += count(" passed");
                failed += count(" failed");
            }
        }
    }
    let status = child.wait().map_err(|e| format!("cargo test: {e}"))?;
    eprintln!(
        "xtask: cargo test: {:.1} s ({passed} passed, {failed} failed)",
        t.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok((passed, failed))
    } else {
        Err(format!(
            "cargo test failed ({status}): {passed} passed, {failed} failed"
        ))
    }
}

/// Peak resident memory (KiB) of the largest child waited for so far.
fn max_child_rss_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // getrusage only writes into the struct we own.
    #[allow(unsafe_code)]
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    usage.ru_maxrss
}

/// Runs `cmd` and returns (wall seconds, peak RSS of this child in KiB). Each
/// measured command runs in a fresh `xtask` child so RUSAGE_CHILDREN sees only it.
fn measure(label: &str, argv: &[&str]) -> Result<(f64, i64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["bench", "--measure-one"])
        .args(argv)
        .output()
        .map_err(|e| format!("{label}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{label} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let secs: f64 = it
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("bad measurement")?;
    let rss: i64 = it
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("bad measurement")?;
    Ok((secs, rss))
}

fn measure_one(argv: &[String]) -> Result<(), String> {
    let t = Instant::now();
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    if !status.success() {
        return Err(format!("{argv:?} failed"));
    }
    println!("{} {}", t.elapsed().as_secs_f64(), max_child_rss_kib());
    Ok(())
}

/// The median wall time of `n` runs, and the peak RSS of the median run.
fn median_of(n: usize, label: &str, argv: &[&str]) -> Result<(f64, i64), String> {
    let mut runs = (0..n)
        .map(|_| measure(label, argv))
        .collect::<Result<Vec<_>, _>>()?;
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(runs[n / 2])
}

/// |Pearson r| of each of the first `k` PCs of two `.eigenvec` files, matched by
/// the row's IID.
fn pc_correlations(a: &str, b: &str, k: usize) -> Result<Vec<f64>, String> {
    use std::collections::HashMap;
    let read = |p: &str| -> Result<HashMap<String, Vec<f64>>, String> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().ok_or("empty eigenvec")?.split('\t').collect();
        let first = header
            .iter()
            .position(|h| h.starts_with("PC"))
            .ok_or("no PC columns")?;
        lines
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let pcs = f[first..]
                    .iter()
                    .map(|x| x.parse::<f64>().map_err(|e| e.to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((f[first - 1].to_string(), pcs))
            })
            .collect()
    };
    let (ra, rb) = (read(a)?, read(b)?);
    let ids: Vec<&String> = ra.keys().collect();
    Ok((0..k)
        .map(|j| {
            let x: Vec<f64> = ids.iter().map(|i| ra[*i][j]).collect();
            let y: Vec<f64> = ids
                .iter()
                .map(|i| rb.get(*i).map_or(f64::NAN, |r| r[j]))
                .collect();
            let n = x.len() as f64;
            let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
            let (mut c, mut vx, mut vy) = (0.0, 0.0, 0.0);
            for (p, q) in x.iter().zip(&y) {
                c += (p - mx) * (q - my);
                vx += (p - mx) * (p - mx);
                vy += (q - my) * (q - my);
            }
            (c / (vx * vy).sqrt()).abs()
        })
        .collect())
}

/// Writes a phenotype table (quantitative `Y`, 30 % case/control `B`) and 12
/// covariates for the samples of `fam`, from a fixed linear congruential stream.
fn write_gwas_tables(fam: &Path, pheno: &Path, covar: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(fam).map_err(|e| format!("{}: {e}", fam.display()))?;
    let mut state = 2024u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut p, mut c) = (String::from("FID IID Y B\n"), String::from("FID IID"));
    for k in 1..=12 {
        c.push_str(&format!(" C{k}"));
    }
    c.push('\n');
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let y: f64 = (0..6).map(|_| uniform()).sum::<f64>() - 3.0;
        let b = u8::from(uniform() < 0.3);
        p.push_str(&format!("{} {} {y:.5} {b}\n", f[0], f[1]));
        c.push_str(&format!("{} {}", f[0], f[1]));
        for _ in 0..12 {
            c.push_str(&format!(" {:.4}", uniform() * 2.0 - 1.0));
        }
        c.push('\n');
    }
    std::fs::write(pheno, p).map_err(|e| e.to_string())?;
    std::fs::write(covar, c).map_err(|e| e.to_string())
}

/// `data/FILE.bed/.bim/.fam` from `genolens simulate` with `samples`,
/// `variants`, `seed` and the `extra` flags, made once and reused.
fn simulated_cohort(
    g: &str,
    data: &Path,
    file: &str,
    (samples, variants, seed): (usize, usize, u64),
    extra: &[&str],
) -> Result<PathBuf, String> {
    let prefix = data.join(file);
    let p = prefix.to_str().ok_or("non-UTF-8 path")?;
    if !prefix.with_extension("bed").exists() {
        let mut gen = Command::new(g);
        gen.args(["simulate", "--samples", &samples.to_string(), "--variants"])
            .args([&variants.to_string(), "--seed", &seed.to_string()])
            .args(extra)
            .args(["--out", p]);
        step(
            &format!(
                "genolens simulate {samples} x {variants} {}",
                extra.join(" ")
            ),
            gen,
        )?;
    }
    Ok(prefix)
}

/// The exact mixed model against GEMMA (`-gk 1` then `-lmm 1`, the same
/// work genolens does in one run) on a 2,000 × 20,000 structured cohort with
/// the bench's random trait. The 10,000-sample comparison needs GEMMA
/// to decompose a 10,000² matrix and test 60,000 variants single-threaded
/// (hours here); this size shows the per-variant cost.
fn lmm_bench(g: &str, t: &str, data: &Path) -> Result<(), String> {
    let prefix = simulated_cohort(g, data, "lmm_2000x20000", (2000, 20000, 3), &[])?;
    let p = prefix.to_str().ok_or("non-UTF-8 path")?;
    let pheno = data.join("lmm.pheno");
    let covar = data.join("lmm.covar");
    write_gwas_tables(&prefix.with_extension("fam"), &pheno, &covar)?;
    // GEMMA reads the trait from the .fam's sixth column.
    let gemma_dir = data.join("gemma");
    std::fs::create_dir_all(&gemma_dir).map_err(|e| e.to_string())?;
    let ys: Vec<String> = std::fs::read_to_string(&pheno)
        .map_err(|e| e.to_string())?
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(2).unwrap_or("NA").to_string())
        .collect();
    let fam = std::fs::read_to_string(prefix.with_extension("fam")).map_err(|e| e.to_string())?;
    let mut fam_y = String::new();
    for (line, y) in fam.lines().zip(&ys) {
        let f: Vec<&str> = line.split_whitespace().collect();
        fam_y.push_str(&format!(
            "{} {} {} {} {} {y}\n",
            f[0], f[1], f[2], f[3], f[4]
        ));
    }
    let gp = gemma_dir.join("c");
    for ext in ["bed", "bim"] {
        std::fs::copy(prefix.with_extension(ext), gp.with_extension(ext))
            .map_err(|e| e.to_string())?;
    }
    std::fs::write(gp.with_extension("fam"), fam_y).map_err(|e| e.to_string())?;
    let out_g = data.join("lmm_g").to_string_lossy().to_string();
    let ph = pheno.to_string_lossy().to_string();
    let (tg, rg) = measure(
        "genolens gwas --lmm",
        &[
            g,
            "gwas",
            "--threads",
            t,
            "--bfile",
            p,
            "--pheno",
            &ph,
            "--pheno-name",
            "Y",
            "--lmm",
            "--out",
            &out_g,
        ],
    )?;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    std::env::set_current_dir(&gemma_dir).map_err(|e| e.to_string())?;
    let k = measure(
        "gemma -gk 1",
        &["gemma", "-bfile", "c", "-gk", "1", "-o", "c"],
    );
    let l = measure(
        "gemma -lmm 1",
        &[
            "gemma",
            "-bfile",
            "c",
            "-k",
            "output/c.cXX.txt",
            "-lmm",
            "1",
            "-o",
            "c1",
        ],
    );
    std::env::set_current_dir(cwd).map_err(|e| e.to_string())?;
    let ((tk, rk), (tl, rl)) = (k?, l?);
    println!("| mixed model, 2000 x 20000 ({t} threads) | wall s | peak RSS MiB |");
    println!("|---|---|---|");
    println!(
        "| genolens gwas --lmm (GRM, eigendecomposition, Wald) | {tg:.2} | {:.1} |",
        rg as f64 / 1024.0
    );
    println!("| gemma -gk 1 | {tk:.2} | {:.1} |", rk as f64 / 1024.0);
    println!("| gemma -lmm 1 | {tl:.2} | {:.1} |", rl as f64 / 1024.0);
    println!(
        "lmm time ratio genolens/gemma {:.3} (target <= 0.2)",
        tg / (tk + tl)
    );
    Ok(())
}

/// REGENIE-style steps 1 + 2 (`gwas --wgr`) against BOLT-LMM's
/// infinitesimal model (`bolt --lmmInfOnly`, the same LOCO association) on
/// a 5,000 × 50,000 structured cohort with the bench's random trait and 12
/// covariates, same thread count.
fn wgr_bench(g: &str, t: &str, data: &Path) -> Result<(), String> {
    let prefix = simulated_cohort(g, data, "wgr_5000x50000", (5000, 50000, 3), &[])?;
    let p = prefix.to_str().ok_or("non-UTF-8 path")?;
    let pheno = data.join("wgr.pheno");
    let covar = data.join("wgr.covar");
    write_gwas_tables(&prefix.with_extension("fam"), &pheno, &covar)?;
    let (ph, cv) = (
        pheno.to_string_lossy().to_string(),
        covar.to_string_lossy().to_string(),
    );
    let out_g = data.join("wgr_g").to_string_lossy().to_string();
    let (tg, rg) = measure(
        "genolens gwas --wgr",
        &[
            g,
            "gwas",
            "--threads",
            t,
            "--bfile",
            p,
            "--pheno",
            &ph,
            "--pheno-name",
            "Y",
            "--covar",
            &cv,
            "--wgr",
            "--out",
            &out_g,
        ],
    )?;
    let stats = data.join("wgr_bolt.stats").to_string_lossy().to_string();
    let (tb, rb) = measure(
        "bolt --lmmInfOnly",
        &[
            "bolt",
            &format!("--bfile={p}"),
            &format!("--phenoFile={ph}"),
            "--phenoCol=Y",
            &format!("--covarFile={cv}"),
            "--qCovarCol=C{1:12}",
            "--lmmInfOnly",
            &format!("--numThreads={t}"),
            &format!("--statsFile={stats}"),
        ],
    )?;
    println!(
        "| LOCO association, 5000 x 50000, 12 covariates ({t} threads) | wall s | peak RSS MiB |"
    );
    println!("|---|---|---|");
    println!(
        "| genolens gwas --wgr (steps 1 + 2) | {tg:.2} | {:.1} |",
        rg as f64 / 1024.0
    );
    println!(
        "| bolt --lmmInfOnly | {tb:.2} | {:.1} |",
        rb as f64 / 1024.0
    );
    println!(
        "wgr time ratio genolens/bolt {:.3} (target <= 0.5)",
        tg / tb
    );
    Ok(())
}

/// KING-robust kinship with `--king-cutoff` and the GCTA relationship matrix
/// against plink2 on a 4,000 × 50,000 structured cohort (the 10,000-sample
/// cohort's 50M pairs would take minutes per tool). Fails when the kept sets
/// differ.
fn relatedness_bench(g: &str, t: &str, data: &Path) -> Result<(), String> {
    let prefix = simulated_cohort(g, data, "sim_4000x50000", (4000, 50000, 1), &[])?;
    let p = prefix.to_str().ok_or("non-UTF-8 path")?;
    let out_g = data.join("rel_g").to_string_lossy().to_string();
    let out_p = data.join("rel_p").to_string_lossy().to_string();
    let (tg, rg) = measure(
        "genolens relatedness --king-cutoff",
        &[
            g,
            "relatedness",
            "--threads",
            t,
            "--bfile",
            p,
            "--king-cutoff",
            "0.0884",
            "--out",
            &out_g,
        ],
    )?;
    let (tp, rp) = measure(
        "plink2 --king-cutoff",
        &[
            "plink2",
            "--threads",
            t,
            "--bfile",
            p,
            "--king-cutoff",
            "0.0884",
            "--out",
            &out_p,
        ],
    )?;
    require_same(
        &out_g,
        &out_p,
        &["king.cutoff.in.id", "king.cutoff.out.id"],
        "--king-cutoff",
        "plink2",
    )?;
    let (tgg, rgg) = measure(
        "genolens relatedness --make-grm",
        &[
            g,
            "relatedness",
            "--threads",
            t,
            "--bfile",
            p,
            "--make-grm",
            "--out",
            &out_g,
        ],
    )?;
    let (tpg, rpg) = measure(
        "plink2 --make-grm-bin",
        &[
            "plink2",
            "--threads",
            t,
            "--bfile",
            p,
            "--make-grm-bin",
            "--out",
            &out_p,
        ],
    )?;
    println!("| relatedness, 4000 x 50000 ({t} threads) | wall s | peak RSS MiB |");
    println!("|---|---|---|");
    for (name, secs, rss) in [
        ("genolens relatedness --king-cutoff 0.0884", tg, rg),
        ("plink2 --king-cutoff 0.0884", tp, rp),
        ("genolens relatedness --make-grm", tgg, rgg),
        ("plink2 --make-grm-bin", tpg, rpg),
    ] {
        println!("| {name} | {secs:.2} | {:.1} |", rss as f64 / 1024.0);
    }
    println!(
        "king-cutoff time ratio genolens/plink2 {:.2} (same kept set); grm {:.2}",
        tg / tp,
        tgg / tpg
    );
    Ok(())
}

/// Linear and logistic GWAS against plink2 --glm on the bench cohort with 12
/// covariates, same threads, one after the other; the row counts must agree.
fn gwas_bench(g: &str, p: &str, t: &str, data: &Path) -> Result<(), String> {
    let pheno = data.join("gwas.pheno");
    let covar = data.join("gwas.covar");
    write_gwas_tables(&PathBuf::from(format!("{p}.fam")), &pheno, &covar)?;
    let (ph, cv) = (
        pheno.to_string_lossy().to_string(),
        covar.to_string_lossy().to_string(),
    );
    let out_g = data.join("gg").to_string_lossy().to_string();
    let out_p = data.join("gp").to_string_lossy().to_string();
    println!("| GWAS, 12 covariates ({t} threads) | wall s | peak RSS MiB |");
    println!("|---|---|---|");
    let mut ratios = Vec::new();
    // plink2's logistic time (the last scan below), to set the score test against.
    let mut logistic_plink2 = f64::NAN;
    for (label, name, ours_extra, theirs_glm, suffix) in [
        ("linear", "Y", vec![], vec!["hide-covar"], "glm.linear"),
        (
            "logistic, Firth fallback",
            "B",
            vec!["--1"],
            vec!["hide-covar", "firth-fallback"],
            "glm.logistic.hybrid",
        ),
    ] {
        let mut ours = vec![g, "gwas", "--threads", t, "--bfile", p, "--pheno", &ph];
        ours.extend(["--pheno-name", name, "--covar", &cv, "--out", &out_g]);
        ours.extend(ours_extra.iter().copied());
        let mut theirs = vec!["plink2", "--threads", t, "--bfile", p, "--pheno", &ph];
        theirs.extend(["--pheno-name", name, "--covar", &cv, "--out", &out_p]);
        theirs.extend(ours_extra.iter().copied());
        theirs.push("--glm");
        theirs.extend(theirs_glm.iter().copied());
        let (tg, rg) = measure(&format!("genolens gwas ({label})"), &ours)?;
        let (tp, rp) = measure(&format!("plink2 --glm ({label})"), &theirs)?;
        let rows = |prefix: &str| {
            std::fs::read_to_string(format!("{prefix}.{name}.{suffix}"))
                .map(|s| s.lines().count())
                .map_err(|e| e.to_string())
        };
        if rows(&out_g)? != rows(&out_p)? {
            return Err(format!("{label}: row counts differ from plink2's"));
        }
        println!(
            "| genolens gwas, {label} | {tg:.2} | {:.1} |",
            rg as f64 / 1024.0
        );
        println!(
            "| plink2 --glm, {label} | {tp:.2} | {:.1} |",
            rp as f64 / 1024.0
        );
        ratios.push((label, tg / tp, rg as f64 / rp as f64));
        logistic_plink2 = tp;
    }
    // The same cohort without missing calls: plink2's fast path, which users of
    // imputed or QC'd data see (the targets differ: <= 0.5 here, <= 0.33 above).
    let complete = simulated_cohort(
        g,
        data,
        "sim_10000x60000_complete",
        (10000, 60000, 1),
        &["--populations", "7", "--fst", "0.03", "--missing-rate", "0"],
    )?;
    let pc = complete.to_str().ok_or("non-UTF-8 path")?;
    let ours = [
        g,
        "gwas",
        "--threads",
        t,
        "--bfile",
        pc,
        "--pheno",
        &ph,
        "--pheno-name",
        "Y",
        "--covar",
        &cv,
        "--out",
        &out_g,
    ];
    let theirs = [
        "plink2",
        "--threads",
        t,
        "--bfile",
        pc,
        "--pheno",
        &ph,
        "--pheno-name",
        "Y",
        "--covar",
        &cv,
        "--out",
        &out_p,
        "--glm",
        "hide-covar",
    ];
    let (tg, rg) = median_of(3, "genolens gwas (linear, complete data)", &ours)?;
    let (tp, rp) = median_of(3, "plink2 --glm (linear, complete data)", &theirs)?;
    println!(
        "| genolens gwas, linear, no missing calls (median of 3) | {tg:.2} | {:.1} |",
        rg as f64 / 1024.0
    );
    println!(
        "| plink2 --glm, linear, no missing calls (median of 3) | {tp:.2} | {:.1} |",
        rp as f64 / 1024.0
    );
    for (label, time, rss) in ratios {
        println!("gwas {label}: time ratio genolens/plink2 {time:.3}, peak RSS ratio {rss:.2}");
    }
    println!(
        "gwas linear, complete data: time ratio genolens/plink2 {:.3} (target <= 0.5), peak \
         RSS ratio {:.2}",
        tg / tp,
        rg as f64 / rp as f64
    );
    // The score-test screen has no plink2 counterpart; and clumping the linear
    // results against plink1.9 --clump on the same report (same thresholds).
    let mut ours = vec![g, "gwas", "--threads", t, "--bfile", p, "--pheno", &ph];
    ours.extend(["--pheno-name", "B", "--covar", &cv, "--1", "--score-test"]);
    ours.extend(["--out", &out_g]);
    let (ts, rs) = measure("genolens gwas --score-test", &ours)?;
    println!(
        "| genolens gwas --score-test, logistic screen | {ts:.2} | {:.1} |",
        rs as f64 / 1024.0
    );
    let report = format!("{out_p}.Y.glm.linear");
    let thresholds = [
        "--clump-p1",
        "0.01",
        "--clump-r2",
        "0.1",
        "--clump-kb",
        "500",
    ];
    let mut ours = vec![g, "clump", "--bfile", p, "--clump", &report];
    ours.extend(thresholds);
    ours.extend(["--out", &out_g]);
    let mut theirs = vec!["plink1.9", "--bfile", p, "--clump", &report];
    theirs.extend(["--clump-snp-field", "ID", "--clump-field", "P"]);
    theirs.extend(thresholds);
    theirs.extend(["--out", &out_p]);
    let (tc, rc) = measure("genolens clump", &ours)?;
    let (tq, rq) = measure("plink1.9 --clump", &theirs)?;
    require_same(&out_g, &out_p, &["clumped"], "clump", "plink1.9")?;
    println!(
        "| genolens clump (p1 0.01, r2 0.1, 500 kb) | {tc:.2} | {:.1} |",
        rc as f64 / 1024.0
    );
    println!(
        "| plink1.9 --clump, same | {tq:.2} | {:.1} |",
        rq as f64 / 1024.0
    );
    println!(
        "clump: identical .clumped; time ratio genolens/plink1.9 {:.3}, score test / plink2 logistic {:.3}",
        tc / tq,
        ts / logistic_plink2.max(1e-9)
    );
    Ok(())
}

/// `genolens epistasis` against `plink1.9 --epistasis` (linear, default
/// thresholds) on the real 1000 Genomes EUR chromosome 22 (379 samples, ~6,000
/// variants, ~17 million pairs), same threads; the summaries must be identical.
fn epistasis_bench(g: &str, t: &str, data: &Path) -> Result<(), String> {
    let shared = std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"));
    let eur = shared.join("bolt_lmm_eur_subset_1000g/EUR_subset");
    let pheno = shared.join("bolt_lmm_eur_subset_1000g/EUR_subset.pheno.covars");
    let chr22 = data.join("eur22").to_string_lossy().to_string();
    let eur = eur.to_string_lossy().to_string();
    let pheno = pheno.to_string_lossy().to_string();
    let status = Command::new("plink1.9")
        .args(["--bfile", &eur, "--chr", "22", "--keep-allele-order"])
        .args(["--make-bed", "--out", &chr22])
        .output()
        .map_err(|e| format!("plink1.9: {e}"))?;
    if !status.status.success() {
        return Err("plink1.9 --make-bed (chr22) failed".into());
    }
    let out_g = data.join("eg").to_string_lossy().to_string();
    let out_p = data.join("ep").to_string_lossy().to_string();
    let common = [
        "--bfile",
        &chr22,
        "--pheno",
        &pheno,
        "--pheno-name",
        "PHENO",
    ];
    let mut ours = vec![g, "epistasis", "--threads", t];
    ours.extend(common);
    ours.extend(["--out", &out_g]);
    let mut theirs = vec!["plink1.9", "--threads", t, "--allow-no-sex"];
    theirs.extend(common);
    theirs.extend(["--keep-allele-order", "--epistasis", "--out", &out_p]);
    let (tg, rg) = measure("genolens epistasis", &ours)?;
    let (tp, rp) = measure("plink1.9 --epistasis", &theirs)?;
    require_same(&out_g, &out_p, &["epi.qt.summary"], "epistasis", "plink1.9")?;
    println!(
        "| genolens epistasis (EUR chr22, all pairs) | {tg:.2} | {:.1} |",
        rg as f64 / 1024.0
    );
    println!(
        "| plink1.9 --epistasis, same | {tp:.2} | {:.1} |",
        rp as f64 / 1024.0
    );
    println!(
        "epistasis: identical .epi.qt.summary; time ratio genolens/plink1.9 {:.3}",
        tg / tp
    );
    Ok(())
}

/// Training throughput (samples/s, CPU) of the genotype transformer against
/// the same model in PyTorch (`xtask/torch_train.py`: same layers, width,
/// sequence length, batch, optimiser and loss), same threads, same run.
/// PyTorch comes from the PyPI wheel in the reference venv (`text-env
/// --python-ref`).
fn transformer_bench() -> Result<(), String> {
    let env = text_env(true)?;
    let python = env
        .get("GENOLENS_ST_PYTHON")
        .ok_or("no GENOLENS_ST_PYTHON")?
        .to_string();
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "benches",
        "--bin",
        "transformer-timing",
        "--bin",
        "transformer-parity",
    ]);
    step(
        "cargo build --release -p benches --bin transformer-timing --bin transformer-parity",
        build,
    )?;
    // Loss curves from the same initial weights, same batches, in order.
    let dir = root().join("target/transformer-parity");
    let mut ours = Command::new(root().join("target/release/transformer-parity"));
    ours.arg(&dir).env("RAYON_NUM_THREADS", "1");
    step("transformer-parity", ours)?;
    let out = Command::new(&python)
        .arg(root().join("xtask/torch_parity.py"))
        .arg(&dir)
        .current_dir(root().join("xtask"))
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!(
            "torch_parity.py: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    println!("{text}");
    let worst: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("max_relative_difference "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no max_relative_difference from torch_parity.py")?;
    println!(
        "transformer: largest relative difference of the per-step training losses genolens/PyTorch: {worst:.2e} (limit 1e-3)"
    );
    if worst > 1e-3 {
        return Err(format!("loss curves differ from PyTorch's by {worst:.2e}"));
    }
    // (training, inference) samples/s from a timing run's output.
    let rate = |out: std::process::Output| -> Result<(f64, f64), String> {
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).to_string());
        }
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let value = |key: &str| -> Result<f64, String> {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse().ok())
                .ok_or(format!("no {key}in {text:?}"))
        };
        Ok((value("samples_per_s ")?, value("inference_samples_per_s ")?))
    };
    let mut inference_rows = Vec::new();
    println!("| training, CPU, 1,024 samples, batch 32, width 32, 4 heads | threads | genolens (burn-flex) samples/s | PyTorch samples/s | ratio |");
    println!("|---|---|---|---|---|");
    for (variants, layers) in [(128usize, 1usize), (256, 2)] {
        for threads in ["1", "2"] {
            let ours = rate(
                Command::new(root().join("target/release/transformer-timing"))
                    .args([
                        "1024",
                        &variants.to_string(),
                        &layers.to_string(),
                        "32",
                        "2",
                        "3",
                    ])
                    .env("RAYON_NUM_THREADS", threads)
                    .output()
                    .map_err(|e| e.to_string())?,
            )?;
            let theirs = rate(
                Command::new(&python)
                    .arg(root().join("xtask/torch_train.py"))
                    .args([
                        "--samples",
                        "1024",
                        "--variants",
                        &variants.to_string(),
                        "--layers",
                        &layers.to_string(),
                        "--batch",
                        "32",
                        "--epochs",
                        "2",
                        "--threads",
                        threads,
                        "--repeat",
                        "3",
                    ])
                    .output()
                    .map_err(|e| e.to_string())?,
            )?;
            println!(
                "| {variants} tokens, {layers} layer(s) | {threads} | {:.1} | {:.1} | {:.2} |",
                ours.0,
                theirs.0,
                ours.0 / theirs.0
            );
            inference_rows.push(format!(
                "| {variants} tokens, {layers} layer(s) | {threads} | {:.1} | {:.1} | {:.2} |",
                ours.1,
                theirs.1,
                ours.1 / theirs.1
            ));
        }
    }
    println!("\n| inference, CPU, batches of 256 | threads | genolens samples/s | PyTorch samples/s | ratio |");
    println!("|---|---|---|---|---|");
    for row in inference_rows {
        println!("{row}");
    }
    Ok(())
}

/// Ridge and elastic-net fit times against scikit-learn on the same generated
/// 2,000 × 50,000 matrix with the same penalties (scikit-learn from PyPI in a
/// venv under bench-data/); best of three runs each.
fn fit_bench(data: &Path) -> Result<(), String> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "benches", "--bin", "fit-timing"]);
    step("cargo build --release -p benches --bin fit-timing", build)?;
    let venv = data.join("venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let mut mk = Command::new("python3");
        mk.args(["-m", "venv"]).arg(&venv);
        step("python3 -m venv", mk)?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "-q", "scikit-learn"]);
        step("pip install scikit-learn", pip)?;
    }
    let dir = data.join("fit");
    let dir_s = dir.to_string_lossy().to_string();
    let (n, m, lambda, alpha) = ("2000", "50000", "1000", "0.05");
    let parse = |text: &str, key: &str| -> Result<f64, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            .ok_or(format!("no {key} in output"))?
            .parse()
            .map_err(|_| format!("bad {key}"))
    };
    let run = |cmd: &mut Command| -> Result<String, String> {
        let out = cmd.output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (mut ours, mut theirs) = ([f64::INFINITY; 2], [f64::INFINITY; 2]);
    let (mut ours_text, mut theirs_text) = (String::new(), String::new());
    for _ in 0..3 {
        ours_text = run(Command::new(root().join("target/release/fit-timing"))
            .args([&dir_s, n, m, lambda, alpha]))?;
        theirs_text = run(Command::new(&python)
            .arg(root().join("xtask/sklearn_fit.py"))
            .args([&dir_s, n, m, lambda, alpha]))?;
        for (k, key) in ["ridge_seconds", "elastic_net_seconds"].iter().enumerate() {
            ours[k] = ours[k].min(parse(&ours_text, key)?);
            theirs[k] = theirs[k].min(parse(&theirs_text, key)?);
        }
    }
    // The same solutions: ridge weight norms and elastic-net supports agree.
    for key in ["ridge_weight_norm", "elastic_net_nonzero"] {
        let (a, b) = (parse(&ours_text, key)?, parse(&theirs_text, key)?);
        if (a - b).abs() > 1e-4 * b.abs().max(1.0) {
            return Err(format!("{key}: genolens {a} vs scikit-learn {b}"));
        }
    }
    println!("| fit, {n} × {m} (best of 3) | genolens s | scikit-learn s | ratio |");
    println!("|---|---|---|---|");
    for (k, label) in [
        format!("ridge, λ = {lambda}"),
        format!("elastic net, α = {alpha}, l1_ratio 0.5"),
    ]
    .iter()
    .enumerate()
    {
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} |",
            ours[k],
            theirs[k],
            ours[k] / theirs[k]
        );
    }
    println!(
        "fit: ridge ratio {:.3}, elastic net ratio {:.3} (target <= 1.0)",
        ours[0] / theirs[0],
        ours[1] / theirs[1]
    );
    Ok(())
}

fn bench() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    if args.first().map(String::as_str) == Some("--measure-one") {
        return measure_one(&args[1..]);
    }
    install_tools()?;
    let data = root().join("bench-data");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    if args.iter().any(|a| a == "--fit-only") {
        return fit_bench(&data);
    }
    if args.iter().any(|a| a == "--text-only") {
        return text_bench(&data);
    }
    if args.iter().any(|a| a == "--transformer-only") {
        return transformer_bench();
    }
    let mut build = cargo();
    build.args(["build", "--release", "-p", "genolens-cli"]);
    step("cargo build --release -p genolens-cli", build)?;
    let genolens = root().join("target/release/genolens");
    let g = genolens.to_str().ok_or("non-UTF-8 path")?;
    // A structured cohort (7 populations), so that its principal components are
    // well defined and comparable between tools; plink2 --dummy has no structure.
    let prefix = simulated_cohort(
        g,
        &data,
        "sim_10000x60000",
        (10000, 60000, 1),
        &[
            "--populations",
            "7",
            "--fst",
            "0.03",
            "--missing-rate",
            "0.01",
        ],
    )?;
    let bed = prefix.with_extension("bed");
    let p = prefix.to_str().ok_or("non-UTF-8 path")?;
    let bed_kib = std::fs::metadata(&bed).map_err(|e| e.to_string())?.len() as i64 / 1024;
    let out_g = data.join("g").to_string_lossy().to_string();
    let out_p = data.join("p").to_string_lossy().to_string();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .to_string();
    let t = threads.as_str();

    let (t_info, rss_info) = measure("genolens info", &[g, "info", "--threads", t, "--bfile", p])?;
    let (t_gf, rss_gf) = median_of(
        5,
        "genolens freq",
        &[g, "freq", "--threads", t, "--bfile", p, "--out", &out_g],
    )?;
    let (t_pf, rss_pf) = median_of(
        5,
        "plink2 --freq",
        &[
            "plink2",
            "--threads",
            t,
            "--bfile",
            p,
            "--freq",
            "--out",
            &out_p,
        ],
    )?;
    let qc_flags = ["--freq", "--hardy", "--missing"];
    let mut gq = vec![g, "qc", "--threads", t, "--bfile", p];
    gq.extend(qc_flags);
    gq.extend(["--out", &out_g]);
    let mut pq = vec!["plink2", "--threads", t, "--bfile", p];
    pq.extend(qc_flags);
    pq.extend(["--out", &out_p]);
    let (t_gq, rss_gq) = median_of(5, "genolens qc", &gq)?;
    let (t_pq, rss_pq) = median_of(5, "plink2 --freq --hardy --missing", &pq)?;
    require_same(
        &out_g,
        &out_p,
        &["afreq", "hardy", "smiss", "vmiss"],
        "genolens qc",
        "plink2",
    )?;
    let (t_ga, rss_ga) = measure(
        "genolens pca --approx",
        &[
            g,
            "pca",
            "--threads",
            t,
            "--bfile",
            p,
            "--pca",
            "10",
            "--approx",
            "--out",
            &out_g,
        ],
    )?;
    let (t_pa, rss_pa) = measure(
        "plink2 --pca 10 approx",
        &[
            "plink2",
            "--threads",
            t,
            "--bfile",
            p,
            "--pca",
            "10",
            "approx",
            "--out",
            &out_p,
        ],
    )?;
    let corr = pc_correlations(
        &format!("{out_g}.eigenvec"),
        &format!("{out_p}.eigenvec"),
        5,
    )?;

    println!("| measurement ({t} threads) | wall s | peak RSS MiB |");
    println!("|---|---|---|");
    println!("| .bed size | | {:.1} |", bed_kib as f64 / 1024.0);
    let row = |name: &str, secs: f64, rss: i64| {
        println!("| {name} | {secs:.3} | {:.1} |", rss as f64 / 1024.0);
    };
    row("genolens info (streams every block)", t_info, rss_info);
    row("genolens freq (median of 5)", t_gf, rss_gf);
    row("plink2 --freq (median of 5)", t_pf, rss_pf);
    row(
        "genolens qc --freq --hardy --missing (median of 5)",
        t_gq,
        rss_gq,
    );
    row(
        "plink2 --freq --hardy --missing (median of 5)",
        t_pq,
        rss_pq,
    );
    row("genolens pca --pca 10 --approx", t_ga, rss_ga);
    row("plink2 --pca 10 approx", t_pa, rss_pa);
    println!("freq time ratio genolens/plink2: {:.2}", t_gf / t_pf);
    println!(
        "qc time ratio genolens/plink2: {:.2} (target <= 1.0)",
        t_gq / t_pq
    );
    println!(
        "pca approx time ratio genolens/plink2: {:.2} (target <= 0.5)",
        t_ga / t_pa
    );
    println!(
        "pca approx |r| of PC1..PC5 against plink2: {}",
        corr.iter()
            .map(|c| format!("{c:.5}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if corr.iter().any(|&c| c < 0.99) {
        return Err(format!("approx PCs disagree with plink2's: {corr:?}"));
    }
    if rss_info >= 2 * bed_kib {
        return Err(format!(
            "streaming peak RSS {rss_info} KiB is not below twice the .bed ({bed_kib} KiB)"
        ));
    }
    println!(
        "streaming peak RSS is {:.3}x the .bed size (limit 2x)",
        rss_info as f64 / bed_kib as f64
    );

    gwas_bench(g, p, t, &data)?;
    relatedness_bench(g, t, &data)?;
    lmm_bench(g, t, &data)?;
    wgr_bench(g, t, &data)?;
    epistasis_bench(g, t, &data)?;
    fit_bench(&data)?;
    text_bench(&data)?;
    if args.iter().any(|a| a == "--no-criterion") {
        return Ok(());
    }

    let mut crit = cargo();
    crit.args([
        "bench",
        "-p",
        "benches",
        "--features",
        "bed-reader",
        "--bench",
        "decode",
    ])
    .env("GENOLENS_BENCH_BED", &prefix);
    step("criterion decode benchmark", crit)
}
