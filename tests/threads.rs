//! The thread policy as libtorch's OpenMP runtime sees it: the binary
//! re-executes itself with the wait policy chosen for its units.

use std::process::Command;

/// libgomp's settings (`OMP_DISPLAY_ENV=verbose`) in the process that does
/// the work (the last one to load libgomp) of a one-batch training benchmark
/// run with `--threads threads` and the extra environment.
fn openmp_settings(threads: &str, env: &[(&str, &str)]) -> String {
    // Its figures go to a scratch file, not the repository's docs/bench/.
    let results = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "threads-{}-{threads}-{}.json",
        std::process::id(),
        env.len()
    ));
    let mut command = Command::new(env!("CARGO_BIN_EXE_robbench"));
    command
        .args(["--threads", threads, "bench", "train", "--arch", "1462", "--channels", "4", "--cells", "1"])
        .args(["--batch", "2", "--batches", "1", "--attack-steps", "1", "--device", "cpu", "--no-pytorch"])
        .arg("--results")
        .arg(&results)
        .env_remove("OMP_WAIT_POLICY")
        .env_remove("GOMP_SPINCOUNT")
        .env_remove("OMP_NUM_THREADS")
        .env("OMP_DISPLAY_ENV", "verbose")
        .envs(env.iter().copied());
    let output = command.output().expect("robbench runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.rsplit("OPENMP DISPLAY ENVIRONMENT BEGIN").next().unwrap_or_default();
    assert!(last.contains("OMP_WAIT_POLICY"), "no OpenMP settings displayed: {stderr}");
    last.to_string()
}

#[test]
fn multi_threaded_units_spin_briefly_single_threaded_ones_never_and_a_users_policy_wins() {
    let two = openmp_settings("2", &[]);
    assert!(two.contains("OMP_WAIT_POLICY = 'PASSIVE'") && two.contains("GOMP_SPINCOUNT = '3000'"), "{two}");
    assert!(two.contains("OMP_NUM_THREADS = '2'"), "{two}");
    let one = openmp_settings("1", &[]);
    assert!(one.contains("OMP_WAIT_POLICY = 'PASSIVE'") && one.contains("GOMP_SPINCOUNT = '0'"), "{one}");
    let own = openmp_settings("2", &[("OMP_WAIT_POLICY", "ACTIVE")]);
    assert!(own.contains("OMP_WAIT_POLICY = 'ACTIVE'") && !own.contains("GOMP_SPINCOUNT = '3000'"), "{own}");
}
