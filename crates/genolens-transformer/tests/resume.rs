//! A run stopped after epoch k and resumed from its checkpoint ends with the
//! same metrics and the same weights, bit for bit, as a run never stopped
//! (CPU, same seed), with full and with LoRA fine-tuning. One binary of its
//! own: the CPU backend's random stream is process-wide.

use burn_core::module::{Module, ModuleVisitor, Param};
use burn_core::tensor::backend::Backend;
use burn_core::tensor::Tensor;
use genolens_transformer::checkpoint::Checkpoint;
use genolens_transformer::finetune::{
    fine_tune, Control, EpochMetrics, FineTuneOptions, OutputKind, Preprocessing, TaskData,
};
use genolens_transformer::lora::LoraConfig;
use genolens_transformer::model::{GenotypeTransformer, TransformerConfig};
use genolens_transformer::tokens::GenotypeTokens;
use genolens_transformer::CpuBackend as Cpu;
use ndarray::Array2;

struct Outcome {
    history: Vec<EpochMetrics>,
    /// Every weight's bits, in module order (records also hold parameter
    /// ids, which differ between two freshly built models).
    weights: Vec<u32>,
}

struct Bits(Vec<u32>);

impl<B: Backend> ModuleVisitor<B> for Bits {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let values = param
            .val()
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .unwrap();
        self.0.extend(values.iter().map(|v| v.to_bits()));
    }
}

fn fresh(n_variants: usize, lora: Option<LoraConfig>) -> GenotypeTransformer<Cpu> {
    let device = Default::default();
    Cpu::seed(&device, 5);
    let model =
        GenotypeTransformer::<Cpu>::new(&TransformerConfig::new(n_variants), &device).unwrap();
    match lora {
        Some(l) => model.with_lora(&l, &device).unwrap(),
        None => model,
    }
}

fn run(
    data: (&TaskData<'_>, &TaskData<'_>, &Preprocessing),
    lora: Option<LoraConfig>,
    stop_after: Option<usize>,
    resume: Option<&Checkpoint>,
) -> (Outcome, Option<Checkpoint>) {
    let (train, valid, prep) = data;
    let options = FineTuneOptions {
        epochs: 6,
        batch_size: 16,
        patience: None,
        seed: 9,
        ..FineTuneOptions::default()
    };
    let mut last = None;
    let tuned = fine_tune(
        fresh(train.tokens.n_variants(), lora),
        prep,
        train,
        valid,
        &options,
        &Default::default(),
        resume,
        &mut |m, c| {
            last = Some(c.clone());
            if Some(m.epoch) == stop_after {
                Control::Stop
            } else {
                Control::Continue
            }
        },
    )
    .unwrap();
    (
        Outcome {
            history: tuned.history,
            weights: {
                let mut bits = Bits(Vec::new());
                tuned.model.visit(&mut bits);
                bits.0
            },
        },
        last,
    )
}

#[test]
fn resumed_runs_end_where_uninterrupted_runs_end() {
    let (n, l) = (240, 16);
    let dosages = Array2::from_shape_fn((n, l), |(s, v)| ((s * 7 + v * 3 + s / 5) % 3) as f32);
    let tokens = GenotypeTokens::from_dosages(dosages.view()).unwrap();
    let y = Array2::from_shape_fn((n, 1), |(s, _)| {
        dosages[[s, 2]] - 0.5 * dosages[[s, 9]] + ((s * 31) % 7) as f32 * 0.1
    });
    let (fit, valid): (Vec<usize>, Vec<usize>) = (0..n).partition(|i| i % 5 != 0);
    let (ft, vt) = (tokens.select(&fit), tokens.select(&valid));
    let (fy, vy) = (
        y.select(ndarray::Axis(0), &fit),
        y.select(ndarray::Axis(0), &valid),
    );
    let train = TaskData {
        tokens: &ft,
        covariates: None,
        targets: fy.view(),
        offsets: None,
    };
    let valid = TaskData {
        tokens: &vt,
        covariates: None,
        targets: vy.view(),
        offsets: None,
    };
    let prep = Preprocessing::fit(&train, &[OutputKind::Regression]).unwrap();

    for lora in [None, Some(LoraConfig::new(2))] {
        let (whole, _) = run((&train, &valid, &prep), lora, None, None);
        assert_eq!(whole.history.len(), 6);
        let (first, checkpoint) = run((&train, &valid, &prep), lora, Some(3), None);
        assert_eq!(first.history.len(), 3, "the run stops after epoch 3");
        // Through bytes, as a checkpoint file would be.
        let bytes = checkpoint.unwrap().to_bytes().unwrap();
        let checkpoint = Checkpoint::from_bytes(&bytes).unwrap();
        assert_eq!(checkpoint.state.epochs_done, 3);
        let (resumed, _) = run((&train, &valid, &prep), lora, None, Some(&checkpoint));
        assert_eq!(resumed.history, whole.history, "lora {lora:?}");
        assert!(
            resumed.weights == whole.weights,
            "weights differ, lora {lora:?}"
        );
        assert!(whole.history[5].train_loss < whole.history[0].train_loss);

        assert!(Checkpoint::from_bytes(&bytes[..bytes.len() - 10]).is_err());
        assert!(Checkpoint::from_bytes(b"GLTCKPT0").is_err());
    }
}
