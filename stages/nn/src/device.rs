//! `--device auto|cpu|cuda|cuda:N`.

use tch::{Cuda, Device};

use crate::NnError;

/// Parses a device name; `auto` is the first CUDA device when libtorch sees one.
pub fn parse_device(spec: &str) -> Result<Device, NnError> {
    let cuda_count = Cuda::device_count() as usize;
    let cuda = |n: usize| {
        if n < cuda_count { Ok(Device::Cuda(n)) } else { Err(NnError::DeviceUnavailable(spec.to_string(), cuda_count)) }
    };
    match spec {
        "auto" => Ok(if cuda_count > 0 { Device::Cuda(0) } else { Device::Cpu }),
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        _ => match spec.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
            Some(n) => cuda(n),
            None => Err(NnError::BadDevice(spec.to_string())),
        },
    }
}

/// The device tests run on: `ROBBENCH_TEST_DEVICE` (any `--device` name;
/// `make test-gpu` sets `cuda`), the CPU when unset.
pub fn test_device() -> Device {
    match std::env::var("ROBBENCH_TEST_DEVICE") {
        Ok(name) => parse_device(&name).unwrap_or_else(|e| panic!("ROBBENCH_TEST_DEVICE: {e}")),
        Err(_) => Device::Cpu,
    }
}

/// A short human description, e.g. `cpu (2 threads)` or `cuda:0 (CUDA, cuDNN)`.
pub fn describe_device(device: Device) -> String {
    match device {
        Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        Device::Cuda(n) => format!(
            "cuda:{n} (of {} CUDA device(s), cuDNN {})",
            Cuda::device_count(),
            if Cuda::cudnn_is_available() { "on" } else { "off" }
        ),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert!(matches!(parse_device("gpu7"), Err(NnError::BadDevice(_))));
        assert!(matches!(parse_device("cuda:x"), Err(NnError::BadDevice(_))));
        let auto = parse_device("auto").unwrap();
        assert_eq!(auto == Device::Cpu, Cuda::device_count() == 0);
        if Cuda::device_count() == 0 {
            assert!(matches!(parse_device("cuda:0"), Err(NnError::DeviceUnavailable(..))));
        }
    }
}
