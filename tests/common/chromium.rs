//! Headless Chromium for the browser tests (tests/report_browser.rs,
//! tests/serve_browser.rs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{stderr, stdout};

/// The flags every headless run takes.
pub const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
];

/// The Chromium that renders the pages: `ROBBENCH_CHROMIUM` when set, else
/// one on PATH, else Debian's, installed with apt-get (as root). `None`,
/// after `unavailable` said why, when there is none or it cannot render a
/// page here (under CI, `unavailable` fails the test instead).
pub fn chromium() -> Option<PathBuf> {
    const WHAT: &str = "headless Chromium";
    let chromium = match std::env::var_os("ROBBENCH_CHROMIUM") {
        Some(path) => PathBuf::from(path),
        None => match on_path().map_or_else(install, Ok) {
            Ok(path) => path,
            Err(why) => {
                robbench_reference::unavailable(WHAT, &why);
                return None;
            }
        },
    };
    // An empty page first, so that a Chromium that cannot start here is told
    // apart from a page it fails to render.
    let blank = headless(&chromium, "about:blank");
    if !blank.status.success() || !stdout(&blank).contains("<body>") {
        let why = format!("{} cannot render an empty page ({}):\n{}", chromium.display(), blank.status, stderr(&blank));
        robbench_reference::unavailable(WHAT, &why);
        return None;
    }
    Some(chromium)
}

fn on_path() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        let out = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

/// Installs Debian's chromium; `apt-get update` first, since a fresh machine
/// or container has no package lists. The reason when that fails.
fn install() -> Result<PathBuf, String> {
    for args in [&["update"][..], &["install", "-y", "--no-install-recommends", "chromium"]] {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|e| format!("chromium is not on PATH and apt-get cannot run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "chromium is not on PATH and `apt-get {}` failed (it needs root and the network): {}",
                args.join(" "),
                stderr(&out).trim()
            ));
        }
    }
    on_path().ok_or_else(|| "apt-get installed chromium, but neither chromium nor chromium-browser is on PATH".into())
}

/// `url` loaded in headless Chromium: its DOM after load on stdout, its log on stderr.
pub fn headless(chromium: &Path, url: &str) -> Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new("timeout")
        .arg("180")
        .arg(chromium)
        .args(FLAGS)
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("timeout runs")
}
