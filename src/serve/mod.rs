//! `robbench serve`: a local, read-only web explorer of the store.
//!
//! Server-rendered HTML with inline SVG and a few small inline scripts; every
//! asset is compiled into the binary (no CDN: it works offline). Pages:
//!
//! - `/` and `/table`: every architecture of a source (a `benchmark` source
//!   such as the shipped NAS-RobBench-201, or the run's own `evaluations`),
//!   one column per dataset × metric, sorted, filtered and paginated on the
//!   server, the filter in the URL; `/table.csv` and `/table.parquet` download
//!   what the filter keeps;
//! - `/arch/{index}`: one cell drawn as a DAG, its isomorphism class, every
//!   metric with its rank, ε sweeps, training curves, NTK scores, bounds,
//!   checkpoints and its one-edge neighbours;
//! - `/tradeoffs` (and `/tradeoffs.json`): any two metrics as a scatter, the
//!   Pareto front highlighted, coloured by a third;
//! - `/runs`: every run's state, units and alerts;
//! - `/search`: regret curves of the architecture searches;
//! - `/sql`: a read-only query box.
//!
//! Read-only by construction: the pages run fixed queries, and `/sql` runs
//! only queries (see [`sql::check_read_only`]), each in a `robbench sql`
//! process of its own that is killed past its time limit. Binds 127.0.0.1 by
//! default and refuses requests for another host name (DNS rebinding).

mod app;
mod arch;
mod data;
mod html;
mod http_error;
mod plot;
mod runs;
mod search;
pub mod sql;
mod sql_limits;
mod table;
mod tradeoffs;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use robbench_pipeline::Store;
use robbench_pipeline::compact::Completeness;
use robbench_pipeline::sql::{Catalog, RunChoice, choose_run};

use crate::light::RunArgs;

pub use app::App;
pub use http_error::{HttpError, Page};

/// `robbench serve`'s arguments.
#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// TCP port (0: any free port; the URL printed says which).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on. Anything but a loopback address exposes the store to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Open the explorer in the default browser (xdg-open).
    #[arg(long)]
    pub open: bool,
    /// Seconds a query of the SQL page may run before it is cancelled.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub sql_timeout: f64,
    /// Rows of a query's result the SQL page shows at most.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub sql_rows: usize,
}

/// The explorer's routes over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(table::page))
        .route("/table", get(table::page))
        .route("/table.csv", get(table::csv))
        .route("/table.parquet", get(table::parquet))
        .route("/arch/{index}", get(arch::page))
        .route("/tradeoffs", get(tradeoffs::page))
        .route("/tradeoffs.json", get(tradeoffs::json))
        .route("/runs", get(runs::page))
        .route("/search", get(search::page))
        .route("/sql", get(sql::page))
        .route("/static/style.css", get(|| async { asset("text/css; charset=utf-8", html::STYLE) }))
        .route("/static/app.js", get(|| async { asset("text/javascript; charset=utf-8", html::SCRIPT) }))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "max-age=3600")], text).into_response()
}

async fn not_found(request: Request) -> HttpError {
    HttpError {
        status: StatusCode::NOT_FOUND,
        message: format!(
            "no page at {}; the explorer has /table, /arch/<index>, /tradeoffs, /runs, /search and /sql",
            request.uri().path()
        ),
    }
}

/// Refuses requests for another host (a web page's script reaching this
/// server by DNS rebinding) and adds headers that keep every page to what
/// the binary serves.
async fn guard(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if let Some(hosts) = &app.hosts {
        let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return HttpError {
                status: StatusCode::FORBIDDEN,
                message: format!("requests must name this server as {} (Host: {host})", hosts.join(" or ")),
            }
            .into_response();
        }
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The `robbench` binary that runs the SQL page's queries: the one beside
/// this executable (robbench-torch has it beside it), else this one.
fn sql_executable() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let light = exe.with_file_name("robbench");
    Ok(if light.is_file() { light } else { exe })
}

/// Everything the server needs, before it listens.
pub fn app(store_dir: &Path, args: &ServeArgs, sql_exe: PathBuf, hosts: Option<Vec<String>>) -> Result<Arc<App>> {
    if !(args.sql_timeout > 0.0 && args.sql_timeout.is_finite()) {
        anyhow::bail!("--sql-timeout {}: expected a positive number of seconds", args.sql_timeout);
    }
    if args.sql_rows == 0 {
        anyhow::bail!("--sql-rows 0: expected at least one row");
    }
    if !store_dir.is_dir() {
        anyhow::bail!("no store at {} (pass --store DIR, or set ROBBENCH_STORE)", store_dir.display());
    }
    let store = Store::open(store_dir)?;
    let choice = match &args.run.run {
        Some(id) => RunChoice::Id(id),
        None => RunChoice::Latest,
    };
    let run_id = choose_run(&store, choice)?;
    let completeness = if args.run.allow_partial { Completeness::AllowPartial } else { Completeness::Whole };
    let catalog = Arc::new(
        Catalog::new(&store, run_id.clone(), completeness)
            .with_planned_units(Box::new(robbench_experiment::planned_units)),
    );
    let mut run_args = args.run.clone();
    // The SQL page's processes read the same run as the pages, even when a newer one completes meanwhile.
    run_args.run = run_id;
    Ok(Arc::new(App {
        store: store.root().to_path_buf(),
        catalog,
        run_args,
        data: data::Data::default(),
        sql: sql_limits::Limits::new(sql_exe, Duration::from_secs_f64(args.sql_timeout), args.sql_rows),
        hosts,
    }))
}

/// `robbench serve`: listens, prints the URL, serves until interrupted.
pub fn serve(store_dir: &Path, args: &ServeArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("robbench-serve")
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let address = SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address} (another server there? try --port)"))?;
        let bound = listener.local_addr()?;
        let shown = match bound.ip() {
            ip if ip.is_unspecified() => SocketAddr::new(IpAddr::from([127, 0, 0, 1]), bound.port()),
            _ => bound,
        };
        let hosts = bound.ip().is_loopback().then(|| {
            let port = bound.port();
            vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}"), shown.to_string()]
        });
        let app = app(store_dir, args, sql_executable()?, hosts)?;
        let url = format!("http://{shown}/");
        crate::light::say(format_args!("robbench: serving {} at {url}", app.store.display()))?;
        if !bound.ip().is_loopback() {
            robbench_pipeline::console::note(format_args!(
                "robbench: WARNING: listening on {bound}, beyond this machine: anyone who can reach it reads the \
                 whole store (every table, checkpoint path and run) without a password. Use the default \
                 --bind 127.0.0.1 unless that is what you want."
            ));
        }
        if let Some(id) = app.catalog.run_id() {
            robbench_pipeline::console::note(format_args!("robbench: tables of run {id}; Ctrl-C stops the server"));
        }
        if args.open {
            match std::process::Command::new("xdg-open").arg(&url).spawn() {
                Ok(_) => {}
                Err(e) => robbench_pipeline::console::note(format_args!(
                    "robbench: cannot open a browser (xdg-open: {e}); open {url} yourself"
                )),
            }
        }
        // The default source's table, loaded while the first page is requested.
        let warm = app.clone();
        tokio::spawn(async move { warm.data.warm_up(&warm.catalog).await });
        axum::serve(listener, router(app)).await.context("the server stopped")?;
        Ok(ExitCode::SUCCESS)
    })
}
