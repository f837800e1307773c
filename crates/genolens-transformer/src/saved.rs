//! A trained transformer as a deployable artifact: a JSON description (the
//! configuration, the variants with their alleles, the scalings fitted on the
//! training samples, output and covariate names) and the weights as bytes
//! (named MessagePack). The CLI stores them as `model/model.json` and
//! `model/weights.mpk`; LoRA adapters are merged before saving, so the
//! weights load into a plain model.

use burn::tensor::backend::Backend;

use crate::checkpoint::{model_from_bytes, model_to_bytes};
use crate::error::{Error, Result};
use crate::finetune::Preprocessing;
use crate::model::{GenotypeTransformer, TransformerConfig};

/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// A variant a saved model reads, in token order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedVariant {
    /// Variant ID.
    pub id: String,
    /// Chromosome.
    pub chrom: String,
    /// Base-pair position.
    pub pos: u64,
    /// The counted allele (dosage 2 = two copies).
    pub allele1: String,
    /// The other allele.
    pub allele2: String,
}

/// Everything but the weights.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedTransformer {
    /// Must be `genolens-transformer`.
    pub kind: String,
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The model's sizes (no LoRA: adapters are merged).
    pub config: TransformerConfig,
    /// Scalings fitted on the training samples, and the output kinds.
    pub preprocessing: Preprocessing,
    /// The variants, one per token.
    pub variants: Vec<SavedVariant>,
    /// Output (trait) names.
    pub outputs: Vec<String>,
    /// Covariate names, in the model's order.
    pub covariates: Vec<String>,
}

impl SavedTransformer {
    /// The description as pretty JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Invalid(format!("model JSON: {e}")))
    }

    /// Reads [`SavedTransformer::to_json`], refusing other kinds, newer
    /// versions and inconsistent sizes.
    pub fn from_json(text: &str) -> Result<Self> {
        let saved: Self = serde_json::from_str(text)
            .map_err(|e| Error::Invalid(format!("not a genolens transformer model: {e}")))?;
        if saved.kind != "genolens-transformer" {
            return Err(Error::Invalid(format!(
                "a {:?} model, not a genolens transformer",
                saved.kind
            )));
        }
        if saved.format_version > FORMAT_VERSION {
            return Err(Error::Invalid(format!(
                "model format {} is newer than this genolens reads ({FORMAT_VERSION})",
                saved.format_version
            )));
        }
        saved.config.check()?;
        let n = saved.config.n_variants;
        if saved.variants.len() != n
            || saved.preprocessing.dosages.len() != n
            || saved.outputs.len() != saved.config.n_outputs
            || saved.preprocessing.outputs.len() != saved.config.n_outputs
            || saved.covariates.len() != saved.config.n_covariates
        {
            return Err(Error::Invalid(
                "model description sizes disagree (variants, outputs or covariates)".into(),
            ));
        }
        Ok(saved)
    }

    /// The description of a trained model (LoRA merged by the caller).
    pub fn new(
        config: TransformerConfig,
        preprocessing: Preprocessing,
        variants: Vec<SavedVariant>,
        outputs: Vec<String>,
        covariates: Vec<String>,
    ) -> Result<Self> {
        let saved = Self {
            kind: "genolens-transformer".into(),
            format_version: FORMAT_VERSION,
            config,
            preprocessing,
            variants,
            outputs,
            covariates,
        };
        Self::from_json(&saved.to_json()?)
    }

    /// The weights of `model` as bytes.
    pub fn weights<B: Backend>(model: &GenotypeTransformer<B>) -> Result<Vec<u8>> {
        model_to_bytes(model)
    }

    /// Builds the model and loads `weights` into it.
    pub fn load<B: Backend>(
        &self,
        weights: &[u8],
        device: &B::Device,
    ) -> Result<GenotypeTransformer<B>> {
        let model = GenotypeTransformer::new(&self.config, device)?;
        model_from_bytes(model, weights, device)
    }
}
