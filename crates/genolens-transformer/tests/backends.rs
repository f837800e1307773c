//! The optional backends: CUDA's missing driver is a typed error (no panic),
//! and WGPU really trains (on lavapipe in CI).

use genolens_transformer::device::ComputeDevice;

#[test]
fn every_device_check_returns_instead_of_panicking() {
    for d in ComputeDevice::ALL {
        match d.check() {
            Ok(()) => assert!(d.is_compiled()),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.starts_with(&format!("device {d}:")), "{msg}");
                eprintln!("{msg}");
            }
        }
    }
}

/// Without an NVIDIA driver (CI), asking for CUDA says so; with one, it works.
#[cfg(feature = "cuda")]
#[test]
fn cuda_without_a_driver_is_a_clear_error() {
    let driver = [
        "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
        "/usr/lib64/libcuda.so.1",
        "/usr/lib/libcuda.so.1",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists());
    match ComputeDevice::Cuda.check() {
        Ok(()) => assert!(driver, "CUDA usable without a driver library?"),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("CUDA driver"), "{msg}");
            if !driver {
                assert!(msg.contains("no NVIDIA driver"), "{msg}");
            }
        }
    }
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_pretraining_runs_and_learns() {
    use burn_core::tensor::backend::Backend;
    use genolens_transformer::model::{GenotypeTransformer, TransformerConfig};
    use genolens_transformer::pretrain::{pretrain, PretrainOptions};
    use genolens_transformer::tokens::{DosageScaling, GenotypeTokens};
    type Gpu = burn_autodiff::Autodiff<burn_wgpu::Wgpu>;

    ComputeDevice::Wgpu.check().unwrap();
    let dosages = ndarray::Array2::from_shape_fn((32, 16), |(s, v)| ((s + v / 4) % 3) as f32);
    let data = GenotypeTokens::from_dosages(dosages.view()).unwrap();
    let device = burn_wgpu::WgpuDevice::default();
    Gpu::seed(&device, 3);
    let mut config = TransformerConfig::new(16);
    config.dropout = 0.0;
    let model = GenotypeTransformer::<Gpu>::new(&config, &device).unwrap();
    let options = PretrainOptions {
        epochs: 4,
        batch_size: 16,
        learning_rate: 1e-2,
        seed: 3,
        ..PretrainOptions::default()
    };
    let (_, history) = pretrain(
        model,
        &data,
        &DosageScaling::fit(&data),
        &options,
        &device,
        &|_, _| {},
    )
    .unwrap();
    eprintln!("wgpu MGM losses {history:?}");
    assert!(history.iter().all(|l| l.is_finite()));
    assert!(history[3] < history[0], "{history:?}");

    // Fine-tuning on the same device: a trait of two variants.
    use genolens_transformer::finetune::{
        fine_tune, Control, FineTuneOptions, OutputKind, Preprocessing, TaskData,
    };
    let y = ndarray::Array2::from_shape_fn((32, 1), |(s, _)| dosages[[s, 1]] - dosages[[s, 9]]);
    let task = TaskData {
        tokens: &data,
        covariates: None,
        targets: y.view(),
        offsets: None,
    };
    let prep = Preprocessing::fit(&task, &[OutputKind::Regression]).unwrap();
    let model = GenotypeTransformer::<Gpu>::new(&config, &device).unwrap();
    let options = FineTuneOptions {
        epochs: 4,
        batch_size: 16,
        learning_rate: 1e-2,
        patience: None,
        seed: 3,
        ..FineTuneOptions::default()
    };
    let tuned = fine_tune(
        model,
        &prep,
        &task,
        &task,
        &options,
        &device,
        None,
        &mut |_, _| Control::Continue,
    )
    .unwrap();
    let losses: Vec<f64> = tuned.history.iter().map(|m| m.train_loss).collect();
    eprintln!("wgpu fine-tuning losses {losses:?}");
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[3] < losses[0], "{losses:?}");
}
