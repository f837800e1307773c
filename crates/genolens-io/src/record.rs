//! Records shared by every format: samples and variants.

use std::fmt;

/// A sample's identity, as PLINK keys it: family ID and individual ID.
///
/// Formats without family IDs (VCF, `#IID`-only tables) use `"0"` as the family ID,
/// as PLINK 2 does when it writes a `.fam` from such a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SampleId {
    /// Family ID (`FID`).
    pub fid: String,
    /// Individual ID (`IID`).
    pub iid: String,
}

impl SampleId {
    /// A sample ID from its two parts.
    pub fn new(fid: impl Into<String>, iid: impl Into<String>) -> Self {
        Self {
            fid: fid.into(),
            iid: iid.into(),
        }
    }
}

impl fmt::Display for SampleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.fid, self.iid)
    }
}

/// Sex as coded in column 5 of a `.fam` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Sex {
    /// Code 1.
    Male,
    /// Code 2.
    Female,
    /// Code 0 or anything else.
    #[default]
    Unknown,
}

impl Sex {
    /// The `.fam` code: 1, 2 or 0.
    pub fn code(self) -> u8 {
        match self {
            Sex::Male => 1,
            Sex::Female => 2,
            Sex::Unknown => 0,
        }
    }
}

/// One sample's row of a `.fam` file: identity, parents, sex and the legacy
/// phenotype column.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Family and individual ID.
    pub id: SampleId,
    /// Paternal individual ID (`"0"` when unknown).
    pub father: String,
    /// Maternal individual ID (`"0"` when unknown).
    pub mother: String,
    /// Sex.
    pub sex: Sex,
    /// The sixth `.fam` column, verbatim (`-9` when absent).
    pub phenotype: String,
}

impl Sample {
    /// A sample with unknown parents, sex and phenotype.
    pub fn new(id: SampleId) -> Self {
        Self {
            id,
            father: "0".into(),
            mother: "0".into(),
            sex: Sex::Unknown,
            phenotype: "-9".into(),
        }
    }
}

/// Chromosome classes that change how genotypes are counted (ploidy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChromKind {
    /// Autosomes and unplaced contigs: diploid for everybody.
    Autosome,
    /// X outside the pseudo-autosomal region: haploid in males.
    X,
    /// Y: haploid in males, absent in females.
    Y,
    /// Mitochondria: haploid for everybody.
    Mt,
}

/// A chromosome code as PLINK 2 prints it: `23`→`X`, `24`→`Y`, `25`→`XY`,
/// `26`/`M`→`MT`, and a leading `chr` removed.
pub fn plink_chrom(chrom: &str) -> &str {
    let c = chrom.strip_prefix("chr").unwrap_or(chrom);
    match c {
        "23" => "X",
        "24" => "Y",
        "25" => "XY",
        "26" | "M" => "MT",
        other => other,
    }
}

/// One variant: position, identifier and its two alleles.
///
/// `allele1` is the counted allele: dosages count copies of it. In a `.bim` file it
/// is column 5 (PLINK 2 calls it ALT); in a VCF it is the ALT allele.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Chromosome code as written in the source (`"1"`, `"23"`, `"X"`, `"chr2"`, ...).
    pub chrom: String,
    /// 1-based base-pair position.
    pub pos: u64,
    /// Variant ID (`"."` when absent).
    pub id: String,
    /// Genetic position in centimorgans (0 when unknown).
    pub cm: f64,
    /// The counted allele (ALT).
    pub allele1: String,
    /// The other allele (REF).
    pub allele2: String,
}

impl Variant {
    /// The chromosome as PLINK 2 prints it: `23`→`X`, `24`→`Y`, `25`→`XY`,
    /// `26`→`MT`, and a leading `chr` removed.
    pub fn plink_chrom(&self) -> &str {
        plink_chrom(&self.chrom)
    }

    /// The ploidy class of this variant's chromosome.
    pub fn chrom_kind(&self) -> ChromKind {
        match self.plink_chrom() {
            "X" => ChromKind::X,
            "Y" => ChromKind::Y,
            "MT" => ChromKind::Mt,
            _ => ChromKind::Autosome,
        }
    }
}
