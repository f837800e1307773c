//! Loss-curve parity with PyTorch, for `cargo xtask bench --transformer-only`.
//!
//! `transformer-parity DIR [SAMPLES VARIANTS LAYERS BATCH STEPS]`: a freshly
//! initialised genotype transformer (seed 1, width 32, 4 heads, feed-forward
//! 64, dropout 0) takes STEPS AdamW steps (lr 1e-3, weight decay 1e-4,
//! burn's defaults otherwise) on consecutive batches of seeded random
//! genotypes, in order. DIR receives the initial weights in module order
//! (`params.bin`, f32 little-endian; shapes in `meta.json`), the batches'
//! classes, standardised dosages and targets, and each step's loss
//! (`losses.txt`); `xtask/torch_parity.py DIR` takes the same steps in
//! PyTorch from the same weights and compares.

use std::io::Write;
use std::path::PathBuf;

use ndarray::Array2;

use burn_optim::{AdamWConfig, GradientsParams, Optimizer};
use genolens::transformer::burn::module::{Module, ModuleVisitor, Param};
use genolens::transformer::burn::tensor::backend::Backend;
use genolens::transformer::burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use genolens::transformer::model::{GenotypeTransformer, TransformerConfig};
use genolens::transformer::tokens::{DosageScaling, GenotypeTokens};
use genolens::transformer::CpuBackend as Cpu;

/// Every float parameter, in module order.
struct Weights {
    values: Vec<f32>,
    shapes: Vec<Vec<usize>>,
}

impl<B: Backend> ModuleVisitor<B> for Weights {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let tensor = param.val();
        self.shapes.push(tensor.dims().to_vec());
        let data = tensor.into_data().convert::<f32>();
        self.values
            .extend(data.to_vec::<f32>().expect("float parameters"));
    }
}

fn write(path: PathBuf, bytes: &[u8]) {
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: transformer-parity DIR [SAMPLES VARIANTS LAYERS BATCH STEPS]");
        std::process::exit(2);
    };
    let numbers: Vec<usize> = args[1..]
        .iter()
        .map(|a| a.parse().expect("numeric arguments"))
        .collect();
    let [samples, variants, layers, batch, steps] = match numbers[..] {
        [] => [512, 128, 1, 32, 16],
        [a, b, c, d, e] => [a, b, c, d, e],
        _ => {
            eprintln!("usage: transformer-parity DIR [SAMPLES VARIANTS LAYERS BATCH STEPS]");
            std::process::exit(2);
        }
    };
    std::fs::create_dir_all(&dir).expect("output directory");
    // Seeded data: classes 0/1/2, dosages standardised by genolens' own
    // scaling, a trait carried by the first variants.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let classes: Vec<u8> = (0..samples * variants)
        .map(|_| (next() % 3) as u8)
        .collect();
    let calls = Array2::from_shape_fn((samples, variants), |(i, v)| {
        f32::from(classes[i * variants + v])
    });
    let tokens = GenotypeTokens::from_dosages(calls.view()).expect("tokens");
    let scaling = DosageScaling::fit(&tokens);
    let dosages: Vec<f32> = (0..samples * variants)
        .map(|k| scaling.value(k % variants, classes[k]))
        .collect();
    let targets: Vec<f32> = (0..samples)
        .map(|i| {
            let signal: f32 = (0..variants.min(8))
                .map(|v| dosages[i * variants + v])
                .sum();
            0.3 * signal + ((next() % 1000) as f32 / 1000.0 - 0.5)
        })
        .collect();

    let device = Default::default();
    Cpu::seed(&device, 1);
    let mut config = TransformerConfig::new(variants);
    config.n_layers = layers;
    config.dropout = 0.0;
    let mut model = GenotypeTransformer::<Cpu>::new(&config, &device).expect("model");
    let mut weights = Weights {
        values: Vec::new(),
        shapes: Vec::new(),
    };
    model.visit(&mut weights);
    let bytes: Vec<u8> = weights
        .values
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    write(dir.join("params.bin"), &bytes);
    write(dir.join("classes.bin"), &classes);
    let bytes: Vec<u8> = dosages.iter().flat_map(|v| v.to_le_bytes()).collect();
    write(dir.join("dosages.bin"), &bytes);
    let bytes: Vec<u8> = targets.iter().flat_map(|v| v.to_le_bytes()).collect();
    write(dir.join("targets.bin"), &bytes);
    let (lr, weight_decay) = (1e-3, 1e-4);
    let meta = serde_json::json!({
        "samples": samples, "variants": variants, "layers": layers, "batch": batch,
        "d_model": config.d_model, "heads": config.n_heads, "d_ff": config.d_ff,
        "lr": lr, "weight_decay": weight_decay, "shapes": weights.shapes,
    });
    write(dir.join("meta.json"), meta.to_string().as_bytes());

    let mut optim = AdamWConfig::new()
        .with_weight_decay(weight_decay as f32)
        .init::<Cpu, GenotypeTransformer<Cpu>>();
    let mut losses = std::fs::File::create(dir.join("losses.txt")).expect("losses.txt");
    for step in 0..steps {
        let start = step * batch % samples;
        let rows = start..(start + batch).min(samples);
        let n = rows.len();
        let c: Vec<i64> = classes[rows.start * variants..rows.end * variants]
            .iter()
            .map(|&g| i64::from(g))
            .collect();
        let d = dosages[rows.start * variants..rows.end * variants].to_vec();
        let y = targets[rows.clone()].to_vec();
        let c = Tensor::<Cpu, 2, Int>::from_data(TensorData::new(c, [n, variants]), &device);
        let d = Tensor::<Cpu, 2>::from_data(TensorData::new(d, [n, variants]), &device);
        let y = Tensor::<Cpu, 2>::from_data(TensorData::new(y, [n, 1]), &device);
        let diff = model.forward(c, d, None, None) - y;
        let loss = (diff.clone() * diff).mean();
        let value: f64 = loss.clone().into_scalar().elem();
        writeln!(losses, "{value:.9e}").expect("losses.txt");
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);
    }
    println!("wrote {} steps to {}", steps, dir.display());
}
