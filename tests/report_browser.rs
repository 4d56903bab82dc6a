//! The report as a browser shows it: rendered in headless Chromium, every
//! plot's axes and legend lie inside its viewBox, legends beside the plotted
//! area, and the page logs no console errors.
//!
//! Needs Chromium (`ROBBENCH_CHROMIUM`, else on PATH, else installed with
//! apt-get); without one the test fails under CI and is skipped, with a
//! visible `SKIPPED` line, elsewhere.

mod common;

use std::path::Path;

use common::chromium::{chromium, headless};
use common::{TINY, robbench, run_tiny, stderr, stdout};

/// Runs in the page after every plot is parsed: checks each `svg.plot` and
/// writes a verdict (JSON) into `#verdict`.
const CHECK: &str = r#"<script>
(function () {
  const problems = [];
  const plots = document.querySelectorAll('svg.plot');
  plots.forEach((svg, i) => {
    const title = (svg.querySelector('title') || {}).textContent || ('plot ' + i);
    const vb = svg.viewBox.baseVal;
    const inside = (name, b) => {
      if (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y + b.height > vb.y + vb.height + 0.5) {
        problems.push(title + ': ' + name + ' [' + [b.x, b.y, b.width, b.height].map(v => v.toFixed(1)) + '] leaves the viewBox [' + [vb.x, vb.y, vb.width, vb.height] + ']');
      }
    };
    const group = name => svg.querySelector('g.' + name);
    inside('title, axes, legend and points', svg.getBBox());
    for (const name of ['axis-x', 'axis-y', 'plot-area']) {
      const g = group(name);
      if (!g) { problems.push(title + ': no ' + name); continue; }
      inside(name, g.getBBox());
    }
    if (group('axis-x') && group('axis-x').querySelectorAll('text').length < 3) problems.push(title + ': x axis has fewer than 2 ticks');
    if (group('axis-y') && group('axis-y').querySelectorAll('text').length < 3) problems.push(title + ': y axis has fewer than 2 ticks');
    const legend = group('legend');
    if (legend) {
      const b = legend.getBBox();
      inside('legend', b);
      const frame = group('plot-area').querySelector('rect').getBBox();
      if (b.x < frame.x + frame.width) problems.push(title + ': legend overlaps the plotted area');
    }
    svg.querySelectorAll('g.plot-area circle').forEach(c => {
      if (!c.querySelector('title')) problems.push(title + ': a point without hover text');
    });
  });
  const verdict = document.createElement('pre');
  verdict.id = 'verdict';
  verdict.textContent = JSON.stringify({ plots: plots.length, problems: problems, errors: window.__errors || [] });
  document.body.appendChild(verdict);
})();
</script>"#;

/// Collects errors thrown or logged while the page loads.
const CATCH: &str = r#"<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
const consoleError = console.error;
console.error = function (...args) { window.__errors.push(args.map(String).join(' ')); consoleError.apply(console, args); };
</script>"#;

/// The page's DOM after load, as headless Chromium builds it, and its log.
fn render(chromium: &Path, page: &Path) -> (String, String) {
    let out = headless(chromium, &format!("file://{}", page.display()));
    assert!(out.status.success(), "chromium failed: {}", stderr(&out));
    (stdout(&out), stderr(&out))
}

#[test]
fn the_report_renders_in_chromium_with_every_plot_inside_its_frame() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let o = run_tiny(&store, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = dir.path().join("report.html");
    let mut args = vec!["report".to_string(), "--out".into(), report.display().to_string()];
    for set in TINY {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    let o = robbench(&store, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&report).unwrap();

    // Every scatter point names its network and its cell.
    let scatter = html.split("<h2>Clean vs robust accuracy</h2>").nth(1).unwrap().split("</svg>").next().unwrap();
    for arch in ["arch 1462 |", "arch 7581 |"] {
        assert!(scatter.contains(arch), "no hover text for {arch}");
    }

    let page = dir.path().join("checked.html");
    let instrumented =
        html.replacen("<head>", &format!("<head>{CATCH}"), 1).replacen("</body>", &format!("{CHECK}</body>"), 1);
    std::fs::write(&page, instrumented).unwrap();
    let (dom, log) = render(&chromium, &page);
    let verdict = dom
        .split("<pre id=\"verdict\">")
        .nth(1)
        .and_then(|v| v.split("</pre>").next())
        .unwrap_or_else(|| panic!("the check did not run; chromium's log:\n{log}"));
    let verdict: serde_json::Value = serde_json::from_str(&verdict.replace("&quot;", "\"").replace("&amp;", "&"))
        .unwrap_or_else(|e| panic!("verdict {verdict}: {e}"));
    robbench_reference::ran(&format!("{} rendered the report: {verdict}", chromium.display()));
    assert!(verdict["plots"].as_u64().unwrap() >= 10, "{verdict}");
    assert_eq!(verdict["problems"], serde_json::json!([]), "{verdict}");
    assert_eq!(verdict["errors"], serde_json::json!([]), "{verdict}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") && l.contains("ERROR")).collect();
    assert!(console.is_empty(), "console errors: {console:?}");
}

/// Without a Chromium the report cannot be checked: the test fails under CI
/// and is skipped, visibly, elsewhere.
#[test]
fn without_chromium_the_check_fails_in_ci_and_is_skipped_visibly_outside() {
    robbench_reference::assert_fails_in_ci_and_skips_visibly_outside(
        "the_report_renders_in_chromium_with_every_plot_inside_its_frame",
        &[("ROBBENCH_CHROMIUM", "/nonexistent/chromium")],
        "/nonexistent/chromium cannot render an empty page",
    );
}
