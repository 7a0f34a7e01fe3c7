//! The process's own resources, read from `/proc/self` at scrape time under the names every
//! Prometheus client uses (`process_*`), so stock dashboards and alerts apply. Linux only:
//! elsewhere the files are missing and the gauges are left out.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub(super) struct ProcessGauges {
    resident: Gauge<f64, AtomicU64>,
    virtual_memory: Gauge<f64, AtomicU64>,
    open_fds: Gauge,
    max_fds: Gauge,
}

impl ProcessGauges {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let g = ProcessGauges {
            resident: Default::default(),
            virtual_memory: Default::default(),
            open_fds: Default::default(),
            max_fds: Default::default(),
        };
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            g.resident.clone(),
        );
        registry.register(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            g.virtual_memory.clone(),
        );
        registry.register(
            "process_open_fds",
            "Number of open file descriptors",
            g.open_fds.clone(),
        );
        registry.register(
            "process_max_fds",
            "Maximum number of open file descriptors (the soft limit)",
            g.max_fds.clone(),
        );
        g
    }

    /// Reads `/proc/self` now; a value that cannot be read keeps its last reading.
    pub(super) fn refresh(&self) {
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(kib) = status_kib(&status, "VmRSS:") {
                self.resident.set(kib * 1024.0);
            }
            if let Some(kib) = status_kib(&status, "VmSize:") {
                self.virtual_memory.set(kib * 1024.0);
            }
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            // The directory handle being read is one of the entries: not counted.
            let n = entries.count().saturating_sub(1);
            self.open_fds.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        if let Some(max) = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| max_open_files(&l))
        {
            self.max_fds.set(max);
        }
    }
}

/// A `Key:   123 kB` line of `/proc/self/status`, in KiB.
fn status_kib(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// The soft limit of `Max open files` in `/proc/self/limits` (`unlimited` is left out).
fn max_open_files(limits: &str) -> Option<i64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read() {
        let status = "Name:\tx\nVmSize:\t  204800 kB\nVmRSS:\t    5120 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(5120.0));
        assert_eq!(status_kib(status, "VmSize:"), Some(204800.0));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            max_open_files("Max open files  unlimited unlimited files\n"),
            None
        );
    }

    #[test]
    fn this_process_has_memory_and_files() {
        let mut registry = Registry::default();
        let g = ProcessGauges::register(&mut registry);
        g.refresh();
        assert!(
            g.resident.get() > 1024.0 * 1024.0,
            "rss {}",
            g.resident.get()
        );
        assert!(g.open_fds.get() >= 3, "fds {}", g.open_fds.get());
        assert!(g.max_fds.get() >= g.open_fds.get());
    }
}
