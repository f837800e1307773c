//! The whole study in one call: [`Pipeline`] runs the configured steps into
//! `OUT/<step>/`, skips a step whose inputs, options and genolens version are
//! unchanged since it last finished (its `manifest.json` says why), and
//! renders `OUT/report.html`.
//!
//! A step's manifest is removed before the step runs and written (atomically)
//! only when it has finished, so a run killed during a step reruns that step
//! and nothing before it.

pub mod config;
pub mod report;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use config::{ExplainConfig, StudyConfig, EXAMPLE_CONFIG};
pub use report::render_report;

use crate::explain::attribution::{ExplainOptions, Method};
use crate::explain::mapping::{GeneAssignment, MappingOptions};
use crate::io::AtomicFile;
use crate::study::explain::{run_explain, ExplainOutcome, ExplainStepOptions};
use crate::study::gwas::{run_gwas, GwasOutcome};
use crate::study::pca::{run_pca, PcaOutcome};
use crate::study::predict::{run_predict, PredictOutcome};
use crate::study::prior::{load_prior, run_prior, PriorOutcome};
use crate::study::qc::{run_qc, QcOutcome};
use crate::study::train::{run_train, TrainOutcome};
use crate::study::{with_suffix, GenotypeFiles, GenotypeInput, Progress};
use crate::{Error, Result};
use report::{best_model, extremes, read_scores};

/// The genolens version that wrote a manifest; a new version reruns every step.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One input file's identity in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputDigest {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

impl InputDigest {
    /// Reads `path` and digests it.
    pub fn of(path: &Path) -> Result<Self> {
        let file_error = |source| Error::File {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(file_error)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(file_error)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            sha256: hex(&hasher.finalize()),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a finished step leaves in `OUT/<step>/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest<T> {
    /// The genolens version that ran the step.
    pub genolens: String,
    /// The step's name.
    pub step: String,
    /// SHA-256 over the version, the options and the input digests: the step
    /// is skipped when it is unchanged.
    pub fingerprint: String,
    /// The options the step ran with (the configuration's sections it reads).
    pub options: serde_json::Value,
    /// The inputs it read.
    pub inputs: Vec<InputDigest>,
    /// Its wall time in seconds.
    pub wall_s: f64,
    /// Its outcome, as the report reads it.
    pub outcome: T,
}

/// Whether a step ran or was reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    /// The step ran in this call.
    Ran,
    /// Its manifest matched: the outputs of an earlier run were kept.
    Skipped,
}

/// One step of a pipeline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step (`gwas`, `report`, ...).
    pub name: String,
    /// Ran or skipped.
    pub status: StepStatus,
    /// Wall time in seconds (of the run that produced the outputs).
    pub wall_s: f64,
}

/// What a study produced, for a Rust caller (the report shows the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// The output directory.
    pub out: PathBuf,
    /// The steps, in order.
    pub steps: Vec<StepRecord>,
    /// The gene-prior step's outcome, when the prior is mined from a corpus.
    pub prior: Option<PriorOutcome>,
    /// The QC step's outcome, if it is configured.
    pub qc: Option<QcOutcome>,
    /// The population-structure step's outcome, if it is configured.
    pub pca: Option<PcaOutcome>,
    /// The association step's outcome, if it is configured.
    pub gwas: Option<GwasOutcome>,
    /// The prediction step's outcome, if it is configured.
    pub predict: Option<PredictStep>,
    /// The transformer step's outcome, if it is configured.
    pub transformer: Option<TrainOutcome>,
    /// The explanation step's outcome, if it is configured.
    pub explain: Option<ExplainOutcome>,
    /// The rendered report.
    pub report: PathBuf,
}

/// The record of a study that `genolens report OUT` re-renders from:
/// `OUT/study.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    /// The genolens version.
    pub genolens: String,
    /// The configuration file, if the study came from one.
    pub config_path: Option<PathBuf>,
    /// Its text, verbatim (the report quotes it).
    pub config_text: String,
    /// The configuration with every path resolved.
    pub config: StudyConfig,
}

/// A configured study.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    config: StudyConfig,
    config_path: Option<PathBuf>,
    config_text: String,
}

impl Pipeline {
    /// Reads and checks a TOML configuration; every missing file or
    /// inconsistent option is reported here, before any work starts.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let config = StudyConfig::read(path)?;
        config.validate(path)?;
        let config_text = std::fs::read_to_string(path).map_err(|source| Error::File {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            config,
            config_path: Some(path.to_path_buf()),
            config_text,
        })
    }

    /// A study configured from code (paths as given); checked like a file.
    pub fn from_config(config: StudyConfig) -> Result<Self> {
        config.validate(Path::new("<config>"))?;
        let config_text = toml::to_string_pretty(&config).map_err(|e| Error::Config {
            path: PathBuf::from("<config>"),
            reason: e.to_string(),
        })?;
        Ok(Self {
            config,
            config_path: None,
            config_text,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &StudyConfig {
        &self.config
    }

    /// Runs every configured step (skipping the unchanged ones) and renders
    /// the report. `progress` hears each step's stages and a line per step.
    pub fn run(&self, progress: &dyn PipelineProgress) -> Result<StudyReport> {
        let out = &self.config.out;
        create_dir(out)?;
        let record = StudyRecord {
            genolens: VERSION.to_string(),
            config_path: self.config_path.clone(),
            config_text: self.config_text.clone(),
            config: self.config.clone(),
        };
        write_json(&out.join("study.json"), &record)?;
        let mut steps = Vec::new();

        let prior = match self.config.prior_step_options() {
            None => None,
            Some(options) => {
                let p = self.config.prior.as_ref();
                let inputs: Vec<PathBuf> = p
                    .map(|p| {
                        [
                            &p.corpus,
                            &p.gene_names,
                            &p.gene_aliases,
                            &p.disease_corpus,
                            &p.tune_genes,
                        ]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect()
                    })
                    .unwrap_or_default();
                let section = serde_json::json!({ "prior": p });
                let outcome =
                    run_step(out, "prior", section, &inputs, progress, &mut steps, |p| {
                        run_prior(&options, p)
                    })?;
                Some(outcome)
            }
        };

        let qc = match self.config.qc_options() {
            None => None,
            Some(options) => {
                let inputs = step_inputs(&options.input, []);
                let section = serde_json::json!({
                    "input": self.genotype_section(),
                    "qc": &self.config.qc,
                });
                let outcome = run_step(out, "qc", section, &inputs, progress, &mut steps, |p| {
                    run_qc(&options, p)
                })?;
                Some(outcome)
            }
        };

        let pca = match self.config.pca_options(out.join("pca").join("pca")) {
            None => None,
            Some(options) => {
                let inputs = step_inputs(
                    &options.input,
                    options.labels.as_ref().map(|l| l.path.clone()),
                );
                let section = serde_json::json!({
                    "input": self.genotype_section(),
                    "qc": &self.config.qc,
                    "pca": &self.config.pca,
                });
                let outcome = run_step(out, "pca", section, &inputs, progress, &mut steps, |p| {
                    run_pca(&options, p)
                })?;
                Some(outcome)
            }
        };

        let gwas = match self.config.gwas_options(out.join("gwas").join("gwas")) {
            None => None,
            Some(options) => {
                let inputs = step_inputs(
                    &options.input,
                    self.table_inputs(options.prior.as_ref())
                        .into_iter()
                        .chain(options.pc_file.as_ref().map(|(path, _)| path.clone())),
                );
                let section = serde_json::json!({
                    "input": &self.config.input,
                    "gwas": &self.config.gwas,
                    "prior": self.prior_section(options.prior.is_some()),
                });
                let outcome = run_step(out, "gwas", section, &inputs, progress, &mut steps, |p| {
                    run_gwas(&options, p)
                })?;
                Some(outcome)
            }
        };

        let runs = self.config.predict_options(&out.join("predict"));
        let predict = if runs.is_empty() {
            None
        } else {
            let inputs = self.model_inputs(&runs[0].input, runs[0].prior.as_ref());
            let section = serde_json::json!({
                "input": &self.config.input,
                "predict": &self.config.predict,
                "prior": self.prior_section(runs[0].prior.is_some()),
            });
            let outcome = run_step(
                out,
                "predict",
                section,
                &inputs,
                progress,
                &mut steps,
                |p| {
                    let models = runs
                        .iter()
                        .map(|options| run_predict(options, p))
                        .collect::<Result<Vec<_>>>()?;
                    let written = models.iter().flat_map(|m| m.written.clone()).collect();
                    Ok(PredictStep { models, written })
                },
            )?;
            Some(outcome)
        };

        let transformer = match self.config.transformer_options(out.join("transformer")) {
            None => None,
            Some(options) => {
                let inputs = self.model_inputs(&options.input, options.prior.as_ref());
                let section = serde_json::json!({
                    "input": &self.config.input,
                    "transformer": &self.config.transformer,
                    "folds": self.config.predict.as_ref().map(|p| (p.folds, p.seed, &p.fold_file)),
                    "prior": self.prior_section(options.prior.is_some()),
                });
                let outcome = run_step(
                    out,
                    "transformer",
                    section,
                    &inputs,
                    progress,
                    &mut steps,
                    |p| run_train(&options, p),
                )?;
                Some(outcome)
            }
        };

        let explain = match (&self.config.explain, &predict) {
            (Some(config), Some(predict)) => {
                Some(self.explain_step(config, predict, progress, &mut steps)?)
            }
            _ => None,
        };

        let started = Instant::now();
        progress.start("report", None, "");
        let report = render_report(out)?;
        progress.finish();
        let wall_s = started.elapsed().as_secs_f64();
        progress.step_done("report", StepStatus::Ran, wall_s);
        steps.push(StepRecord {
            name: "report".into(),
            status: StepStatus::Ran,
            wall_s,
        });
        Ok(StudyReport {
            out: out.clone(),
            steps,
            prior,
            qc,
            pca,
            gwas,
            predict,
            transformer,
            explain,
            report,
        })
    }

    /// The configured input's genotype keys, as the steps that read the
    /// genotypes fingerprint them.
    fn genotype_section(&self) -> serde_json::Value {
        let i = &self.config.input;
        serde_json::json!({
            "bfile": &i.bfile,
            "vcf": &i.vcf,
            "extract": &i.extract,
            "keep": &i.keep,
        })
    }

    /// The `[prior]` section for a step's fingerprint, when the step uses it.
    fn prior_section(&self, used: bool) -> serde_json::Value {
        if used {
            serde_json::to_value(&self.config.prior).unwrap_or_default()
        } else {
            serde_json::Value::Null
        }
    }

    /// The phenotype and covariate tables, and a prior's table and gene map.
    /// The files a model step (prediction, transformer) reads: the genotypes,
    /// the tables, the prior and the prediction step's fold file.
    fn model_inputs(
        &self,
        input: &GenotypeInput,
        prior: Option<&crate::study::prior::PriorInput>,
    ) -> Vec<PathBuf> {
        let fold_file = self
            .config
            .predict
            .as_ref()
            .and_then(|p| p.fold_file.clone());
        step_inputs(input, self.table_inputs(prior).into_iter().chain(fold_file))
    }

    fn table_inputs(&self, prior: Option<&crate::study::prior::PriorInput>) -> Vec<PathBuf> {
        let i = &self.config.input;
        std::iter::once(i.pheno.clone())
            .chain(i.covar.clone())
            .chain(
                prior
                    .into_iter()
                    .flat_map(|p| [p.prior.clone(), p.gene_map.clone()]),
            )
            .collect()
    }

    /// The explanation step: the chosen (or best) prediction model, for the
    /// cohort and for the people at both ends of its out-of-fold score.
    fn explain_step(
        &self,
        config: &ExplainConfig,
        predict: &PredictStep,
        progress: &dyn PipelineProgress,
        steps: &mut Vec<StepRecord>,
    ) -> Result<ExplainOutcome> {
        let out = &self.config.out;
        let model = match &config.model {
            Some(name) => predict.models.iter().find(|m| &m.model == name),
            None => best_model(&predict.models),
        }
        .ok_or_else(|| Error::Invalid("explain: no prediction model to explain".into()))?;
        let dir = out.join("explain");
        create_dir(&dir)?;
        // The people: both ends of the model's out-of-fold score, as the
        // report's per-person section lists them.
        let scores = read_scores(&model.predictions)?;
        let people = dir.join("people.txt");
        let mut list = String::new();
        for k in extremes(scores.len(), config.people) {
            list.push_str(&format!("{}\t{}\n", scores[k].fid, scores[k].iid));
        }
        let mut f = AtomicFile::create(&people)?;
        f.write_all(list.as_bytes())?;
        f.commit()?;
        let method = match config.method.as_deref() {
            Some("permutation") => Method::Permutation,
            _ => Method::Shap,
        };
        let priors = match &self.config.prior {
            Some(_) => match self.config.prior_table() {
                Some(t) => Some(load_prior(&t, None, &mut String::new())?),
                None => None,
            },
            None => None,
        };
        let window_kb = self.config.prior.as_ref().map_or(25.0, |p| p.window_kb);
        let options = ExplainStepOptions {
            model: model.model_file.clone(),
            input: self.config.genotype_input(),
            method: ExplainOptions {
                seed: config.seed,
                ..ExplainOptions::new(method)
            },
            method_given: config.method.is_some(),
            // Permutation importance is measured against the phenotype.
            samples: (method != Method::Permutation).then(|| people.clone()),
            pheno: (method == Method::Permutation).then(|| {
                (
                    self.config.input.pheno.clone(),
                    Some(model.phenotype.clone()),
                )
            }),
            case_control_01: self.config.input.case_control_01,
            covar: self.config.input.covar.clone(),
            gene_map: self.config.input.gene_map.clone(),
            mapping: MappingOptions {
                window_kb,
                assignment: GeneAssignment::AllInWindow,
            },
            priors,
            top: config.top,
            out: dir.join(&model.model),
        };
        let inputs = step_inputs(
            &options.input,
            [Some(options.model.clone()), Some(people)]
                .into_iter()
                .chain([
                    options.covar.clone(),
                    options.pheno.as_ref().map(|p| p.0.clone()),
                    options.gene_map.clone(),
                    self.config.prior_table(),
                ])
                .flatten(),
        );
        let section = serde_json::json!({
            "explain": config,
            "model": &model.model,
            "prior": &self.config.prior,
            "gene_map": &self.config.input.gene_map,
        });
        run_step(out, "explain", section, &inputs, progress, steps, |p| {
            run_explain(&options, p)
        })
    }
}

/// Progress of a pipeline: each step's stages (as [`Progress`]) and a line
/// when a step is done or skipped.
pub trait PipelineProgress: Progress {
    /// `step` finished (`Ran`, in `wall_s` seconds) or was skipped.
    fn step_done(&self, step: &str, status: StepStatus, wall_s: f64);
}

impl PipelineProgress for crate::study::NoProgress {
    fn step_done(&self, _step: &str, _status: StepStatus, _wall_s: f64) {}
}

/// Outcomes that list the files they wrote (a step is only reused while
/// they all exist).
pub trait StepOutcome: Serialize + DeserializeOwned {
    /// Every file the step wrote.
    fn written(&self) -> &[PathBuf];
}

/// The prediction step: every configured model on the same folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictStep {
    /// One outcome per model, in the configuration's order.
    pub models: Vec<PredictOutcome>,
    /// Every file written.
    pub written: Vec<PathBuf>,
}

/// Every step outcome keeps the list of what it wrote in `written`.
macro_rules! step_outcomes {
    ($($outcome:ty),*) => {$(
        impl StepOutcome for $outcome {
            fn written(&self) -> &[PathBuf] {
                &self.written
            }
        }
    )*};
}

step_outcomes!(
    PredictStep,
    TrainOutcome,
    ExplainOutcome,
    PriorOutcome,
    QcOutcome,
    PcaOutcome,
    GwasOutcome
);

/// Runs one step in `OUT/<name>/` unless its manifest matches, records it in
/// `steps`, and returns its outcome.
fn run_step<T: StepOutcome>(
    out: &Path,
    name: &str,
    options: serde_json::Value,
    inputs: &[PathBuf],
    progress: &dyn PipelineProgress,
    steps: &mut Vec<StepRecord>,
    work: impl FnOnce(&dyn Progress) -> Result<T>,
) -> Result<T> {
    let digests = inputs
        .iter()
        .map(|p| InputDigest::of(p))
        .collect::<Result<Vec<_>>>()?;
    let fingerprint = {
        let mut h = Sha256::new();
        h.update(VERSION.as_bytes());
        h.update(name.as_bytes());
        h.update(options.to_string().as_bytes());
        for d in &digests {
            h.update(d.sha256.as_bytes());
        }
        hex(&h.finalize())
    };
    let manifest_path = manifest_path(out, name);
    if let Some(old) = read_manifest::<T>(&manifest_path) {
        if old.fingerprint == fingerprint && old.outcome.written().iter().all(|p| p.exists()) {
            progress.step_done(name, StepStatus::Skipped, old.wall_s);
            steps.push(StepRecord {
                name: name.into(),
                status: StepStatus::Skipped,
                wall_s: old.wall_s,
            });
            return Ok(old.outcome);
        }
    }
    // A killed step must not leave a manifest that vouches for its outputs.
    if manifest_path.exists() {
        std::fs::remove_file(&manifest_path).map_err(|source| Error::File {
            path: manifest_path.clone(),
            source,
        })?;
    }
    create_dir(&out.join(name))?;
    let started = Instant::now();
    let outcome = work(progress)?;
    let wall_s = started.elapsed().as_secs_f64();
    let manifest = Manifest {
        genolens: VERSION.to_string(),
        step: name.to_string(),
        fingerprint,
        options,
        inputs: digests,
        wall_s,
        outcome,
    };
    write_json(&manifest_path, &manifest)?;
    progress.step_done(name, StepStatus::Ran, wall_s);
    steps.push(StepRecord {
        name: name.into(),
        status: StepStatus::Ran,
        wall_s,
    });
    Ok(manifest.outcome)
}

/// `OUT/<step>/manifest.json`.
pub fn manifest_path(out: &Path, step: &str) -> PathBuf {
    out.join(step).join("manifest.json")
}

/// A step's manifest, if present and readable by this version.
pub fn read_manifest<T: DeserializeOwned>(path: &Path) -> Option<Manifest<T>> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The files a step reads: the genotype files of `input` (a fileset's
/// `.bed/.bim/.fam` or the VCF) with its extract and keep lists, then
/// `extra`, each once.
fn step_inputs(input: &GenotypeInput, extra: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let genotypes: Vec<PathBuf> = match &input.files {
        GenotypeFiles::Bfile(prefix) => ["bed", "bim", "fam"]
            .iter()
            .map(|ext| with_suffix(prefix, ext))
            .collect(),
        GenotypeFiles::Vcf(path, _) | GenotypeFiles::Matrix(path, _) => vec![path.clone()],
        GenotypeFiles::Pfile(prefix) => {
            let (pgen, pvar, psam) = crate::io::pgen::pfile_paths(prefix);
            vec![pgen, pvar, psam]
        }
        GenotypeFiles::Bgen { path, sample, .. } => std::iter::once(path.clone())
            .chain(sample.clone())
            .collect(),
    };
    let mut seen = std::collections::HashSet::new();
    genotypes
        .into_iter()
        .chain(input.extract.clone())
        .chain(input.keep.clone())
        .chain(extra)
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|source| Error::File {
        path: path.to_path_buf(),
        source,
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::File {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    let mut f = AtomicFile::create(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.commit()?;
    Ok(())
}

/// Reads `OUT/study.json`.
pub fn read_study(out: &Path) -> Result<StudyRecord> {
    let path = out.join("study.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::File {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::Config {
        path,
        reason: format!("not a genolens study record: {e}"),
    })
}
