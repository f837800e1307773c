//! Genotypes to associations on bundled data: the 1000 Genomes LCT region (503
//! Europeans × 607 variants around the lactase gene) summarized, its allele
//! frequencies written as plink2 --freq does, its VCF converted to a `.bed`
//! fileset and checked against the bundled one, Hardy–Weinberg tests, LD
//! pruning and a PCA whose PC1/PC2 plot is coloured by population; then a GWAS
//! of regenie's example trait with its covariates (λGC, the top hit).
//!
//! Run with `cargo run --release --example gwas [OUT_DIR]`. The data is looked
//! up in `$GENOLENS_DATA`, else `../shared/data` beside the repository.

mod common;

use std::collections::HashMap;

use genolens::assoc::linear::{linear_scan, Covariates, Phenotype};
use genolens::assoc::summary::genomic_control;
use genolens::features::ld::{indep_pairwise, IndepPairwise};
use genolens::features::pca::{pca, PcaMethod, PcaOptions};
use genolens::features::qc::{
    allele_frequencies, count_calls, hardy_rows, summarize, DEFAULT_BLOCK_SIZE,
};
use genolens::io::plink::{write_bed_fileset, BedFile};
use genolens::io::report::{format_g, write_afreq, AlleleFreqRow};
use genolens::io::table::SampleTable;
use genolens::io::table::TableOptions;
use genolens::io::vcf::VcfGenotypes;
use genolens::io::{GenotypeSource, Subset};
use genolens::plot::ScatterPlot;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = common::data_dir();
    let out_dir = common::out_dir("gwas")?;
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

    // QC: Hardy–Weinberg exact tests from one counting pass over the packed calls.
    let calls = count_calls(&bed, DEFAULT_BLOCK_SIZE, &|_| {})?;
    let hardy = hardy_rows(bed.variants(), &calls.variants, false);
    let out_of_hwe = hardy.iter().filter(|(_, r)| r.p < 1e-6).count();
    println!(
        "Hardy-Weinberg: {out_of_hwe} of {} variants with p < 1e-6",
        hardy.len()
    );

    // LD pruning as plink2 --indep-pairwise 50 5 0.2, then PCA on what is kept.
    let params = IndepPairwise {
        window: 50,
        step: 5,
        r2: 0.2,
    };
    let pruned = indep_pairwise(&bed, params, &|_| {})?;
    println!(
        "LD pruning (50 5 0.2): {} kept, {} pruned",
        pruned.kept.len(),
        pruned.pruned.len()
    );
    let kept = Subset::new(&bed, None, Some(pruned.kept.clone()))?;
    let pcs = pca(&kept, &PcaOptions::new(5, PcaMethod::Exact), &|_| {})?;
    println!(
        "PCA eigenvalues: {}",
        pcs.eigenvalues
            .iter()
            .map(|x| format_g(*x, 4))
            .collect::<Vec<_>>()
            .join(" ")
    );

    // Colour PC1/PC2 by population and report each population's mean PC1.
    let labels = SampleTable::read_labels(
        data.join("1000g_lct_region_gaston/LCT.pop.tsv"),
        "population",
    )?;
    let pop: HashMap<&str, &str> = labels
        .iter()
        .filter_map(|(id, l)| l.as_deref().map(|l| (id.iid.as_str(), l)))
        .collect();
    let groups: Vec<&str> = bed
        .samples()
        .iter()
        .map(|s| pop.get(s.id.iid.as_str()).copied().unwrap_or("unknown"))
        .collect();
    let mut means: HashMap<&str, (f64, usize)> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        let e = means.entry(g).or_default();
        e.0 += pcs.eigenvectors[(i, 0)];
        e.1 += 1;
    }
    let mut means: Vec<(&str, f64)> = means
        .into_iter()
        .map(|(g, (sum, n))| (g, sum / n as f64))
        .collect();
    means.sort_by(|a, b| a.1.total_cmp(&b.1));
    println!(
        "mean PC1 by population: {}",
        means
            .iter()
            .map(|(g, m)| format!("{g} {}", format_g(*m, 3)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let png = out_dir.join("LCT.pca.png");
    ScatterPlot::new()
        .title("LCT region, LD-pruned: PC1 vs PC2")
        .x_label("PC1")
        .y_label("PC2")
        .points(
            groups
                .iter()
                .enumerate()
                .map(|(i, g)| (pcs.eigenvectors[(i, 0)], pcs.eigenvectors[(i, 1)], *g)),
        )
        .write_png(&png)?;
    println!("wrote {}", png.display());

    // GWAS: regenie's quantitative example trait Y1 with its three covariates,
    // as plink2 --glm would run it.
    let regenie = data.join("regenie_example");
    let example = BedFile::open(regenie.join("example"))?;
    let ids: Vec<_> = example.samples().iter().map(|s| s.id.clone()).collect();
    let (pheno, _) =
        SampleTable::read_phenotypes(regenie.join("phenotype.txt"), &TableOptions::default())?
            .align(&ids)?;
    let (covar, _) =
        SampleTable::read_covariates(regenie.join("covariates.txt"), &TableOptions::default())?
            .align(&ids)?;
    let y1: Vec<f64> = pheno.values.column(0).to_vec();
    let scan = linear_scan(
        &example,
        &[Phenotype {
            name: "Y1",
            values: &y1,
        }],
        &Covariates {
            names: &covar.names,
            values: covar.values.view(),
        },
        256,
        &|_| {},
    )?;
    let tests = &scan.tests[0];
    let ln_p: Vec<f64> = tests.iter().map(|t| t.ln_p).collect();
    let top = (0..tests.len())
        .filter(|&v| tests[v].error.is_none())
        .min_by(|&a, &b| ln_p[a].total_cmp(&ln_p[b]))
        .ok_or("no variant tested")?;
    println!(
        "GWAS regenie Y1 ({} variants, covariates {}): lambda GC {}, top variant {} (beta {}, p {})",
        tests.len(),
        covar.names.join(", "),
        genomic_control(&ln_p).map_or("NA".into(), |l| format_g(l, 4)),
        example.variants()[top].id,
        format_g(tests[top].beta, 4),
        format_g(tests[top].p(), 3)
    );

    Ok(())
}
