//! Benchmark figures as files: every `robbench bench <name>` writes what it
//! measured to `docs/bench/<name>.json` (or `--results PATH`), with the
//! command line, commit and machine that produced it, and `robbench bench
//! render` turns those files into `docs/src/benchmarks.md`. A figure in the
//! docs thus always comes with the command and commit behind it.
//!
//! The file's shape, shared by every bench:
//!
//! ```json
//! {"bench": "plan", "command": "robbench bench plan --units 2000",
//!  "commit": "1a2b3c4", "dirty": false, "date": "2025-06-01T12:00:00Z",
//!  "machine": {"cpus": 2, "cpu_model": "…", "memory_gb": 7.8, "device": "cpu"},
//!  "figures": [{"name": "…", "value": 1.52, "unit": "s",
//!               "reference": "target", "ratio": 0.76}],
//!  "notes": ["…"]}
//! ```
//!
//! `reference` may be left out and `ratio` is `null` when there is nothing
//! to compare with; `memory_gb` is the machine's memory in GiB; `dirty` says
//! whether tracked files differed from `commit` (outside `docs/bench/` and
//! the rendered page, which the benchmarks themselves write).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};

/// Where the results of the benches go by default, relative to the current
/// directory (`make bench` runs at the repository root).
pub const RESULTS_DIR: &str = "docs/bench";
/// The page `bench render` writes by default.
pub const RENDERED_PAGE: &str = "docs/src/benchmarks.md";

/// `--results PATH` of a bench.
#[derive(Args, Clone, Debug, Default)]
pub struct ResultsArg {
    /// Write the figures here as JSON (default: docs/bench/<bench>.json).
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,
}

impl ResultsArg {
    pub fn path(&self, bench: &str) -> PathBuf {
        self.results.clone().unwrap_or_else(|| Path::new(RESULTS_DIR).join(format!("{bench}.json")))
    }
}

/// One bench's results file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BenchResults {
    pub bench: String,
    /// The command line as run, starting with `robbench`.
    pub command: String,
    /// `git rev-parse --short HEAD` of the source tree, or `unknown`.
    pub commit: String,
    /// Tracked files differed from `commit`.
    pub dirty: bool,
    /// When the bench finished, UTC, ISO 8601.
    pub date: String,
    pub machine: Machine,
    pub figures: Vec<Figure>,
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    /// Total memory in GiB.
    pub memory_gb: f64,
    /// `cpu`, `cuda:0`, …: what the bench ran on.
    pub device: String,
}

/// One measured figure, optionally compared with a reference.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Figure {
    /// What is measured.
    pub name: String,
    pub value: f64,
    /// `s`, `images/s`, `ms`, `x`, `MB`, …
    pub unit: String,
    /// What the figure is compared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The figure over the reference (in the sense `reference` states).
    #[serde(default)]
    pub ratio: Option<f64>,
    /// Shown in the README's headline table too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
}

impl Figure {
    /// Compares the figure with `reference` by `ratio` (left out when not finite).
    pub fn compared_with(&mut self, reference: impl Into<String>, ratio: f64) -> &mut Figure {
        self.reference = Some(reference.into());
        self.ratio = Some(ratio).filter(|r| r.is_finite());
        self
    }

    /// Puts the figure in the README's headline table.
    pub fn headline(&mut self) -> &mut Figure {
        self.headline = true;
        self
    }
}

impl BenchResults {
    /// Empty results of `bench`, run on `device`, described from this
    /// process's command line, the source tree's commit and this machine.
    pub fn new(bench: &str, device: &str) -> BenchResults {
        let (commit, dirty) = git_commit(Path::new(env!("CARGO_MANIFEST_DIR")));
        BenchResults {
            bench: bench.to_string(),
            command: command_line(std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned())),
            commit,
            dirty,
            date: String::new(),
            machine: Machine {
                cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
                cpu_model: cpu_model(),
                memory_gb: memory_gib(),
                device: device.to_string(),
            },
            figures: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a figure; chain [`Figure::compared_with`] to compare it.
    pub fn figure(&mut self, name: impl Into<String>, value: f64, unit: &str) -> &mut Figure {
        self.figures.push(Figure {
            name: name.into(),
            value,
            unit: unit.to_string(),
            reference: None,
            ratio: None,
            headline: false,
        });
        self.figures.last_mut().expect("just pushed")
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Dates the results and writes them to `path` (atomically: a temporary
    /// file in the same directory, then a rename). A figure that is not a
    /// finite number (nothing measured) becomes a note: JSON has no NaN.
    pub fn write(mut self, path: &Path) -> Result<()> {
        self.date = utc_now();
        let (kept, unmeasured): (Vec<Figure>, Vec<Figure>) =
            std::mem::take(&mut self.figures).into_iter().partition(|f| f.value.is_finite());
        self.figures = kept;
        self.notes.extend(unmeasured.into_iter().map(|f| format!("{}: not measured", f.name)));
        let mut json = serde_json::to_string_pretty(&self)?;
        json.push('\n');
        write_atomic(path, json.as_bytes())?;
        println!("results: {}", path.display());
        Ok(())
    }

    /// Reads a results file; errors name the file.
    pub fn read(path: &Path) -> Result<BenchResults> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not a benchmark results file", path.display()))
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().with_context(|| format!("{} names no file", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// `robbench` and `args`, quoted for a POSIX shell where needed.
fn command_line(args: impl Iterator<Item = String>) -> String {
    let quote = |arg: String| {
        let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
        if plain { arg } else { format!("'{}'", arg.replace('\'', r"'\''")) }
    };
    std::iter::once("robbench".to_string()).chain(args.map(quote)).collect::<Vec<_>>().join(" ")
}

/// The short commit of the source tree at `dir`, and whether tracked files
/// differ from it (the results and the page the benches write aside):
/// (`unknown`, false) outside a git checkout.
fn git_commit(dir: &Path) -> (String, bool) {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "--short", "HEAD"]).filter(|c| !c.is_empty()) else {
        return ("unknown".to_string(), false);
    };
    // What `make bench` itself writes does not make the tree dirty.
    let exclude_results = format!(":(exclude){RESULTS_DIR}");
    let exclude_page = format!(":(exclude){RENDERED_PAGE}");
    let status = git(&[
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        &exclude_results,
        &exclude_page,
        ":(exclude)README.md",
    ]);
    (commit, status.is_none_or(|s| !s.is_empty()))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// MemTotal in GiB, to a tenth; 0 where Linux does not report it.
fn memory_gib() -> f64 {
    let kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|info| {
        info.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse::<f64>().ok()
    });
    kib.map_or(0.0, |k| (k / 1024.0 / 1024.0 * 10.0).round() / 10.0)
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // `YYYYMMDDTHHMMSSZ`, as run ids are dated.
    let c = robbench_pipeline::runs::utc_compact(secs);
    format!("{}-{}-{}T{}:{}:{}Z", &c[0..4], &c[4..6], &c[6..8], &c[9..11], &c[11..13], &c[13..15])
}

/// The README's headline table lies between these lines; `bench render` rewrites what is between.
const HEADLINE_START: &str = "<!-- headline figures: written by `robbench bench render`; do not edit -->";
const HEADLINE_END: &str = "<!-- end of headline figures -->";

/// `robbench bench render`: every `*.json` in `results` as one Markdown
/// page, a section per bench in the order of their names, and the figures
/// marked as headline into `readme`'s headline table.
pub fn render(results: &Path, out: &Path, readme: Option<&Path>) -> Result<()> {
    let entries = std::fs::read_dir(results)
        .with_context(|| format!("cannot list {} (`make bench` writes the results there)", results.display()))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    let mut benches = files.iter().map(|p| Ok((BenchResults::read(p)?, p))).collect::<Result<Vec<_>>>()?;
    benches.sort_by(|a, b| (&a.0.bench, a.1).cmp(&(&b.0.bench, b.1)));
    let benches: Vec<&BenchResults> = benches.iter().map(|(r, _)| r).collect();
    write_atomic(out, render_page(&benches, results).as_bytes())?;
    println!("{}: {} bench(es) from {}", out.display(), benches.len(), results.display());
    if let Some(readme) = readme {
        let text = std::fs::read_to_string(readme).with_context(|| format!("cannot read {}", readme.display()))?;
        let (Some(start), Some(end)) = (text.find(HEADLINE_START), text.find(HEADLINE_END)) else {
            anyhow::bail!("{} has no headline block ({HEADLINE_START} … {HEADLINE_END})", readme.display());
        };
        let block = headline_table(&benches, out);
        let updated = format!("{}{HEADLINE_START}\n{block}{}", &text[..start], &text[end..]);
        write_atomic(readme, updated.as_bytes())?;
        println!("{}: headline figures", readme.display());
    }
    Ok(())
}

/// The headline figures as a table: value, what it is compared with, and
/// the commit and date of the bench that measured it.
fn headline_table(benches: &[&BenchResults], page: &Path) -> String {
    let mut table =
        String::from("| figure | value | compared with | ratio | bench, commit, date |\n|---|---:|---|---:|---|\n");
    for r in benches {
        for f in r.figures.iter().filter(|f| f.headline) {
            let _ = writeln!(
                table,
                "| {} | {} {} | {} | {} | `{}`, {}{}, {} |",
                cell(&f.name),
                number(f.value),
                cell(&f.unit),
                cell(f.reference.as_deref().unwrap_or("")),
                f.ratio.map_or(String::new(), |q| format!("{}×", number(q))),
                r.bench,
                r.commit,
                if r.dirty { "+" } else { "" },
                r.date.get(..10).unwrap_or(&r.date)
            );
        }
    }
    let _ = writeln!(
        table,
        "\nratio: the figure over what it is compared with. Every figure with its command and machine: \
         [the benchmarks page]({}).",
        page.display()
    );
    table
}

fn render_page(benches: &[&BenchResults], results: &Path) -> String {
    let mut page = String::new();
    let dir = results.display();
    let _ = writeln!(
        page,
        "# Benchmarks\n\n<!-- Written by `robbench bench render` from {dir}/*.json; \
         edit the benches or rerun them, not this page. -->\n\n\
         Every figure here was measured by the command printed under its table \
         (`make bench` runs them all), at the commit and on the machine named there; \
         the figures themselves are in `{dir}/<bench>.json`."
    );
    if benches.is_empty() {
        let _ = writeln!(page, "\nNo results yet: run `make bench`.");
    }
    for r in benches {
        let _ = writeln!(page, "\n## {}\n", r.bench);
        let _ = writeln!(page, "| figure | value | unit | reference | ratio |\n|---|---:|---|---|---:|");
        for f in &r.figures {
            let _ = writeln!(
                page,
                "| {} | {} | {} | {} | {} |",
                cell(&f.name),
                number(f.value),
                cell(&f.unit),
                cell(f.reference.as_deref().unwrap_or("")),
                f.ratio.map_or(String::new(), number)
            );
        }
        let m = &r.machine;
        let _ = writeln!(
            page,
            "\ncommand: `{}`, commit {}{}, date {}, machine: {} CPU(s), {}, {} GiB, device {}",
            r.command.replace('`', "'"),
            r.commit,
            if r.dirty { " (with uncommitted changes)" } else { "" },
            r.date,
            m.cpus,
            m.cpu_model,
            number(m.memory_gb),
            m.device
        );
        if !r.notes.is_empty() {
            page.push('\n');
            for note in &r.notes {
                let _ = writeln!(page, "- {note}");
            }
        }
    }
    page
}

/// A table cell: `|` escaped, lines joined.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Four significant digits (all digits of numbers ≥ 1,000), no trailing zeros.
fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 9) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

/// `bench render`'s arguments.
#[derive(Args)]
pub struct RenderArgs {
    /// The directory of results files.
    #[arg(long, default_value = RESULTS_DIR)]
    pub results: PathBuf,
    /// The page to write.
    #[arg(long, default_value = RENDERED_PAGE)]
    pub out: PathBuf,
    /// The README whose headline table to rewrite (`-` for none).
    #[arg(long, default_value = "README.md")]
    pub readme: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        let shown: Vec<String> = [1.5234, 0.012346, 21_700.4, 0.0, 2.0, 163.04].into_iter().map(number).collect();
        assert_eq!(shown, ["1.523", "0.01235", "21700", "0", "2", "163"]);
    }

    #[test]
    fn command_lines_are_quoted_for_a_shell() {
        let args = ["bench", "sql", "--keep", "my dir", "it's"].map(String::from);
        assert_eq!(command_line(args.into_iter()), r"robbench bench sql --keep 'my dir' 'it'\''s'");
    }

    #[test]
    fn figures_that_were_not_measured_become_notes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/x.json");
        let mut results = BenchResults::new("x", "cpu");
        results.figure("measured", 1.0, "s").compared_with("nothing", f64::NAN);
        results.figure("missing", f64::NAN, "s");
        results.write(&path).unwrap();
        let read = BenchResults::read(&path).unwrap();
        assert_eq!(read.figures.len(), 1);
        assert_eq!(read.figures[0].ratio, None);
        assert_eq!(read.notes, ["missing: not measured"]);
        assert!(read.date.ends_with('Z') && read.date.len() == 20, "{}", read.date);
    }
}
