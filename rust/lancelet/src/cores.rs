//! The number of cores work is spread over.

use std::sync::OnceLock;

/// The cores this process may use (`None` when the system cannot tell), asked once: on Linux
/// each answer of [`std::thread::available_parallelism`] reads the process's cgroup files
/// (three files opened and read for every scan, before this).
pub(crate) fn available() -> Option<usize> {
    static CORES: OnceLock<Option<usize>> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().ok().map(|n| n.get()))
}
