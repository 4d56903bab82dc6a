//! `robbench serve` over HTTP: every route's status and content, bad
//! parameters, traversal attempts, limits, write statements refused and a
//! slow query cancelled — against the real binary on a loopback port, over
//! a store holding the shipped NAS-RobBench-201, a tiny run and a search.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{robbench, run_tiny, stderr, stdout, tree};

/// The store every test serves: the release, a tiny run, a small search.
/// Built once per test binary, in the target's scratch directory.
fn store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-store");
        let _ = std::fs::remove_dir_all(&dir);
        let o = robbench(&dir, &["import", "nasrobbench201-html"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run_tiny(&dir, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = robbench(
            &dir,
            &[
                "search",
                "--set",
                "search.trials=2",
                "--set",
                "search.queries=20",
                "--set",
                "search.algorithms=[\"random\", \"local-search\"]",
                "--set",
                "search.objectives=[{ kind = \"metric\", metric = \"pgd@8\" }]",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    })
}

/// A running `robbench serve`, stopped when dropped.
struct Server {
    child: Child,
    address: String,
    /// Seconds from start to the printed URL.
    started_in: f64,
    stderr: PathBuf,
}

impl Server {
    fn start(store: &Path, extra: &[&str]) -> Server {
        Server::start_with(Command::new(env!("CARGO_BIN_EXE_robbench")), store, extra)
    }

    /// `robbench serve` run by `command` (the binary, or a wrapper around it).
    fn start_with(mut command: Command, store: &Path, extra: &[&str]) -> Server {
        let log = tempfile::NamedTempFile::new().unwrap().into_temp_path().keep().unwrap();
        let started = Instant::now();
        let mut child = command
            .arg("--store")
            .arg(store)
            .args(["serve", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("robbench serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let started_in = started.elapsed().as_secs_f64();
        let address = line
            .split("http://")
            .nth(1)
            .unwrap_or_else(|| {
                panic!("no URL printed: {line:?}; stderr: {}", std::fs::read_to_string(&log).unwrap_or_default())
            })
            .trim()
            .trim_end_matches('/')
            .to_string();
        Server { child, address, started_in, stderr: log }
    }

    fn get(&self, path: &str) -> Response {
        self.request("GET", path, &self.address.clone())
    }

    fn request(&self, method: &str, path: &str, host: &str) -> Response {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        write!(stream, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        Response::parse(&raw)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8]) -> Response {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
            let mut out = Vec::new();
            let mut rest = &body[..];
            loop {
                let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
                let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16).unwrap();
                if size == 0 {
                    break;
                }
                out.extend_from_slice(&rest[end + 2..end + 2 + size]);
                rest = &rest[end + 2 + size + 2..];
            }
            body = out;
        }
        Response { status, headers, body }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The status is `status`, or the test fails showing the body.
    fn expect(self, status: u16) -> Response {
        assert_eq!(self.status, status, "{}", self.text());
        self
    }
}

/// `robbench sql --format csv` rows.
fn sql(store: &Path, query: &str) -> Vec<String> {
    let o = robbench(store, &["sql", "--format", "csv", query]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().skip(1).map(str::to_string).collect()
}

/// The number in `<b id="count">N</b>`.
fn count(page: &str) -> usize {
    page.split("<b id=\"count\">").nth(1).and_then(|s| s.split('<').next()).unwrap().parse().unwrap()
}

/// The architecture indices of the table's rows, in order.
fn rows(page: &str) -> Vec<usize> {
    let body = page.split("<tbody>").nth(1).unwrap().split("</tbody>").next().unwrap();
    body.split("<tr><td><a href=\"/arch/").skip(1).map(|s| s.split('"').next().unwrap().parse().unwrap()).collect()
}

#[test]
fn the_server_starts_fast_prints_its_url_and_shows_the_release() {
    let server = Server::start(store(), &[]);
    assert!(server.started_in < 1.0, "the URL came after {:.2} s", server.started_in);
    assert!(server.address.starts_with("127.0.0.1:"), "{}", server.address);
    for path in ["/", "/table"] {
        let page = server.get(path).expect(200);
        assert!(page.header("content-type").unwrap().starts_with("text/html"));
        // Everything comes from the binary: no other origin is named or allowed.
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && !csp.contains("http"), "{csp}");
        let text = page.text();
        assert!(!text.contains("http://") && !text.contains("https://"), "a page names another origin");
        assert!(text.contains("Benchmark: nas-robbench-201"), "{text}");
        assert_eq!(count(&text), 6466);
        assert_eq!(rows(&text).len(), 50);
        for column in ["cifar10", "cifar100", "imagenet16-120", "pgd@8", "fgsm@3", "clean"] {
            assert!(text.contains(column), "no {column}");
        }
    }
    assert!(server.stderr().contains("tables of run"), "{}", server.stderr());
    let css = server.get("/static/style.css").expect(200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    let js = server.get("/static/app.js").expect(200);
    assert!(js.text().contains("addEventListener"));
}

#[test]
fn the_table_sorts_filters_and_pages_on_the_server() {
    let server = Server::start(store(), &[]);
    // The robust optimum first (README: cell 2581, PGD@8 0.4811).
    let page = server.get("/table?sort=cifar10:pgd@8&dir=desc&per=5").expect(200).text();
    assert_eq!(rows(&page)[0], 2581, "{page}");
    assert!(page.contains("0.4811"));
    let ascending = server.get("/table?sort=cifar10:pgd@8&dir=asc&per=5").expect(200).text();
    assert_ne!(rows(&ascending)[0], 2581);

    // A metric range keeps what SQL keeps.
    let expected: usize = sql(
        store(),
        "SELECT count(*) FROM (SELECT arch_index, avg(value) AS v FROM benchmark WHERE source = 'nas-robbench-201' \
         AND dataset = 'cifar10' AND metric = 'pgd' AND eps = 8 GROUP BY arch_index) WHERE v >= 0.45",
    )[0]
    .parse()
    .unwrap();
    let filtered = server.get("/table?min.cifar10%3Apgd%408=0.45&sort=cifar10:clean&per=1000").expect(200).text();
    assert_eq!(count(&filtered), expected);
    assert_eq!(rows(&filtered).len(), expected.min(1000));
    assert!(expected > 10 && expected < 6466, "{expected}");
    // Ranges combine; op counts, parameters and FLOPs filter too.
    let all_conv = server.get("/table?min.ops:nor_conv_3x3=6").expect(200).text();
    assert_eq!(count(&all_conv), 1);
    let small = server.get("/table?max.params=200000&max.flops=20").expect(200).text();
    assert!(count(&small) > 0 && count(&small) < 6466);
    // A cell pattern: a substring, or a glob.
    let glob = server.get("/table?cell=*nor_conv_3x3~2|").expect(200).text();
    let substring = server.get("/table?cell=nor_conv_3x3~2").expect(200).text();
    assert_eq!(count(&glob), count(&substring));
    assert!(count(&glob) > 1000 && count(&glob) < 6466, "{}", count(&glob));
    // Pages follow one another without overlap.
    let first = rows(&server.get("/table?per=10&page=1").expect(200).text());
    let second = rows(&server.get("/table?per=10&page=2").expect(200).text());
    assert_eq!(first.len(), 10);
    assert!(first.iter().all(|i| !second.contains(i)) && first.last() < second.first());
    let last = server.get("/table?per=1000&page=7").expect(200).text();
    assert_eq!(rows(&last).len(), 466);
    // Empty form fields are ignored.
    assert_eq!(count(&server.get("/table?cell=&min.params=").expect(200).text()), 6466);
    // Another source: this run's own evaluations.
    let own = server.get("/table?source=evaluations").expect(200).text();
    assert_eq!(rows(&own), [1462, 7581]);
}

#[test]
fn bad_table_parameters_are_refused_with_a_message() {
    let server = Server::start(store(), &[]);
    for (query, message) in [
        ("sort=nope", "unknown column `nope`"),
        ("sort=cifar10:pgd@99", "unknown column"),
        ("dir=up", "expected asc or desc"),
        ("min.cifar10:pgd@8=abc", "expected a number"),
        ("max.params=inf", "expected a number"),
        ("min.ops:conv=1", "unknown operation"),
        ("per=0", "from 1 to 1000"),
        ("per=100000", "from 1 to 1000"),
        ("page=x", "whole number"),
        ("page=999", "page 999 of 130"),
        ("source=nope", "unknown source `nope`"),
        ("foo=1", "unknown query parameter `foo`"),
        ("per=5&per=6", "given twice"),
        ("cell=%3Cscript%3E", "cell pattern"),
    ] {
        let r = server.get(&format!("/table?{query}")).expect(400);
        let text = r.text();
        assert!(text.contains(message), "{query}: {text}");
        assert!(!text.contains("<script>"), "{query}: the page reflects markup");
        // The downloads check the same way.
        server.get(&format!("/table.csv?{query}"));
    }
    assert_eq!(server.get("/table.csv?sort=nope").status, 400);
    assert_eq!(server.get("/tradeoffs?x=nope").status, 400);
    assert_eq!(server.get("/tradeoffs.json?color=nope").status, 400);
}

#[test]
fn downloads_hold_what_the_filter_keeps() {
    let server = Server::start(store(), &[]);
    let q = "min.cifar10%3Apgd%408=0.46&sort=cifar10:pgd@8";
    let n = count(&server.get(&format!("/table?{q}")).expect(200).text());
    let csv = server.get(&format!("/table.csv?{q}")).expect(200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.header("content-disposition").unwrap().contains("robbench-nas-robbench-201.csv"));
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("arch_index,arch,params,flops,cifar10:clean"), "{}", lines[0]);
    assert_eq!(lines.len() - 1, n);
    assert!(lines[1].starts_with("2581,|"), "{}", lines[1]);
    let parquet = server.get(&format!("/table.parquet?{q}")).expect(200);
    assert!(parquet.body.starts_with(b"PAR1") && parquet.body.ends_with(b"PAR1"));
    // The file reads back with the same rows.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &parquet.body).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(file.path()).unwrap()).unwrap();
    use parquet::file::reader::FileReader;
    assert_eq!(reader.metadata().file_metadata().num_rows() as usize, n);
}

#[test]
fn an_architecture_page_shows_its_cell_class_metrics_and_neighbours() {
    let server = Server::start(store(), &[]);
    let page = server.get("/arch/2581").expect(200).text();
    assert!(page.contains("<h1>Architecture 2581</h1>"));
    assert_eq!(page.matches("class=\"edge\"").count(), 6, "the DAG has six edges");
    assert_eq!(page.matches("class=\"node\"").count(), 4);
    assert!(page.contains("Isomorphism class") && page.contains("represents its class"));
    // The robust optimum ranks first on PGD@8 of CIFAR-10.
    let metrics = page.split("data-source=\"nas-robbench-201\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(metrics.contains("<td>cifar10</td><td>pgd@8</td><td>0.4811</td><td>1</td><td>6466</td>"), "{metrics}");
    assert!(page.contains("Accuracy against ε"));
    let neighbours = page.split("id=\"neighbours\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert_eq!(neighbours.matches("<tr").count() - 1, 24, "24 one-edge changes");

    // A cell of the run: its training curves, alerts or scores, checkpoints.
    let page = server.get("/arch/1462").expect(200).text();
    assert!(page.contains("Training curves (this run)"), "no training curves");
    assert!(page.contains("NTK scores (this run)") && page.contains("Generalization bounds (this run)"));
    assert!(page.contains("this run · 1462"), "no ε sweep of the run");
    let checkpoint: String = sql(store(), "SELECT checkpoint FROM models WHERE arch_index = 1462 LIMIT 1")[0].clone();
    let path = store().canonicalize().unwrap().join(&checkpoint);
    assert!(path.is_file());
    assert!(page.contains(&path.display().to_string()), "no checkpoint path {}", path.display());
    assert!(page.contains("load_state_dict"));

    // A member of a class that is not its representative points to it.
    let space = robbench_space::Space::nb201();
    let member = (0..15625).find(|&i| space.unique_index(i).unwrap() != i).unwrap();
    let rep = space.unique_index(member).unwrap();
    let page = server.get(&format!("/arch/{member}")).expect(200).text();
    assert!(page.contains(&format!("Isomorphic to <a href=\"/arch/{rep}\">{rep}</a>")), "{page}");
    // A cell string names its index.
    let cell = space.arch(2581).unwrap().to_string().replace('|', "%7C");
    let r = server.get(&format!("/arch/{cell}")).expect(303);
    assert_eq!(r.header("location"), Some("/arch/2581"));
    // The neighbours compared in another source.
    assert!(server.get("/arch/2581?source=evaluations").expect(200).text().contains("id=\"neighbours\""));
}

#[test]
fn bad_architectures_and_traversal_attempts_are_refused() {
    let server = Server::start(store(), &[]);
    for (path, status, message) in [
        ("/arch/15625", 400, "out of range"),
        ("/arch/99999999999999999999999", 400, "out of range"),
        ("/arch/abc", 400, "neither an architecture index"),
        ("/arch/-1", 400, "neither an architecture index"),
        ("/arch/..%2F..%2Fetc%2Fpasswd", 400, "neither an architecture index"),
        ("/arch/%2e%2e", 400, "neither"),
        ("/arch/1462?source=nope", 400, "unknown source"),
        ("/arch/1462?x=1", 400, "unknown query parameter"),
        ("/arch/../../etc/passwd", 404, "no page at"),
        ("/static/../Cargo.toml", 404, "no page at"),
        ("/static/..%2F..%2FCargo.toml", 404, "no page at"),
        ("/static/", 404, "no page at"),
        ("/etc/passwd", 404, "no page at"),
        ("/nope", 404, "no page at"),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.text().contains(message), "{path}: {}", r.text());
        assert!(!r.text().contains("root:"), "{path} leaked a file");
    }
    // Read-only: nothing but GET.
    for method in ["POST", "PUT", "DELETE"] {
        assert_eq!(server.request(method, "/table", &server.address.clone()).status, 405, "{method}");
    }
    // Another host name (DNS rebinding) is refused.
    let r = server.request("GET", "/table", "evil.example:80");
    assert_eq!(r.status, 403, "{}", r.text());
    let port = server.address.split(':').nth(1).unwrap();
    assert_eq!(server.request("GET", "/sql", &format!("localhost:{port}")).status, 200);
}

#[test]
fn tradeoffs_plot_any_two_metrics_with_the_pareto_front() {
    let server = Server::start(store(), &[]);
    let page = server.get("/tradeoffs").expect(200).text();
    assert_eq!(count(&page), 6466);
    assert_eq!(page.matches("<circle class=\"pt").count(), 6466);
    // The robust optimum is on the front of clean vs PGD@8, and links to its page.
    assert!(
        page.contains("<a href=\"/arch/2581\"><circle class=\"pt front\" data-index=\"2581\""),
        "2581 not on the front"
    );
    assert!(page.contains("<title>#2581 |"), "no hover text");
    let json: serde_json::Value = serde_json::from_str(&server.get("/tradeoffs.json").expect(200).text()).unwrap();
    assert_eq!(json["x"], "cifar10:clean");
    assert_eq!(json["y"], "cifar10:pgd@8");
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 6466);
    let front: Vec<&serde_json::Value> = points.iter().filter(|p| p["front"] == true).collect();
    assert!(front.iter().any(|p| p["index"] == 2581));
    // No front point is dominated by another point.
    for f in &front {
        let (x, y) = (f["x"].as_f64().unwrap(), f["y"].as_f64().unwrap());
        assert!(!points.iter().any(|p| {
            let (px, py) = (p["x"].as_f64().unwrap(), p["y"].as_f64().unwrap());
            px >= x && py >= y && (px > x || py > y)
        }));
    }
    // Cost is minimised; a filter and a colour apply.
    let q = "/tradeoffs.json?x=flops&y=cifar100:pgd@8&color=ops:nor_conv_3x3&max.flops=100";
    let json: serde_json::Value = serde_json::from_str(&server.get(q).expect(200).text()).unwrap();
    let points = json["points"].as_array().unwrap();
    assert!(!points.is_empty() && points.iter().all(|p| p["x"].as_f64().unwrap() <= 100.0));
    let cheapest = points.iter().map(|p| p["x"].as_f64().unwrap()).fold(f64::INFINITY, f64::min);
    assert!(points.iter().any(|p| p["front"] == true && p["x"].as_f64().unwrap() == cheapest));
}

#[test]
fn runs_and_search_pages_show_the_store() {
    let server = Server::start(store(), &[]);
    let page = server.get("/runs").expect(200).text();
    let o = robbench(store(), &["runs"]);
    let ids: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{}", stdout(&o));
    for id in &ids {
        assert!(page.contains(id), "run {id} missing");
    }
    assert!(page.contains("finished") && page.contains("executed") && page.contains("(shown)"));
    assert!(page.contains("<th>stage</th>") && page.contains("train"));
    let search = server.get("/search").expect(200).text();
    assert!(search.contains("random") && search.contains("local-search") && search.contains("pgd@8"));
    assert!(search.contains("<svg class=\"plot\""));
    assert!(search.contains("<td>2 of 2</td>") || search.contains("of 2</td>"));
}

#[test]
fn sql_answers_queries_and_refuses_everything_else() {
    let server = Server::start(store(), &["--sql-rows", "7"]);
    let page = server.get("/sql").expect(200).text();
    assert!(page.contains("<textarea") && page.contains("Examples"));
    let r = server.get("/sql?q=SELECT%20count(*)%20AS%20n%20FROM%20benchmark").expect(200).text();
    assert!(r.contains("<th>n</th>") && r.contains("<td>116388</td>"), "{r}");
    // At most --sql-rows rows, and the page says so.
    let r = server.get("/sql?q=SELECT%20*%20FROM%20benchmark").expect(200).text();
    assert_eq!(r.split("id=\"result\"").nth(1).unwrap().matches("<tr>").count() - 1, 7);
    assert!(r.contains("the first 7 (the limit)"), "{r}");
    let r = server.get("/sql?q=SHOW%20TABLES").expect(200).text();
    assert!(r.contains("evaluations"));

    let target = std::env::temp_dir().join(format!("robbench-serve-copy-{}.parquet", std::process::id()));
    let statements = [
        "DROP TABLE benchmark".to_string(),
        "INSERT INTO benchmark VALUES ('x', 1, 'y', 'z', 'w', 1.0, 1, 1.0)".into(),
        format!("COPY (SELECT * FROM benchmark) TO '{}'", target.display()),
        "CREATE TABLE t AS SELECT 1".into(),
        format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}'", "/etc/passwd"),
        "SET datafusion.execution.batch_size = 1".into(),
        "SELECT 1; DROP TABLE benchmark".into(),
        "WITH x AS (SELECT 1) SELECT * INTO y FROM x".into(),
    ];
    for statement in &statements {
        let r = server.get(&format!("/sql?q={}", encode(statement))).expect(400).text();
        assert!(r.contains("refused") || r.contains("single SQL statement"), "{statement}: {r}");
    }
    assert!(!target.exists(), "COPY wrote a file");
    assert_eq!(sql(store(), "SELECT count(*) FROM benchmark"), ["116388"], "the store changed");
    // No file outside the store's tables can be named.
    let r = server.get(&format!("/sql?q={}", encode("SELECT * FROM '/etc/passwd'"))).expect(400).text();
    assert!(!r.contains("root:"), "{r}");
    // Errors of the query itself, and limits of the page.
    let r = server.get("/sql?q=SELECT%20nope%20FROM%20benchmark").expect(400).text();
    assert!(r.contains("nope"), "{r}");
    let long = format!("SELECT 1 --{}", "x".repeat(21_000));
    assert!(server.get(&format!("/sql?q={}", encode(&long))).expect(400).text().contains("at most 20000"));
    assert_eq!(server.get("/sql?query=1").status, 400);
}

#[test]
fn a_slow_query_is_cancelled_and_the_server_stays_up() {
    let server = Server::start(store(), &["--sql-timeout", "1.5"]);
    let started = Instant::now();
    // Statistics cannot answer it: every pair of rows is computed.
    let slow = "SELECT max(a.value + b.value) FROM benchmark a CROSS JOIN benchmark b";
    let r = server.get(&format!("/sql?q={}", encode(slow))).expect(504).text();
    let took = started.elapsed().as_secs_f64();
    assert!(r.contains("time limit of 1.5 s and was cancelled"), "{r}");
    assert!(took < 6.0, "the answer took {took:.1} s");
    // Its process is gone, and the server answers the next query.
    let children = Command::new("pgrep").args(["-P", &server.child.id().to_string()]).output().unwrap();
    assert!(stdout(&children).trim().is_empty(), "a query process survived: {}", stdout(&children));
    assert!(server.get("/sql?q=SELECT%2042%20AS%20answer").expect(200).text().contains("<td>42</td>"));
    assert!(server.get("/table?per=1").expect(200).text().contains("6466"));
}

#[test]
fn an_empty_store_is_served_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    assert!(server.get("/").expect(200).text().contains("robbench import nasrobbench201-html"));
    assert!(server.get("/tradeoffs").expect(200).text().contains("robbench import nasrobbench201-html"));
    assert!(server.get("/runs").expect(200).text().contains("No run yet"));
    assert!(server.get("/search").expect(200).text().contains("No architecture search"));
    assert!(server.get("/arch/5").expect(200).text().contains("No source of this store"));
    assert_eq!(server.get("/sql?q=SELECT%201%20AS%20one").expect(200).status, 200);
    // A directory that is not there is named.
    let o = robbench(&dir.path().join("nope"), &["serve", "--port", "0"]);
    assert!(!o.status.success() && stderr(&o).contains("no store at"), "{}", stderr(&o));
}

#[test]
fn a_served_store_is_not_written_once_its_tables_are_built() {
    // A copy of its own, which no other test touches meanwhile.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("store");
    // (Other tests may be writing the store's tables meanwhile: a file renamed
    // under `cp` is copied on the next try.)
    let copied = (0..5).any(|_| {
        let _ = std::fs::remove_dir_all(&copy);
        Command::new("cp").arg("-a").arg(store()).arg(&copy).status().unwrap().success()
    });
    assert!(copied, "cannot copy the store");
    // Every page once: the run's tables (and every run's, for alerts) are built.
    let pages = ["/", "/table?source=evaluations", "/arch/1462", "/tradeoffs", "/runs", "/search", "/sql?q=SELECT%201"];
    {
        let server = Server::start(&copy, &[]);
        for page in pages {
            server.get(page).expect(200);
        }
    }
    let before = tree(&copy);
    let server = Server::start(&copy, &[]);
    for page in pages {
        server.get(page).expect(200);
    }
    drop(server);
    let after = tree(&copy);
    let changed: Vec<_> = after.iter().filter(|(path, stat)| before.get(*path) != Some(stat)).collect();
    assert!(changed.is_empty(), "serving wrote {changed:?}");
}

/// A copy of the fixture store that this process cannot write, and the
/// command that runs `robbench` on it: as root, a copy of the binary run as
/// `nobody` (setpriv); otherwise the binary, the copy made read-only. Either
/// way the user's cache for derived tables is a fresh directory it can write.
fn read_only_copy(dir: &Path, built: bool) -> Option<(PathBuf, Command)> {
    use std::os::unix::fs::PermissionsExt;
    let copy = dir.join("store");
    let copied = (0..5).any(|_| {
        let _ = std::fs::remove_dir_all(&copy);
        Command::new("cp").arg("-a").arg(store()).arg(&copy).status().unwrap().success()
    });
    assert!(copied, "cannot copy the store");
    if !built {
        // As a store is before its first query: no compacted tables.
        for d in ["tables", "parts"] {
            let _ = std::fs::remove_dir_all(copy.join(d));
        }
    }
    let chmod = |mode: &str| assert!(Command::new("chmod").args(["-R", mode]).arg(dir).status().unwrap().success());
    let cache = dir.join("cache");
    std::fs::create_dir(&cache).unwrap();
    let writable_cache = || std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        chmod("a-w");
        writable_cache();
        let mut command = Command::new(env!("CARGO_BIN_EXE_robbench"));
        command.env("ROBBENCH_STORE_CACHE", &cache);
        return Some((copy, command));
    }
    let setpriv = Command::new("setpriv").arg("--version").output();
    if !setpriv.is_ok_and(|o| o.status.success()) {
        robbench_reference::unavailable("setpriv (to serve a store as a user who cannot write it)", "not on PATH");
        return None;
    }
    let exe = dir.join("robbench");
    std::fs::copy(env!("CARGO_BIN_EXE_robbench"), &exe).unwrap();
    chmod("a+rX,go-w");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    writable_cache();
    let mut command = Command::new("setpriv");
    command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&exe).env("ROBBENCH_STORE_CACHE", &cache);
    Some((copy, command))
}

#[test]
fn a_store_it_cannot_write_is_served_whether_or_not_it_was_queried_before() {
    // Built tables (as after any query): every page works without writing.
    let dir = tempfile::tempdir().unwrap();
    {
        // Build every run's tables in a copy first, as a user who can.
        let warm = Server::start(store(), &[]);
        for page in ["/", "/runs", "/search"] {
            warm.get(page).expect(200);
        }
    }
    let Some((copy, command)) = read_only_copy(dir.path(), true) else { return };
    let server = Server::start_with(command, &copy, &[]);
    for page in ["/", "/table?source=evaluations", "/arch/1462", "/tradeoffs", "/runs", "/search"] {
        server.get(page).expect(200);
    }
    assert!(server.get("/sql?q=SELECT%20count(*)%20FROM%20evaluations").expect(200).text().contains("<td>"));
    drop(server);
    let _ = Command::new("chmod").args(["-R", "u+w"]).arg(dir.path()).status();

    // Tables never built: the server builds them in a cache of its own
    // user's, and every page answers.
    let dir = tempfile::tempdir().unwrap();
    let Some((copy, command)) = read_only_copy(dir.path(), false) else { return };
    let before = tree(&copy);
    let server = Server::start_with(command, &copy, &[]);
    for page in ["/", "/table?source=evaluations", "/arch/1462", "/tradeoffs", "/runs", "/search"] {
        server.get(page).expect(200);
    }
    assert!(server.get("/sql?q=SELECT%20count(*)%20FROM%20evaluations").expect(200).text().contains("<td>"));
    drop(server);
    assert_eq!(tree(&copy), before, "serving changed a store it cannot write");
    let _ = Command::new("chmod").args(["-R", "u+w"]).arg(dir.path()).status();
}

#[test]
fn binding_beyond_loopback_warns_loudly() {
    let server = Server::start(store(), &["--bind", "0.0.0.0"]);
    server.get("/sql").expect(200);
    assert!(server.stderr().contains("WARNING: listening on 0.0.0.0"), "{}", server.stderr());
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
