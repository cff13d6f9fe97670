//! Device selection: `auto | cpu | gpu`, with `GHOSTLINE_DEVICE` overriding the caller's choice.
//!
//! `cpu` is burn's pure-Rust `flex` backend. `gpu` is burn's wgpu backend on the default
//! adapter (a software Vulkan driver such as lavapipe counts: that is how CI checks wgpu).
//! `auto` picks wgpu only when the default adapter is a real GPU (it has a physical card and is
//! not llvmpipe/lavapipe/SwiftShader); otherwise flex.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;

use burn::tensor::{Device, DeviceKind, Tensor};

use crate::error::ModelError;

/// Environment variable that overrides the requested device (`auto`, `cpu` or `gpu`).
pub const DEVICE_ENV: &str = "GHOSTLINE_DEVICE";

/// Which backend to run the model on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevicePreference {
    /// A real GPU through wgpu when there is one, the CPU otherwise.
    #[default]
    Auto,
    /// The CPU (burn flex).
    Cpu,
    /// wgpu on the default adapter (also a software one); an error when none exists.
    Gpu,
}

impl FromStr for DevicePreference {
    type Err = ModelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DevicePreference::Auto),
            "cpu" | "flex" => Ok(DevicePreference::Cpu),
            "gpu" | "wgpu" => Ok(DevicePreference::Gpu),
            other => Err(ModelError::Device {
                message: format!("unknown device `{other}` (expected auto, cpu or gpu)"),
            }),
        }
    }
}

impl std::fmt::Display for DevicePreference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DevicePreference::Auto => "auto",
            DevicePreference::Cpu => "cpu",
            DevicePreference::Gpu => "gpu",
        })
    }
}

/// A chosen device and a human-readable description of it (for logs and status).
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    /// The burn device.
    pub device: Device,
    /// e.g. `cpu (flex)` or `gpu (wgpu: NVIDIA ...)`.
    pub description: String,
    /// Whether it is the wgpu backend.
    pub is_gpu: bool,
}

/// Resolves `requested` (after the `GHOSTLINE_DEVICE` override) to a device.
pub fn select_device(requested: DevicePreference) -> Result<SelectedDevice, ModelError> {
    let preference = match std::env::var(DEVICE_ENV) {
        Ok(value) if !value.trim().is_empty() => value.parse()?,
        _ => requested,
    };
    let selected = match preference {
        DevicePreference::Cpu => cpu(),
        DevicePreference::Gpu => {
            let (device, name) = probe_wgpu(true).ok_or_else(|| ModelError::Device {
                message: "no wgpu adapter is available (install a GPU driver, or Mesa's lavapipe for software Vulkan)".into(),
            })?;
            SelectedDevice {
                device,
                description: format!("gpu (wgpu: {name})"),
                is_gpu: true,
            }
        }
        DevicePreference::Auto => match probe_wgpu(false) {
            Some((device, name)) if is_real_gpu(&device, &name) => SelectedDevice {
                device,
                description: format!("gpu (wgpu: {name})"),
                is_gpu: true,
            },
            _ => cpu(),
        },
    };
    tracing::info!(requested = %preference, device = %selected.description, "model device selected");
    Ok(selected)
}

fn cpu() -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        description: "cpu (flex)".into(),
        is_gpu: false,
    }
}

/// Opens the default wgpu adapter; with `smoke_test`, also runs one tiny op on it (the first
/// kernel compile can take seconds on a software driver). `None` when that fails or panics.
pub fn probe_wgpu(smoke_test: bool) -> Option<(Device, String)> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let device = Device::wgpu(DeviceKind::DefaultDevice);
        let name = device.identity()?.name;
        if smoke_test {
            let sum = Tensor::<1>::from_floats([1.0, 2.0], &device)
                .sum()
                .into_scalar::<f32>();
            if sum != 3.0 {
                return None;
            }
        }
        Some((device, name))
    }));
    result.unwrap_or_else(|_| {
        tracing::debug!("wgpu probe panicked; treating as no adapter");
        None
    })
}

/// A physical card that is not a software rasteriser.
fn is_real_gpu(device: &Device, name: &str) -> bool {
    let lowered = name.to_ascii_lowercase();
    let software = ["llvmpipe", "lavapipe", "swiftshader", "softpipe"]
        .iter()
        .any(|s| lowered.contains(s));
    let physical = catch_unwind(AssertUnwindSafe(|| {
        device
            .identity()
            .and_then(|identity| identity.physical)
            .is_some()
    }))
    .unwrap_or(false);
    physical && !software
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_parse_and_print() {
        for text in ["auto", "cpu", "gpu"] {
            assert_eq!(text.parse::<DevicePreference>().unwrap().to_string(), text);
        }
        assert!("tpu".parse::<DevicePreference>().is_err());
    }
}
