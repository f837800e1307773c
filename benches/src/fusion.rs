//! The data of the fusion benchmark: the 1000 Genomes EUR subset, glist-hg19
//! and a literature prior mined from BioRED's three splits, with the gene
//! dictionary tuned on BioRED's training split and the disease dictionary of
//! NCBI-disease's training split.

use std::collections::HashMap;
use std::path::Path;

use genolens::explain::prior::{
    literature_prior, GeneEmbedding, GenePriors, LiteratureOptions, LiteratureSummary,
};
use genolens::io::corpus::{Corpus, MentionCheck};
use genolens::io::genes::{read_gene_names, GeneAliases, GeneMap};
use genolens::io::plink::BedFile;
use genolens::text::mention::{
    disease_dictionary, gene_dictionary, tune_gene_dictionary, GeneRules, MentionExtractor,
};

/// Genotypes, gene positions and the prior.
pub struct FusionData {
    /// The EUR subset (GRCh37).
    pub bed: BedFile,
    /// glist-hg19.
    pub map: GeneMap,
    /// The literature prior for the query.
    pub priors: GenePriors,
    /// What the literature step found.
    pub summary: LiteratureSummary,
}

impl FusionData {
    /// Reads everything from the data directory and mines the prior for
    /// `query`, with TF-IDF gene embeddings of width `embedding` when given.
    pub fn load(
        data: &Path,
        query: &str,
        embedding: Option<usize>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let bed = BedFile::open(data.join("bolt_lmm_eur_subset_1000g/EUR_subset"))?;
        let map = GeneMap::read(data.join("gene_annotations/glist-hg19.txt"))?;
        let names = read_gene_names(data.join("gene_annotations/genes_GRCh38_orgHsEgDb.tsv"))?;
        let aliases = GeneAliases::read(data.join("gene_annotations/gene_aliases_orgHsEgDb.tsv"))?;
        let mut genes = gene_dictionary(&names, &aliases, &GeneRules::default());
        let pubtator =
            |split: &str| Corpus::read_pubtator(data.join(format!("biored/{split}.PubTator")));
        let train = Corpus::read_pubtator_with(
            data.join("biored/Train.PubTator"),
            MentionCheck::TrimWhitespace,
        )?;
        tune_gene_dictionary(&mut genes, &train);
        let ncbi = Corpus::read_pubtator_with(
            data.join("ncbi_disease_corpus/NCBItrainset_corpus.txt"),
            MentionCheck::TrimWhitespace,
        )?;
        let extractor = MentionExtractor::new()
            .with_genes(genes)
            .with_diseases(disease_dictionary(&ncbi, 0.5).0)
            .with_variants(true);
        let mut documents = Vec::new();
        for split in ["Train", "Dev", "Test"] {
            documents.extend(pubtator(split)?.documents);
        }
        let symbols: HashMap<String, String> = names
            .iter()
            .map(|g| (g.entrez_id.to_string(), g.symbol.clone()))
            .collect();
        let (priors, summary) = literature_prior(
            &Corpus { documents },
            &extractor,
            query,
            &symbols,
            embedding.map_or(GeneEmbedding::None, GeneEmbedding::TfIdf),
            &LiteratureOptions::default(),
            &|_| {},
        )?;
        Ok(Self {
            bed,
            map,
            priors,
            summary,
        })
    }
}
