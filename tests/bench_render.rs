//! `robbench bench render`: results files written by the benches become one
//! Markdown page, a section per bench in name order, and the figures marked
//! `headline` a table in the README; a file that is not a results file is an
//! error naming it. No benchmark runs here.

use std::path::Path;
use std::process::{Command, Output};

/// `bench render` without a README.
fn render(results: &Path, out: &Path) -> Output {
    render_with_readme(results, out, Path::new("-"))
}

fn render_with_readme(results: &Path, out: &Path, readme: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_robbench"))
        .args(["bench", "render", "--results"])
        .arg(results)
        .arg("--out")
        .arg(out)
        .arg("--readme")
        .arg(readme)
        .env("CUDA_VISIBLE_DEVICES", "")
        .output()
        .expect("robbench runs")
}

const SQL: &str = r#"{
  "bench": "sql",
  "command": "robbench bench sql --units 10 --samples 10",
  "commit": "abc1234",
  "dirty": true,
  "date": "2025-06-01T12:00:00Z",
  "machine": {"cpus": 2, "cpu_model": "Test CPU", "memory_gb": 7.8, "device": "cpu"},
  "figures": [
    {"name": "GROUP BY attack | eps", "value": 0.0183, "unit": "s", "reference": "DuckDB (0.176 s)", "ratio": 0.104, "headline": true},
    {"name": "SELECT 1", "value": 0.013, "unit": "s", "ratio": null}
  ],
  "notes": ["store: 10 units"]
}"#;

const PLAN: &str = r#"{
  "bench": "plan",
  "command": "robbench bench plan --units 2000",
  "commit": "def5678",
  "dirty": false,
  "date": "2025-06-02T08:30:00Z",
  "machine": {"cpus": 16, "cpu_model": "Other CPU", "memory_gb": 125.5, "device": "cuda:0"},
  "figures": [{"name": "no-op rerun of 2000 units: plan", "value": 0.01234, "unit": "s"}],
  "notes": []
}"#;

#[test]
fn results_files_render_as_one_section_per_bench() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("bench");
    std::fs::create_dir(&results).unwrap();
    // File names in the opposite order of the bench names: sections follow the names.
    std::fs::write(results.join("a.json"), SQL).unwrap();
    std::fs::write(results.join("b.json"), PLAN).unwrap();
    std::fs::write(results.join("README.txt"), "not a results file, and not *.json").unwrap();
    let out = dir.path().join("page/benchmarks.md");
    let o = render(&results, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&out).unwrap();

    let plan = page.find("\n## plan\n").expect("a plan section");
    let sql = page.find("\n## sql\n").expect("an sql section");
    assert!(plan < sql, "sections out of order:\n{page}");
    let plan_section = &page[plan..sql];
    let sql_section = &page[sql..];
    assert!(plan_section.contains("| no-op rerun of 2000 units: plan | 0.01234 | s |  |  |"), "{plan_section}");
    assert!(
        plan_section.contains(
            "command: `robbench bench plan --units 2000`, commit def5678, date 2025-06-02T08:30:00Z, \
             machine: 16 CPU(s), Other CPU, 125.5 GiB, device cuda:0"
        ),
        "{plan_section}"
    );
    assert!(
        sql_section.contains("| GROUP BY attack \\| eps | 0.0183 | s | DuckDB (0.176 s) | 0.104 |"),
        "{sql_section}"
    );
    assert!(sql_section.contains("| SELECT 1 | 0.013 | s |  |  |"), "{sql_section}");
    assert!(sql_section.contains("commit abc1234 (with uncommitted changes)"), "{sql_section}");
    assert!(sql_section.contains("- store: 10 units"), "{sql_section}");

    // The same files give the same page.
    let again = dir.path().join("again.md");
    assert!(render(&results, &again).status.success());
    assert_eq!(std::fs::read_to_string(&again).unwrap(), page);
}

#[test]
fn a_malformed_results_file_is_an_error_naming_it() {
    for (name, text) in [
        ("broken.json", "{\"bench\": \"plan\","),
        (
            "no_figures.json",
            r#"{"bench": "x", "command": "robbench bench x", "commit": "unknown", "dirty": false,
            "date": "2025-06-01T00:00:00Z", "machine": {"cpus": 1, "cpu_model": "?", "memory_gb": 1, "device": "cpu"}}"#,
        ),
        ("null_value.json", &PLAN.replace("0.01234", "null")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good.json"), SQL).unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
        let out = dir.path().join("benchmarks.md");
        let o = render(dir.path(), &out);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{name} rendered");
        assert!(stderr.contains(name), "{name}: the error does not name the file: {stderr}");
        assert!(!out.exists(), "{name}: a page was written anyway");
    }
}

#[test]
fn headline_figures_replace_the_readmes_table_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sql.json"), SQL).unwrap();
    std::fs::write(dir.path().join("plan.json"), PLAN).unwrap();
    let readme = dir.path().join("README.md");
    let start = "<!-- headline figures: written by `robbench bench render`; do not edit -->";
    let end = "<!-- end of headline figures -->";
    std::fs::write(&readme, format!("# Title\n\nBefore.\n\n{start}\n| old | table |\n{end}\n\nAfter.\n")).unwrap();
    let out = dir.path().join("benchmarks.md");
    let o = render_with_readme(dir.path(), &out, &readme);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&readme).unwrap();
    assert!(text.starts_with("# Title\n\nBefore.\n\n") && text.ends_with(&format!("{end}\n\nAfter.\n")), "{text}");
    assert!(!text.contains("| old | table |"), "{text}");
    // Only the marked figure, with its bench, commit (+: uncommitted changes) and date.
    assert!(
        text.contains(
            "| GROUP BY attack \\| eps | 0.0183 s | DuckDB (0.176 s) | 0.104× | `sql`, abc1234+, 2025-06-01 |"
        ),
        "{text}"
    );
    assert!(!text.contains("SELECT 1") && !text.contains("no-op rerun"), "{text}");

    // A README without the block is an error, and is left as it was.
    std::fs::write(&readme, "# No block here\n").unwrap();
    let o = render_with_readme(dir.path(), &out, &readme);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no headline block"));
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), "# No block here\n");
}
