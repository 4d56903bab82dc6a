//! Test support: runs the independent PyTorch reference implementations in
//! `stages/reference/python/` with the venv's python (`ROBBENCH_PYTHON`, set in
//! `.cargo/config.toml` by `scripts/setup.sh`), and reports checks that cannot
//! run because something outside the process is missing.
//!
//! A check that did not run is not a pass. Every test that needs the reference
//! python, Slurm or Chromium reports a missing one through [`unavailable`]:
//! under CI (`CI` set to anything but empty, `false` or `0`) the test fails,
//! naming what is missing and why; elsewhere it writes `SKIPPED <test>: ...`
//! to stderr past libtest's output capture, so the skip shows in the summary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Whether this is a CI run, where a check that cannot run must fail.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| means_ci(&value))
}

/// CI systems set `CI=true` (or `1`); `CI=false` or `0` turns it off by hand.
fn means_ci(value: &str) -> bool {
    !matches!(value.trim().to_ascii_lowercase().as_str(), "" | "false" | "0")
}

/// The running test's name: libtest runs every test on a thread named after it.
fn current_test() -> String {
    std::thread::current().name().unwrap_or("<unnamed test>").to_string()
}

/// Reports that the running test cannot do its check because `what` is
/// unavailable, `why`. Under CI this panics; otherwise it writes a
/// `SKIPPED <test>: ...` line to stderr and returns, and the caller returns
/// without checking.
pub fn unavailable(what: &str, why: &str) {
    let test = current_test();
    if in_ci() {
        panic!("{test} cannot run: {what} is unavailable: {why}\n(CI is set: a check that did not run is a failure)");
    }
    // Straight to the process's stderr: libtest captures only print!/eprint!.
    let line = format!("SKIPPED {test}: {what} is unavailable: {why}\n");
    std::io::stderr().write_all(line.as_bytes()).expect("stderr takes the SKIPPED line");
}

/// Shows that a check which needs something outside the process really ran
/// (daemons up, a page rendered): `RAN <test>: <what>` straight to stderr,
/// past libtest's capture, so a passing run's log says so too.
pub fn ran(what: &str) {
    let line = format!("RAN {}: {what}\n", current_test());
    std::io::stderr().write_all(line.as_bytes()).expect("stderr takes the RAN line");
}

/// Prints the names in `sys.argv` that the interpreter cannot find and exits 1
/// if there are any. `find_spec` locates a module without importing it:
/// milliseconds, where importing torch takes seconds.
const FIND_MISSING: &str = "import importlib.util, sys
missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]
print(' '.join(missing))
sys.exit(1 if missing else 0)";

/// The reference python (`ROBBENCH_PYTHON`) when it has every one of
/// `modules`; otherwise `None`, after [`unavailable`] said why.
pub fn python(modules: &[&str]) -> Option<PathBuf> {
    const WHAT: &str = "the reference python (ROBBENCH_PYTHON)";
    let configured = std::env::var("ROBBENCH_PYTHON").unwrap_or_default();
    if configured.is_empty() {
        unavailable(WHAT, "ROBBENCH_PYTHON is not set; `make setup` sets it in .cargo/config.toml");
        return None;
    }
    let python = PathBuf::from(configured);
    match Command::new(&python).arg("-c").arg(FIND_MISSING).args(modules).output() {
        Err(e) => unavailable(WHAT, &format!("cannot start {}: {e}; run `make setup`", python.display())),
        Ok(found) if found.status.success() => return Some(python),
        Ok(found) => {
            let missing = String::from_utf8_lossy(&found.stdout).trim().to_string();
            let why = if missing.is_empty() {
                format!("{} failed: {}", python.display(), String::from_utf8_lossy(&found.stderr).trim())
            } else {
                format!("{} has no {missing}; `make setup` installs what the tests need", python.display())
            };
            unavailable(WHAT, &why);
        }
    }
    None
}

/// Path of a reference script shipped in `stages/reference/python/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python").join(name)
}

/// Runs `script` with `args` and returns its stdout parsed as JSON.
/// Panics with the script's stderr when it fails: this is test support.
pub fn run_json(python: &Path, script_name: &str, args: &[&str]) -> serde_json::Value {
    let output = Command::new(python)
        .arg(script(script_name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    if !output.status.success() {
        panic!(
            "reference script {script_name} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("reference script {script_name} printed no JSON ({e}):\n{}", String::from_utf8_lossy(&output.stdout))
    })
}

/// Checks the reporting of an unavailable dependency end to end: runs `test`
/// of the running test binary again with `env` set (which takes the
/// dependency away), once under CI and once without. Under CI the test must
/// fail with `reason` in its output; without CI it must pass and leave a
/// `SKIPPED <test>` line, with `reason`, on stderr.
pub fn assert_fails_in_ci_and_skips_visibly_outside(test: &str, env: &[(&str, &str)], reason: &str) {
    let rerun = |ci: Option<&str>| -> Output {
        let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
        command.args(["--exact", test, "--test-threads=1"]).envs(env.iter().copied());
        match ci {
            Some(value) => command.env("CI", value),
            None => command.env_remove("CI"),
        };
        command.output().expect("the test binary runs")
    };
    let text = |o: &Output| format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));

    let in_ci = rerun(Some("true"));
    let out = text(&in_ci);
    assert!(!in_ci.status.success() && out.contains("1 failed"), "{test} did not fail under CI:\n{out}");
    assert!(
        out.contains(&format!("{test} cannot run")) && out.contains(reason),
        "CI failure without `{reason}`:\n{out}"
    );

    let outside = rerun(None);
    let out = text(&outside);
    assert!(outside.status.success() && out.contains("1 passed"), "{test} did not pass outside CI:\n{out}");
    let skipped = String::from_utf8_lossy(&outside.stderr)
        .lines()
        .find(|l| l.starts_with(&format!("SKIPPED {test}: ")))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no `SKIPPED {test}` line on stderr outside CI:\n{out}"));
    assert!(skipped.contains(reason), "the SKIPPED line does not say `{reason}`: {skipped}");
}

#[cfg(test)]
mod tests {
    use super::means_ci;

    #[test]
    fn ci_is_on_unless_empty_false_or_zero() {
        for on in ["true", "1", "yes", "TRUE"] {
            assert!(means_ci(on), "{on}");
        }
        for off in ["", "false", "False", "0", " "] {
            assert!(!means_ci(off), "{off:?}");
        }
    }
}
