//! Module layering, checked by reading the sources (nothing is compiled):
//!
//! 1. no crate of the workspace's code (`pipeline/`, the root crate's
//!    library and binaries, every crate under `stages/`) has files whose
//!    imports run in a circle, so each module can be read knowing only the
//!    ones below it. Every import counts, a submodule's use of what an
//!    ancestor defines (`super::App`, `crate::NnError`) too: what a parent
//!    and the children it uses share lives in a module below them all;
//! 2. the engine (`pipeline/src`) follows the layer order [`PIPELINE_LAYERS`]:
//!    a module imports only modules listed before it.
//!
//! A file depends on another when it names it or an item of it: `use`
//! declarations (with `{…}` groups, `self`, globs and renames) and paths in
//! code starting with `crate::`, `super::`, `self::` or a child module's
//! name. A name re-exported by `pub use` is followed to the module that
//! defines it, so `use crate::Store` depends on `store.rs`, not on `lib.rs`;
//! the `pub use` and `mod` lines themselves are a table of contents, not
//! dependencies. Comments, strings and test code (`#[cfg(test)]`) are
//! skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// `pipeline/src`'s modules from the lowest layer to the highest: a module
/// may import only modules listed before it. Every module of `pipeline/src`
/// must be listed. (ARCHITECTURE.md quotes this list.)
///
/// - foundation, no engine module below them: `console` (messages),
///   `key` (unit keys), `parallelism` (jobs × threads), `config`, `tables`
///   (Parquet files of tables), `host` (host name, Slurm job);
/// - `store`: the content-addressed store and its claims;
/// - `stage`, `plan`: what a stage is and the plan of a pipeline;
/// - `runs`: run logs, records and their rows of `runs`;
/// - `compact`, `parts_table`: compacted tables and their parts as a table;
/// - `runs_table`, `sql`: the catalog and queries;
/// - `execute`: runs a plan;
/// - `synthetic`, `bench`: a toy pipeline and the engine's benchmark.
const PIPELINE_LAYERS: &[&str] = &[
    "console",
    "key",
    "parallelism",
    "config",
    "tables",
    "host",
    "store",
    "stage",
    "plan",
    "runs",
    "compact",
    "parts_table",
    "runs_table",
    "sql",
    "execute",
    "synthetic",
    "bench",
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_crate_has_an_import_cycle() {
    let mut found = Vec::new();
    for graph in workspace_graphs(&workspace()) {
        found.extend(graph.cycles().iter().map(|cycle| graph.describe_cycle(cycle)));
    }
    assert!(
        found.is_empty(),
        "import cycles (a cycle's files, then the imports that tie them):\n\n{}",
        found.join("\n\n")
    );
}

#[test]
fn the_engine_imports_only_lower_layers() {
    let graph = pipeline_graph(&workspace().join("pipeline"));
    let violations = layer_violations(&graph, PIPELINE_LAYERS);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_checks_catch_a_reintroduced_import() {
    // The engine as it was, in one place: the store asked `execute` for the
    // host name, which put store, plan, execute, runs, compaction and SQL in
    // one circle.
    let copy = tempfile::tempdir().unwrap();
    let src = copy.path().join("src");
    std::fs::create_dir(&src).unwrap();
    for entry in std::fs::read_dir(workspace().join("pipeline/src")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, src.join(path.file_name().unwrap())).unwrap();
    }
    let store = src.join("store.rs");
    let text = std::fs::read_to_string(&store).unwrap();
    assert!(text.contains("crate::host::hostname()"), "the test's edit no longer applies to store.rs");
    std::fs::write(&store, text.replace("crate::host::hostname()", "crate::execute::hostname()")).unwrap();

    let graph = pipeline_graph(copy.path());
    let cycles: Vec<String> = graph.cycles().iter().map(|c| graph.describe_cycle(c)).collect();
    assert!(
        cycles.iter().any(|c| c.contains("src/store.rs") && c.contains("src/execute.rs")),
        "no cycle through store.rs and execute.rs reported: {cycles:?}"
    );
    let violations = layer_violations(&graph, PIPELINE_LAYERS);
    assert!(
        violations.iter().any(|v| v.contains("src/store.rs") && v.contains("src/execute.rs")),
        "store.rs importing execute.rs is not reported: {violations:?}"
    );
}

#[test]
fn the_scanner_reads_use_trees_paths_and_re_exports() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("d")).unwrap();
    let write = |name: &str, text: &str| std::fs::write(src.join(name), text).unwrap();
    write(
        "lib.rs",
        "mod a;\nmod b;\nmod c;\nmod d;\n#[path = \"elsewhere.rs\"]\nmod e;\npub use b::{Thing as Renamed, Other};\n\
         pub struct Root;\n",
    );
    // A use group over several lines, a re-exported name, a renamed one; a
    // commented-out import, one in a string and a lifetime are no imports.
    write(
        "a.rs",
        "use crate::{\n    Other,\n    d::{self, Deep},\n};\n// use crate::c::C;\n/* use crate::c::C; /* nested */ */\n\
         fn f<'x>(s: &'x str) -> &'x str { let _ = \"crate::c::C\"; let _ = '{'; s }\n",
    );
    write(
        "b.rs",
        "pub struct Thing;\npub struct Other;\npub fn g() { super::a::f(\"\"); }\n\
         #[cfg(test)]\nmod tests { use crate::c::C; }\n",
    );
    write("c.rs", "pub struct C;\nfn h() -> crate::Renamed { crate::Renamed }\n");
    // A parent using its child, which uses the parent: a circle like any other.
    write("d/mod.rs", "mod deep;\npub use deep::Deep;\npub struct D;\nfn f() { deep::g() }\n");
    write(
        "d/deep.rs",
        "pub struct Deep;\npub fn g() -> super::D { super::D }\nfn r() -> crate::Root { crate::Root }\n\
         #[cfg(test)]\nmod tests { use super::*; }\n",
    );
    write("elsewhere.rs", "fn e() -> super::c::C { crate::c::C }\n");

    let graph = crate_graph(dir.path(), &src.join("lib.rs"));
    let edges: BTreeSet<(String, String)> =
        graph.edges.iter().map(|e| (graph.name(&e.from).to_string(), graph.name(&e.to).to_string())).collect();
    let expected: BTreeSet<(String, String)> = [
        ("src/a.rs", "src/b.rs"),
        ("src/a.rs", "src/d/mod.rs"),
        ("src/a.rs", "src/d/deep.rs"),
        ("src/b.rs", "src/a.rs"),
        ("src/c.rs", "src/b.rs"),
        ("src/d/deep.rs", "src/d/mod.rs"),
        ("src/d/deep.rs", "src/lib.rs"),
        ("src/d/mod.rs", "src/d/deep.rs"),
        ("src/elsewhere.rs", "src/c.rs"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(edges, expected);
    let cycles = graph.cycles();
    assert_eq!(cycles.len(), 2, "{cycles:?}");
    let described = graph.describe_cycle(&cycles[0]);
    assert!(described.contains("src/a.rs:2") && described.contains("src/b.rs:3"), "{described}");
    let described = graph.describe_cycle(&cycles[1]);
    assert!(
        described.contains("2 files") && described.contains("src/d/mod.rs:4") && described.contains("src/d/deep.rs:2"),
        "{described}"
    );
    let violations = layer_violations(&graph, &["d", "a", "b", "c", "e"]);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("src/a.rs:2") && violations[0].contains("src/b.rs"), "{violations:?}");
}

// ---------------------------------------------------------------------------
// The crates and their module trees.

/// Every crate of `root`'s code: pipeline, the root crate's targets and each
/// crate under `stages/`.
fn workspace_graphs(root: &Path) -> Vec<Graph> {
    let mut crates = vec![root.join("pipeline"), root.to_path_buf(), root.join("stages")];
    let mut stages: Vec<PathBuf> = std::fs::read_dir(root.join("stages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    stages.sort();
    crates.extend(stages);
    let mut graphs = Vec::new();
    for dir in crates {
        let targets = crate_roots(&dir);
        assert!(!targets.is_empty(), "{} has no lib.rs, main.rs or bin/", dir.display());
        graphs.extend(targets.iter().map(|target| crate_graph(root, target)));
    }
    graphs
}

fn pipeline_graph(dir: &Path) -> Graph {
    crate_graph(dir.parent().unwrap(), &dir.join("src/lib.rs"))
}

fn crate_roots(dir: &Path) -> Vec<PathBuf> {
    let src = dir.join("src");
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"].iter().map(|f| src.join(f)).filter(|p| p.exists()).collect();
    if let Ok(bins) = std::fs::read_dir(src.join("bin")) {
        let mut bins: Vec<PathBuf> = bins
            .map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { p.join("main.rs") } else { p })
            .filter(|p| p.extension().is_some_and(|e| e == "rs") && p.exists())
            .collect();
        bins.sort();
        roots.extend(bins);
    }
    roots
}

/// One reference to a path, as written, and where.
struct Reference {
    /// The module the reference is written in (inline modules included).
    module: Vec<String>,
    path: Vec<String>,
    line: usize,
    /// A `pub use`: a re-export, not a dependency.
    re_export: bool,
}

struct Edge {
    from: PathBuf,
    to: PathBuf,
    line: usize,
    path: String,
}

/// Name → the path a `use` imports under that name, and whether the `use`
/// is `pub`.
type Imports = HashMap<String, (Vec<String>, bool)>;

struct Graph {
    /// Paths are shown relative to this directory.
    base: PathBuf,
    root: PathBuf,
    /// File → its module path.
    files: BTreeMap<PathBuf, Vec<String>>,
    /// Module path (inline modules included) → the file that holds it.
    modules: HashMap<Vec<String>, PathBuf>,
    /// Module → the names its `use` declarations import.
    aliases: HashMap<Vec<String>, Imports>,
    edges: Vec<Edge>,
}

/// The module tree from `root` (a crate root file) and the dependencies
/// between its files.
fn crate_graph(base: &Path, root: &Path) -> Graph {
    let mut graph = Graph {
        base: base.to_path_buf(),
        root: root.to_path_buf(),
        files: BTreeMap::new(),
        modules: HashMap::new(),
        aliases: HashMap::new(),
        edges: Vec::new(),
    };
    let mut references = Vec::new();
    let mut queue = vec![(root.to_path_buf(), Vec::<String>::new(), true, false)];
    while let Some((file, module, mod_rs, test)) = queue.pop() {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let scanned = scan(&tokenize(&text), test);
        graph.files.insert(file.clone(), module.clone());
        graph.modules.insert(module.clone(), file.clone());
        let dir = file.parent().unwrap().to_path_buf();
        let children_dir = if mod_rs { dir.clone() } else { dir.join(file.file_stem().unwrap()) };
        for inline in &scanned.inline_modules {
            graph.modules.insert([module.clone(), inline.clone()].concat(), file.clone());
        }
        for declared in &scanned.declared_modules {
            let child = [module.clone(), declared.inline.clone(), vec![declared.name.clone()]].concat();
            let (path, child_mod_rs) = match &declared.path_attribute {
                Some(p) => {
                    let path = dir.join(p);
                    let mod_rs = path.file_name().is_some_and(|n| n == "mod.rs");
                    (path, mod_rs)
                }
                None => {
                    let parent = declared.inline.iter().fold(children_dir.clone(), |d, m| d.join(m));
                    let flat = parent.join(format!("{}.rs", declared.name));
                    if flat.exists() { (flat, false) } else { (parent.join(&declared.name).join("mod.rs"), true) }
                }
            };
            assert!(path.exists(), "{}: module `{}` has no file {}", file.display(), declared.name, path.display());
            queue.push((path, child, child_mod_rs, declared.test));
        }
        for (inline, name, path, public) in scanned.aliases {
            graph.aliases.entry([module.clone(), inline].concat()).or_default().insert(name, (path, public));
        }
        for r in scanned.references {
            references.push((file.clone(), Reference { module: [module.clone(), r.module].concat(), ..r }));
        }
    }
    for (file, r) in references {
        if r.re_export {
            continue;
        }
        if let Some(to) = graph.resolve(&r.module, &r.path, 0)
            && to != file
        {
            graph.edges.push(Edge { from: file, to, line: r.line, path: r.path.join("::") });
        }
    }
    graph.edges.sort_by(|a, b| (&a.from, a.line, &a.to).cmp(&(&b.from, b.line, &b.to)));
    graph
}

impl Graph {
    fn name<'a>(&self, file: &'a Path) -> std::borrow::Cow<'a, str> {
        file.strip_prefix(&self.base).unwrap_or(file).to_string_lossy()
    }

    fn is_module(&self, path: &[String]) -> bool {
        self.modules.contains_key(path)
    }

    /// The file that defines what `path`, written in `module`, names; `None`
    /// for another crate's items.
    fn resolve(&self, module: &[String], path: &[String], depth: usize) -> Option<PathBuf> {
        self.resolve_from(module, module, path, depth)
    }

    /// [`Graph::resolve`] of `path` written in `module` (a `use` in it, when
    /// following an import) for code in `reader`.
    fn resolve_from(&self, reader: &[String], module: &[String], path: &[String], depth: usize) -> Option<PathBuf> {
        let first = path.first()?;
        let (mut current, rest): (Vec<String>, &[String]) = match first.as_str() {
            "crate" => (vec![], &path[1..]),
            "self" => (module.to_vec(), &path[1..]),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                let mut current = module.to_vec();
                for _ in 0..ups {
                    // `super` of an inline module's file is still in reach.
                    current.pop()?;
                }
                (current, &path[ups..])
            }
            name if self.is_module(&[module, &[name.to_string()]].concat()) => (module.to_vec(), path),
            _ => return None,
        };
        for segment in rest {
            if segment == "*" {
                break;
            }
            let next = [current.as_slice(), std::slice::from_ref(segment)].concat();
            if self.is_module(&next) {
                current = next;
                continue;
            }
            // A name a `use` imported there (from this crate or another) and
            // visible to `reader`, or an item of `current`.
            if let Some((target, public)) = self.aliases.get(&current).and_then(|a| a.get(segment))
                && (*public || reader.starts_with(&current))
                && depth < 16
            {
                return self.resolve_from(reader, &current, target, depth + 1);
            }
            break;
        }
        self.modules.get(&current).cloned()
    }

    /// Strongly connected components of more than one file, each sorted.
    fn cycles(&self) -> Vec<Vec<PathBuf>> {
        let files: Vec<&PathBuf> = self.files.keys().collect();
        let index: HashMap<&PathBuf, usize> = files.iter().enumerate().map(|(i, f)| (*f, i)).collect();
        let mut next: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); files.len()];
        for e in &self.edges {
            next[index[&e.from]].insert(index[&e.to]);
        }
        // Tarjan's algorithm, iteratively.
        let n = files.len();
        let (mut order, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
        let (mut stack, mut counter, mut components) = (Vec::new(), 0, Vec::new());
        for start in 0..n {
            if order[start] != usize::MAX {
                continue;
            }
            let mut work: Vec<(usize, Vec<usize>)> = vec![(start, next[start].iter().copied().collect())];
            order[start] = counter;
            low[start] = counter;
            counter += 1;
            stack.push(start);
            on_stack[start] = true;
            while let Some((v, pending)) = work.last_mut() {
                let v = *v;
                if let Some(w) = pending.pop() {
                    if order[w] == usize::MAX {
                        order[w] = counter;
                        low[w] = counter;
                        counter += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        work.push((w, next[w].iter().copied().collect()));
                    } else if on_stack[w] {
                        low[v] = low[v].min(order[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some((parent, _)) = work.last() {
                    low[*parent] = low[*parent].min(low[v]);
                }
                if low[v] == order[v] {
                    let mut component = Vec::new();
                    loop {
                        let w = stack.pop().unwrap();
                        on_stack[w] = false;
                        component.push(files[w].clone());
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort();
                        components.push(component);
                    }
                }
            }
        }
        components.sort();
        components
    }

    /// A cycle's files and the imports that tie them, with file and line.
    fn describe_cycle(&self, files: &[PathBuf]) -> String {
        let members: BTreeSet<&PathBuf> = files.iter().collect();
        let names: Vec<_> = files.iter().map(|f| self.name(f)).collect();
        let mut out = format!("{} files of {}: {}", files.len(), self.name(&self.root), names.join(", "));
        for e in self.edges.iter().filter(|e| members.contains(&e.from) && members.contains(&e.to)) {
            out += &format!("\n  {}:{} imports {} (`{}`)", self.name(&e.from), e.line, self.name(&e.to), e.path);
        }
        out
    }
}

/// Imports of `graph` (one crate's files) that go up `layers` (module names,
/// lowest first; the crate root is above them all), and modules missing
/// from `layers`.
fn layer_violations(graph: &Graph, layers: &[&str]) -> Vec<String> {
    let layer_of = |file: &PathBuf| -> Option<usize> {
        let module = graph.files.get(file)?.first()?;
        layers.iter().position(|l| l == module)
    };
    let mut out = Vec::new();
    for (file, module) in &graph.files {
        if let [name] = module.as_slice()
            && !layers.contains(&name.as_str())
        {
            out.push(format!("{} (module `{name}`) is not in the declared layer order", graph.name(file)));
        }
    }
    for e in &graph.edges {
        // Equal layers: files of the same top-level module.
        if let (Some(from), Some(to)) = (layer_of(&e.from), layer_of(&e.to))
            && to > from
        {
            out.push(format!(
                "{}:{} imports {} (`{}`), but `{}` is above `{}` in the declared layer order",
                graph.name(&e.from),
                e.line,
                graph.name(&e.to),
                e.path,
                layers[to],
                layers[from]
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Reading the sources: tokens without comments, then `mod`, `use` and paths.

#[derive(Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// The tokens of `text` that matter here, each with its line; comments,
/// character literals, lifetimes and numbers are left out.
fn tokenize(text: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let ident_char = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            _ if c.is_whitespace() => i += 1,
            '/' if peek(&chars, i + 1) == '/' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if peek(&chars, i + 1) == '*' => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && peek(&chars, i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && peek(&chars, i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(chars[i] == '\n');
                        i += 1;
                    }
                }
            }
            '"' => {
                let start_line = line;
                let mut value = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        value.push(chars[i]);
                        i += 1;
                    }
                    line += usize::from(chars.get(i) == Some(&'\n'));
                    value.extend(chars.get(i));
                    i += 1;
                }
                i += 1;
                out.push((Token::Str(value), start_line));
            }
            '\'' => {
                if peek(&chars, i + 1) == '\\' {
                    // '\n', '\'', '\u{…}'
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if peek(&chars, i + 2) == '\'' {
                    i += 3;
                } else {
                    // A lifetime or label.
                    i += 1;
                    while i < chars.len() && ident_char(chars[i]) {
                        i += 1;
                    }
                }
            }
            ':' if peek(&chars, i + 1) == ':' => {
                out.push((Token::PathSep, line));
                i += 2;
            }
            _ if ident_char(c) => {
                let start = i;
                while i < chars.len() && ident_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // Raw strings: r"…", r#"…"#, br"…"; raw identifiers r#name.
                if (word == "r" || word == "br") && (chars.get(i) == Some(&'"') || chars.get(i) == Some(&'#')) {
                    let hashes = chars[i..].iter().take_while(|&&c| c == '#').count();
                    if chars.get(i + hashes) == Some(&'"') {
                        let start_line = line;
                        i += hashes + 1;
                        let start = i;
                        loop {
                            if i >= chars.len() {
                                break;
                            }
                            if chars[i] == '"'
                                && chars[i + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes
                            {
                                break;
                            }
                            line += usize::from(chars[i] == '\n');
                            i += 1;
                        }
                        let value: String = chars[start..i.min(chars.len())].iter().collect();
                        i += hashes + 1;
                        out.push((Token::Str(value), start_line));
                        continue;
                    }
                    if word == "r" && hashes == 1 {
                        i += 1;
                        let start = i;
                        while i < chars.len() && ident_char(chars[i]) {
                            i += 1;
                        }
                        out.push((Token::Ident(chars[start..i].iter().collect()), line));
                        continue;
                    }
                }
                if word == "b" && chars.get(i) == Some(&'\'') {
                    // A byte literal b'x': the quote is handled next round.
                    continue;
                }
                if !word.starts_with(|c: char| c.is_ascii_digit()) {
                    out.push((Token::Ident(word), line));
                }
            }
            _ => {
                out.push((Token::Punct(c), line));
                i += 1;
            }
        }
    }
    out
}

/// The character at `i`, or NUL past the end.
fn peek(chars: &[char], i: usize) -> char {
    chars.get(i).copied().unwrap_or('\0')
}

struct DeclaredModule {
    /// The inline modules (`mod a { … }`) the declaration sits in.
    inline: Vec<String>,
    name: String,
    path_attribute: Option<String>,
    /// `#[cfg(test)]`, or declared inside test code.
    test: bool,
}

#[derive(Default)]
struct Scanned {
    declared_modules: Vec<DeclaredModule>,
    /// Inline modules, as paths below the file's module.
    inline_modules: Vec<Vec<String>>,
    /// (inline module, name, path, `pub`) of each module-level `use`.
    aliases: Vec<(Vec<String>, String, Vec<String>, bool)>,
    /// Paths, with `module` relative to the file's module.
    references: Vec<Reference>,
}

/// An open `{`: an inline module's body or any other block, and whether it
/// is test code (`#[cfg(test)]`).
enum Frame {
    Module(String, bool),
    Other(bool),
}

/// The attributes (`#[path = "…"]`, `#[cfg(test)]`) of the item being read.
#[derive(Default)]
struct Attributes {
    path: Option<String>,
    test: bool,
}

/// The modules, imports and paths of one file's tokens. Test code (a file
/// or block under `#[cfg(test)]`) names no dependencies: tests may exercise
/// a module through the ones above it.
fn scan(tokens: &[(Token, usize)], test_file: bool) -> Scanned {
    let mut out = Scanned::default();
    let mut frames: Vec<Frame> = Vec::new();
    let mut attributes = Attributes::default();
    let inline = |frames: &[Frame]| -> Vec<String> {
        frames
            .iter()
            .filter_map(|f| match f {
                Frame::Module(m, _) => Some(m.clone()),
                Frame::Other(_) => None,
            })
            .collect()
    };
    let in_test =
        |frames: &[Frame]| test_file || frames.iter().any(|f| matches!(f, Frame::Module(_, true) | Frame::Other(true)));
    let ident = |k: usize| match tokens.get(k) {
        Some((Token::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let punct = |k: usize, c: char| tokens.get(k).is_some_and(|t| t.0 == Token::Punct(c));
    let mut i = 0;
    while i < tokens.len() {
        let (token, line) = &tokens[i];
        match token {
            Token::Punct('#') if punct(i + 1, '[') => {
                if ident(i + 2) == Some("path")
                    && punct(i + 3, '=')
                    && let Some((Token::Str(p), _)) = tokens.get(i + 4)
                {
                    attributes.path = Some(p.clone());
                }
                if ident(i + 2) == Some("cfg") && punct(i + 3, '(') && ident(i + 4) == Some("test") && punct(i + 5, ')')
                {
                    attributes.test = true;
                }
                i += 2;
                continue;
            }
            Token::Punct('{') => {
                frames.push(Frame::Other(std::mem::take(&mut attributes).test));
            }
            Token::Punct('}') => {
                frames.pop();
                attributes = Attributes::default();
            }
            Token::Punct(';') => attributes = Attributes::default(),
            Token::Ident(word) if word == "mod" => {
                if let Some(name) = ident(i + 1) {
                    let attributes = std::mem::take(&mut attributes);
                    let test = attributes.test || in_test(&frames);
                    if punct(i + 2, ';') {
                        out.declared_modules.push(DeclaredModule {
                            inline: inline(&frames),
                            name: name.to_string(),
                            path_attribute: attributes.path,
                            test,
                        });
                        i += 3;
                        continue;
                    }
                    if punct(i + 2, '{') {
                        frames.push(Frame::Module(name.to_string(), test));
                        out.inline_modules.push(inline(&frames));
                        i += 3;
                        continue;
                    }
                }
            }
            Token::Ident(word) if word == "use" => {
                let is_pub = public_before(tokens, i);
                let test = std::mem::take(&mut attributes).test || in_test(&frames);
                let end = (i..tokens.len()).find(|&k| tokens[k].0 == Token::Punct(';')).unwrap_or(tokens.len());
                let module_level = frames.iter().all(|f| matches!(f, Frame::Module(..)));
                let mut entries = Vec::new();
                use_tree(&tokens[i + 1..end], &[], &mut entries);
                for (path, name, line) in entries {
                    if module_level && let Some(name) = name {
                        out.aliases.push((inline(&frames), name, path.clone(), is_pub));
                    }
                    if !test {
                        // A `pub use` re-exports: code that names the item
                        // through it depends on the module that defines it.
                        let re_export = module_level && is_pub;
                        out.references.push(Reference { module: inline(&frames), path, line, re_export });
                    }
                }
                i = end + 1;
                continue;
            }
            Token::Ident(word)
                if tokens.get(i + 1).is_some_and(|t| t.0 == Token::PathSep)
                    && !matches!(
                        i.checked_sub(1).map(|k| &tokens[k].0),
                        Some(Token::PathSep | Token::Punct('.' | '$'))
                    ) =>
            {
                // A path in code: crate::…, super::…, self::… or name::… (kept
                // when `name` turns out to be a child module).
                let mut path = vec![word.clone()];
                let mut k = i + 1;
                while tokens.get(k).is_some_and(|t| t.0 == Token::PathSep)
                    && let Some(next) = ident(k + 1)
                {
                    path.push(next.to_string());
                    k += 2;
                }
                if !in_test(&frames) {
                    out.references.push(Reference { module: inline(&frames), path, line: *line, re_export: false });
                }
                i = k;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Whether the `use` at `i` is `pub` or `pub(…)`.
fn public_before(tokens: &[(Token, usize)], i: usize) -> bool {
    match i.checked_sub(1).map(|k| &tokens[k].0) {
        Some(Token::Ident(w)) => w == "pub",
        Some(Token::Punct(')')) => {
            let open = (0..i - 1).rev().find(|&k| tokens[k].0 == Token::Punct('('));
            open.and_then(|o| o.checked_sub(1)).is_some_and(|k| tokens[k].0 == Token::Ident("pub".into()))
        }
        _ => false,
    }
}

/// The paths of a use tree, each with the name it imports (`None` for a
/// glob) and its line.
fn use_tree(tokens: &[(Token, usize)], prefix: &[String], out: &mut Vec<(Vec<String>, Option<String>, usize)>) {
    let mut path = prefix.to_vec();
    let mut i = 0;
    // A leading `::` names another crate.
    if tokens.first().is_some_and(|t| t.0 == Token::PathSep) {
        return;
    }
    while i < tokens.len() {
        match &tokens[i].0 {
            Token::Ident(w) if w == "as" => {
                let name = match tokens.get(i + 1) {
                    Some((Token::Ident(alias), _)) => alias.clone(),
                    _ => break,
                };
                let path = normalise_self(path);
                out.push((path, Some(name), tokens[i].1));
                return;
            }
            Token::Ident(w) => {
                path.push(w.clone());
                i += 1;
            }
            Token::PathSep => i += 1,
            Token::Punct('*') => {
                path.push("*".into());
                out.push((path, None, tokens[i].1));
                return;
            }
            Token::Punct('{') => {
                // Split the group at its top-level commas.
                let mut depth = 0;
                let mut start = i + 1;
                for k in i + 1..tokens.len() {
                    match tokens[k].0 {
                        Token::Punct('{') => depth += 1,
                        Token::Punct('}') if depth > 0 => depth -= 1,
                        Token::Punct(',') | Token::Punct('}') if depth == 0 => {
                            if k > start {
                                use_tree(&tokens[start..k], &path, out);
                            }
                            start = k + 1;
                            if tokens[k].0 == Token::Punct('}') {
                                return;
                            }
                        }
                        _ => {}
                    }
                }
                return;
            }
            _ => return,
        }
    }
    if path.len() > prefix.len() || !prefix.is_empty() {
        let path = normalise_self(path);
        let name = path.last().cloned();
        out.push((path, name, tokens.first().map_or(0, |t| t.1)));
    }
}

/// `a::b::{self}` imports `a::b` as `b`.
fn normalise_self(mut path: Vec<String>) -> Vec<String> {
    if path.len() > 1 && path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    path
}
