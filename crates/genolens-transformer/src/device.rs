//! Compute devices chosen at run time among those compiled in.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeDevice {
    /// The CPU (burn-flex); always compiled.
    Cpu,
    /// A GPU through WebGPU/Vulkan (feature `wgpu`).
    Wgpu,
    /// An NVIDIA GPU through CUDA (feature `cuda`).
    Cuda,
}

impl ComputeDevice {
    /// Every device kind, compiled in or not.
    pub const ALL: [ComputeDevice; 3] =
        [ComputeDevice::Cpu, ComputeDevice::Wgpu, ComputeDevice::Cuda];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ComputeDevice::Cpu => "cpu",
            ComputeDevice::Wgpu => "wgpu",
            ComputeDevice::Cuda => "cuda",
        }
    }

    /// Whether this build has the device's backend.
    pub fn is_compiled(self) -> bool {
        match self {
            ComputeDevice::Cpu => true,
            ComputeDevice::Wgpu => cfg!(feature = "wgpu"),
            ComputeDevice::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// Checks that the device can be used before any tensor touches it, so
    /// that a missing driver is an error rather than burn's panic in a device
    /// thread. For CUDA: the driver library must load and see at least one GPU.
    pub fn check(self) -> Result<()> {
        let err = |reason: String| Error::Device {
            device: self.as_str().into(),
            reason,
        };
        if !self.is_compiled() {
            return Err(err(format!(
                "this build has no {} backend (rebuild with `--features {}`)",
                self.as_str(),
                self.as_str()
            )));
        }
        match self {
            ComputeDevice::Cpu | ComputeDevice::Wgpu => Ok(()),
            ComputeDevice::Cuda => cuda_devices().map_err(err).and_then(|n| {
                if n == 0 {
                    Err(err("the CUDA driver sees no GPU".into()))
                } else {
                    Ok(())
                }
            }),
        }
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ComputeDevice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ComputeDevice::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| Error::Device {
                device: s.into(),
                reason: "unknown device (cpu, wgpu or cuda)".into(),
            })
    }
}

/// Number of CUDA devices, or why CUDA cannot run.
#[cfg(feature = "cuda")]
fn cuda_devices() -> std::result::Result<usize, String> {
    // cudarc panics when libcuda cannot be loaded (and burn's CUDA runtime
    // does so in a device thread, leaving the caller a RecvError), so look
    // for the library first.
    // SAFETY: `is_culib_present` only tries to dlopen the driver library
    // under its known names and reports whether that worked; it calls no
    // CUDA function.
    #[allow(unsafe_code)]
    let present = unsafe { cudarc::driver::sys::is_culib_present() };
    if !present {
        return Err("the CUDA driver library (libcuda.so) cannot be loaded: no NVIDIA driver on this machine".into());
    }
    cudarc::driver::CudaContext::device_count()
        .map(|n| usize::try_from(n).unwrap_or(0))
        .map_err(|e| format!("the CUDA driver failed to start: {e:?}"))
}

#[cfg(not(feature = "cuda"))]
fn cuda_devices() -> std::result::Result<usize, String> {
    Err("this build has no cuda backend".into())
}

/// Work that runs on whichever backend the caller picks at run time: the
/// model code is written once, generic over the backend, as burn intends.
pub trait BackendTask {
    /// What the work returns.
    type Output;
    /// Runs the work on backend `B` and its `device`.
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

impl ComputeDevice {
    /// Checks the device ([`ComputeDevice::check`]), then runs `task` on its
    /// backend: `Autodiff<Flex>` for `cpu`, `Autodiff<Wgpu>` for `wgpu`,
    /// `Autodiff<Cuda>` for `cuda`.
    pub fn run<T: BackendTask>(self, task: T) -> Result<T::Output> {
        self.check()?;
        match self {
            ComputeDevice::Cpu => Ok(task.run::<crate::CpuBackend>(Default::default())),
            #[cfg(feature = "wgpu")]
            ComputeDevice::Wgpu => Ok(task
                .run::<burn_autodiff::Autodiff<burn_wgpu::Wgpu>>(burn_wgpu::WgpuDevice::default())),
            #[cfg(feature = "cuda")]
            ComputeDevice::Cuda => Ok(task
                .run::<burn_autodiff::Autodiff<burn_cuda::Cuda>>(burn_cuda::CudaDevice::default())),
            #[allow(unreachable_patterns)]
            other => Err(Error::Device {
                device: other.as_str().into(),
                reason: "not compiled in".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_cpu_is_always_there() {
        for d in ComputeDevice::ALL {
            assert_eq!(d.as_str().parse::<ComputeDevice>().unwrap(), d);
        }
        assert!("tpu".parse::<ComputeDevice>().is_err());
        assert!(ComputeDevice::Cpu.check().is_ok());
        if !cfg!(feature = "wgpu") {
            let e = ComputeDevice::Wgpu.check().unwrap_err().to_string();
            assert!(e.contains("--features wgpu"), "{e}");
        }
    }
}
