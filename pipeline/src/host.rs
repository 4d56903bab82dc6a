//! Where this process runs: the host's name and the Slurm job, recorded in
//! run logs and in the store's unit claims; the user's cache directory.

use std::path::PathBuf;

/// `$override_var` if set, else robbench's per-user cache directory `name`:
/// `$XDG_CACHE_HOME/robbench/<name>`, else `~/.cache/robbench/<name>`;
/// `None` when none of them is set.
pub fn user_cache_dir(override_var: &str, name: &str) -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var(override_var)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("robbench").join(name)))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("robbench").join(name)))
}

/// The machine's name (`unknown` when neither the kernel nor `$HOSTNAME` says).
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// Records which Slurm job (and array task, and node) computed the unit, when
/// it ran under Slurm.
pub(crate) fn note_slurm_job(notes: &mut serde_json::Map<String, serde_json::Value>) {
    for (variable, note) in [
        ("SLURM_JOB_ID", "slurm_job_id"),
        ("SLURM_ARRAY_JOB_ID", "slurm_array_job_id"),
        ("SLURM_ARRAY_TASK_ID", "slurm_array_task_id"),
        ("SLURMD_NODENAME", "slurm_node"),
    ] {
        if let Ok(value) = std::env::var(variable) {
            notes.insert(note.to_string(), value.into());
        }
    }
}

/// `ARRAYJOB_TASK` (or the job id outside an array) when running under Slurm.
pub(crate) fn slurm_job() -> Option<String> {
    let var = |name| std::env::var(name).ok();
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(array), Some(task)) => Some(format!("{array}_{task}")),
        _ => var("SLURM_JOB_ID"),
    }
}
