//! The main job on bundled data: the 1000 Genomes LCT region (503 Europeans ×
//! 607 variants around the lactase gene).
//!
//! Run with `cargo run --release --example quickstart [OUT_DIR]`. It reads the
//! PLINK fileset, summarizes it, writes PLINK 2-style allele frequencies, converts
//! the VCF of the same region to a `.bed` fileset and checks that both give the same
//! genotypes. The data is looked up in `$GENOLENS_DATA`, else `../shared/data`
//! beside the repository. It grows as genolens gains capabilities.

use std::path::PathBuf;

use genolens::features::qc::{allele_frequencies, summarize, DEFAULT_BLOCK_SIZE};
use genolens::io::plink::{write_bed_fileset, BedFile};
use genolens::io::report::{format_g, write_afreq, AlleleFreqRow};
use genolens::io::vcf::VcfGenotypes;
use genolens::io::GenotypeSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = std::env::var_os("GENOLENS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let out_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("genolens-quickstart"));
    std::fs::create_dir_all(&out_dir)?;
    let lct = data.join("1000g_lct_region_gaston/LCT");

    let bed = BedFile::open(&lct)?;
    let summary = summarize(&bed, DEFAULT_BLOCK_SIZE, &|_| {})?;
    println!(
        "LCT region: {} samples x {} variants on {} chromosome(s); missing-call rate {}",
        summary.n_samples,
        summary.n_variants,
        summary.chromosomes.len(),
        format_g(summary.missing_rate(), 6)
    );

    let counts = allele_frequencies(&bed, DEFAULT_BLOCK_SIZE, &|_| {})?;
    let rows: Vec<AlleleFreqRow> = counts.iter().map(|c| c.afreq_row()).collect();
    let afreq = out_dir.join("LCT.afreq");
    write_afreq(&afreq, bed.variants(), &rows)?;
    // rs4988235 is the classic lactase-persistence variant.
    if let Some((v, c)) = bed
        .variants()
        .iter()
        .zip(&counts)
        .find(|(v, _)| v.id == "rs4988235")
    {
        println!(
            "{} (chr{}:{}): {} allele frequency {}",
            v.id,
            v.chrom,
            v.pos,
            v.allele1,
            format_g(c.alt_freq(), 4)
        );
    }
    println!("wrote {}", afreq.display());

    let vcf = VcfGenotypes::read(data.join("1000g_lct_region_gaston/LCT.vcf.gz"))?;
    let converted = out_dir.join("LCT_from_vcf");
    write_bed_fileset(&vcf, &converted, 1024)?;
    let back = BedFile::open(&converted)?;
    let same = back.read_block(0..back.n_variants())? == vcf.read_block(0..vcf.n_variants())?;
    println!(
        "converted the VCF to {}.bed ({} variants); round trip {}",
        converted.display(),
        back.n_variants(),
        if same { "exact" } else { "DIFFERS" }
    );
    if !same {
        return Err("VCF -> .bed round trip changed genotypes".into());
    }
    Ok(())
}
