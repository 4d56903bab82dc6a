//! The SQL page (`/sql?q=…`): a read-only query box.
//!
//! A statement runs only when it is a query ([`check_read_only`]: SELECT,
//! WITH, VALUES, set operations, EXPLAIN of a query, SHOW/DESCRIBE; no DML,
//! DDL, COPY, SET or `SELECT … INTO`, at any depth). It runs in a
//! `robbench sql` process of its own, reading the run the pages show: the
//! process is killed when its time limit passes or once the page has the
//! rows it shows, so a runaway query costs neither the server's memory nor
//! its CPU, and the server stays up.

use std::io::Read;
use std::ops::ControlFlow;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{Select, Statement, Visit, Visitor};

use super::app::App;
use super::data::blocking;
use super::html::{self, Html, esc};
use super::http_error::{HttpError, Page};
use super::sql_limits::CONCURRENT;
use super::table::Params;

/// Longest query text the page takes.
pub const MAX_QUERY_BYTES: usize = 20_000;

/// Refuses anything but a query: the statement DataFusion would run, parsed
/// the way `robbench sql` parses it. `Err` says why, for the user.
pub fn check_read_only(sql: &str) -> Result<(), String> {
    let config = SessionConfig::from_env().map_err(|e| format!("a DATAFUSION_* variable is invalid: {e}"))?;
    let context = SessionContext::new_with_config(config);
    let state = context.state();
    let dialect = state.config().options().sql_parser.dialect;
    let statement = state.sql_to_statement(sql, &dialect).map_err(|e| format!("{e}"))?;
    check_statement(&statement)
}

fn refused(what: &str) -> String {
    format!(
        "{what} is refused: the explorer is read-only and runs queries only (SELECT, WITH, VALUES, EXPLAIN, SHOW); \
         use `robbench sql` on the command line to write files"
    )
}

fn check_statement(statement: &DfStatement) -> Result<(), String> {
    match statement {
        DfStatement::Statement(s) => check_sql_statement(s),
        DfStatement::Explain(explain) => check_statement(&explain.statement),
        DfStatement::CreateExternalTable(_) => Err(refused("CREATE EXTERNAL TABLE")),
        DfStatement::CopyTo(_) => Err(refused("COPY")),
        DfStatement::Reset(_) => Err(refused("RESET")),
    }
}

/// The first word of a statement, for messages (`DROP`, `INSERT`, …).
fn keyword(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [first, second] if ["CREATE", "DROP", "ALTER"].contains(&first.to_uppercase().as_str()) => {
            format!("{} {}", first.to_uppercase(), second.to_uppercase())
        }
        [first, ..] => first.to_uppercase(),
        [] => "an empty statement".into(),
    }
}

fn check_sql_statement(statement: &Statement) -> Result<(), String> {
    match statement {
        Statement::Query(_)
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. }
        | Statement::ExplainTable { .. }
        | Statement::Explain { .. } => {}
        other => return Err(refused(&keyword(other))),
    }
    // Nothing inside may write either: a data-modifying CTE, `SELECT … INTO`.
    struct Writes(Option<String>);
    impl Visitor for Writes {
        type Break = ();
        fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
            match statement {
                Statement::Query(_)
                | Statement::ShowTables { .. }
                | Statement::ShowColumns { .. }
                | Statement::ExplainTable { .. }
                | Statement::Explain { .. } => ControlFlow::Continue(()),
                other => {
                    self.0 = Some(keyword(other));
                    ControlFlow::Break(())
                }
            }
        }
        fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
            if select.into.is_some() {
                self.0 = Some("SELECT … INTO".into());
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut writes = Writes(None);
    let _ = statement.visit(&mut writes);
    match writes.0 {
        Some(what) => Err(refused(&what)),
        None => Ok(()),
    }
}

/// A query's outcome.
enum Outcome {
    Rows { columns: Vec<String>, rows: Vec<Vec<String>>, more: bool, seconds: f64, notes: String },
    Failed(String),
    TimedOut(f64),
}

/// Runs `query` in `robbench sql`, reading at most `limits.rows + 1` rows.
fn run(app: &App, query: &str) -> anyhow::Result<Outcome> {
    let limits = &app.sql;
    let mut command = Command::new(&limits.exe);
    command.arg("--store").arg(&app.store).args(["sql", "--format", "csv"]);
    if let Some(run) = &app.run_args.run {
        command.args(["--run", run]);
    }
    if app.run_args.allow_partial {
        command.arg("--allow-partial");
    }
    command.arg("--").arg(query).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| anyhow::anyhow!("cannot run {}: {e}", limits.exe.display()))?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.by_ref().take(64 * 1024).read_to_string(&mut text);
        text
    });
    // Rows arrive on a channel, so that the wait for them has a deadline.
    let (send, receive) = std::sync::mpsc::sync_channel::<Result<Vec<String>, String>>(256);
    std::thread::spawn(move || {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(stdout);
        for record in reader.records() {
            let row = record.map(|r| r.iter().map(str::to_string).collect()).map_err(|e| e.to_string());
            if send.send(row).is_err() {
                return;
            }
        }
    });
    let deadline = started + limits.timeout;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let outcome = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match receive.recv_timeout(left) {
            Ok(Ok(row)) => {
                if header.is_none() {
                    header = Some(row);
                } else if rows.len() == limits.rows {
                    // One more than shown: the rest is not read.
                    break None;
                } else {
                    rows.push(row);
                }
            }
            Ok(Err(e)) => break Some(Outcome::Failed(format!("cannot read the result: {e}"))),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                break Some(Outcome::TimedOut(limits.timeout.as_secs_f64()));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                break Some(Outcome::Rows {
                    columns: Vec::new(),
                    rows: Vec::new(),
                    more: false,
                    seconds: 0.0,
                    notes: String::new(),
                });
            }
        }
    };
    let more = outcome.is_none();
    if !matches!(outcome, Some(Outcome::Rows { .. })) {
        // Past its time, or holding more rows than shown: the query is stopped.
        let _ = child.kill();
    }
    let status = child.wait()?;
    let stderr = errors.join().unwrap_or_default();
    let seconds = started.elapsed().as_secs_f64();
    Ok(match outcome {
        Some(Outcome::TimedOut(limit)) => Outcome::TimedOut(limit),
        Some(Outcome::Failed(e)) => Outcome::Failed(e),
        _ if !more && !status.success() => Outcome::Failed(
            stderr.lines().map(|l| l.strip_prefix("robbench: error: ").unwrap_or(l)).collect::<Vec<_>>().join("\n"),
        ),
        _ => Outcome::Rows {
            columns: header.unwrap_or_default(),
            rows,
            more,
            seconds,
            notes: stderr.lines().filter(|l| !l.starts_with("robbench: tables of run")).collect::<Vec<_>>().join("\n"),
        },
    })
}

const EXAMPLES: [(&str, &str); 4] = [
    ("the tables", "SHOW TABLES"),
    (
        "robust optimum of NAS-RobBench-201",
        "SELECT arch_index, arch, value FROM benchmark\nWHERE source = 'nas-robbench-201' AND dataset = 'cifar10' AND metric = 'pgd' AND eps = 8\nORDER BY value DESC LIMIT 10",
    ),
    (
        "rank agreement",
        "SELECT source, score, metric, dataset, round(kendall_tau, 3) AS tau FROM correlations ORDER BY tau DESC LIMIT 20",
    ),
    (
        "accuracy per attack in this run",
        "SELECT attack, eps, avg(accuracy) FROM evaluations GROUP BY 1, 2 ORDER BY 1, 2",
    ),
];

pub async fn page(State(app): State<Arc<App>>, Query(pairs): Query<Vec<(String, String)>>) -> Page {
    let params = Params::new(pairs, &["q"], &[])?;
    let query = params.get("q").unwrap_or("").to_string();
    let mut body = String::from("<h1>SQL</h1>\n");
    body.push_str(&format!(
        "<form method=\"get\" action=\"/sql\" id=\"sql\"><textarea name=\"q\" id=\"q\" rows=\"7\" cols=\"100\" \
         spellcheck=\"false\" placeholder=\"SELECT …\">{}</textarea><br><button type=\"submit\" id=\"run\">Run</button> \
         <span class=\"muted\">read-only: queries only; at most {} rows shown, {} s per query; run {}</span></form>\n",
        esc(&query),
        app.sql.rows,
        super::data::number(app.sql.timeout.as_secs_f64()),
        esc(app.catalog.run_id().unwrap_or("(imports only)"))
    ));
    if query.is_empty() {
        body.push_str("<h2>Examples</h2><ul>");
        for (name, q) in EXAMPLES {
            body.push_str(&format!(
                "<li><a href=\"{}\">{name}</a></li>",
                esc(&html::link("/sql", &[("q".into(), q.into())]))
            ));
        }
        body.push_str(
            "</ul><p class=\"note\">Tables and columns: the reference's \"Tables\" page, or <code>robbench tables</code>.</p>\n",
        );
        return Ok(Html(html::page("SQL", "/sql", &body)).into_response());
    }
    let fail = |status: StatusCode, message: String, body: &mut String| {
        body.push_str(&format!("<pre class=\"error\" id=\"error\">{}</pre>\n", esc(&message)));
        Ok((status, Html(html::page("SQL", "/sql", body))).into_response())
    };
    if query.len() > MAX_QUERY_BYTES {
        let message = format!("the query is {} bytes long: at most {MAX_QUERY_BYTES}", query.len());
        return fail(StatusCode::BAD_REQUEST, message, &mut body);
    }
    if let Err(why) = check_read_only(&query) {
        return fail(StatusCode::BAD_REQUEST, why, &mut body);
    }
    let Ok(permit) = app.sql.running.try_acquire() else {
        let message = format!("{CONCURRENT} queries are running already: try again when one has finished");
        return fail(StatusCode::SERVICE_UNAVAILABLE, message, &mut body);
    };
    let runner = app.clone();
    let text = query.clone();
    let outcome = blocking(move || run(&runner, &text)).await;
    drop(permit);
    match outcome.map_err(|e| HttpError::internal(&e))? {
        Outcome::TimedOut(limit) => fail(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "the query ran past its time limit of {} s and was cancelled (its process killed); \
                 narrow it (WHERE, LIMIT) or start the server with a longer --sql-timeout",
                super::data::number(limit)
            ),
            &mut body,
        ),
        Outcome::Failed(message) => fail(StatusCode::BAD_REQUEST, message, &mut body),
        Outcome::Rows { columns, rows, more, seconds, notes } => {
            body.push_str(&format!(
                "<p class=\"summary\" id=\"summary\">{} row{}{} in {seconds:.2} s</p>\n",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" },
                if more {
                    format!(" shown: the first {} (the limit); the query was stopped there", app.sql.rows)
                } else {
                    String::new()
                }
            ));
            if !notes.trim().is_empty() {
                body.push_str(&format!("<pre class=\"note\">{}</pre>\n", esc(notes.trim())));
            }
            body.push_str("<div class=\"scroll\"><table class=\"result\" id=\"result\"><thead><tr>");
            for c in &columns {
                body.push_str(&format!("<th>{}</th>", esc(c)));
            }
            body.push_str("</tr></thead><tbody>\n");
            for row in &rows {
                body.push_str("<tr>");
                for v in row {
                    body.push_str(&format!("<td>{}</td>", esc(v)));
                }
                body.push_str("</tr>\n");
            }
            body.push_str("</tbody></table></div>\n");
            Ok(Html(html::page("SQL", "/sql", &body)).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_read_only;

    #[test]
    fn only_queries_pass() {
        for ok in [
            "SELECT 1",
            "select * from benchmark limit 3",
            "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
            "SELECT 1 UNION ALL SELECT 2",
            "VALUES (1), (2)",
            "EXPLAIN SELECT 1",
            "SHOW TABLES",
            "SELECT 1;",
        ] {
            assert_eq!(check_read_only(ok), Ok(()), "{ok}");
        }
        for (bad, word) in [
            ("DROP TABLE benchmark", "DROP TABLE"),
            ("INSERT INTO benchmark VALUES (1)", "INSERT"),
            ("COPY (SELECT 1) TO '/tmp/x.parquet'", "COPY"),
            ("CREATE TABLE t AS SELECT 1", "CREATE TABLE"),
            ("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc'", "CREATE EXTERNAL TABLE"),
            ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
            ("SET datafusion.execution.batch_size = 1", "SET"),
            ("SELECT 1 INTO t", "SELECT … INTO"),
            ("EXPLAIN COPY (SELECT 1) TO '/tmp/x'", "COPY"),
            ("DELETE FROM benchmark", "DELETE"),
            ("SELECT 1; DROP TABLE benchmark", ""),
        ] {
            let why = check_read_only(bad).expect_err(bad);
            assert!(why.contains(word), "{bad}: {why}");
        }
    }
}
