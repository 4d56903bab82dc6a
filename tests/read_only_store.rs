//! A store this process cannot write — a release on a read-only mount, or one
//! owned by another user — answers queries as a writable one does: the runs
//! index and compacted tables it would build inside the store go to a
//! per-user cache instead, and nothing in the store changes.
//!
//! The mount is made read-only for real, in a private mount namespace
//! (`unshare`), so root's permission bypass does not hide a write. Under CI a
//! missing `unshare` fails the test rather than skipping it.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{robbench, run_tiny, stderr, stdout, tree};

const QUERY: &str = "SELECT arch_index, attack, eps, round(avg(accuracy), 6) AS accuracy FROM evaluations \
                     GROUP BY ALL ORDER BY 1, 2, 3";

/// `robbench --store STORE args…` with STORE bind-mounted read-only, in a
/// mount namespace of its own.
fn robbench_read_only(store: &Path, cache: &Path, args: &[&str]) -> Output {
    let script = r#"store=$1; shift
mount --bind "$store" "$store" && mount -o remount,ro,bind "$store" "$store" || exit 97
exec "$@""#;
    let o = Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", script, "sh"])
        .arg(store)
        .arg(env!("CARGO_BIN_EXE_robbench"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("ROBBENCH_STORE_CACHE", cache)
        .env("CUDA_VISIBLE_DEVICES", "")
        .output()
        .expect("unshare (util-linux) runs: it makes the read-only mount this test needs");
    assert_ne!(o.status.code(), Some(97), "cannot make a read-only bind mount in a user namespace: {}", stderr(&o));
    o
}

#[test]
fn a_read_only_store_answers_from_a_per_user_cache_and_stays_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let cache = dir.path().join("cache");
    let sets = ["architectures.indices=[1462]", "ntk.enabled=false", "evaluation.autoattack.eps=[]"];
    let o = run_tiny(&store, &sets);
    assert!(o.status.success(), "{}", stderr(&o));
    // As shipped or copied without what queries derive: no index, no compacted tables.
    for derived in ["tables", "parts", "runs/index"] {
        std::fs::remove_dir_all(store.join(derived)).ok();
    }
    let before = tree(&store);

    let o = robbench_read_only(&store, &cache, &["sql", "--format", "csv", QUERY]);
    assert!(o.status.success(), "{}", stderr(&o));
    let read_only = stdout(&o);
    assert!(read_only.lines().count() > 2, "{read_only}");
    assert_eq!(tree(&store), before, "a query changed the read-only store");
    let cached = tree(&cache);
    assert!(cached.keys().any(|p| p.ends_with("built")), "no runs index in the cache: {cached:?}");
    assert!(cached.keys().any(|p| p.ends_with("_SUCCESS.json")), "no compacted tables in the cache: {cached:?}");

    // Asked again, it answers the same from the cache without adding to it.
    let again = robbench_read_only(&store, &cache, &["sql", "--format", "csv", QUERY]);
    assert_eq!(stdout(&again), read_only, "{}", stderr(&again));
    assert_eq!(tree(&cache).len(), cached.len());

    // Writing is refused with the reason, naming the store.
    let o = robbench_read_only(&store, &cache, &["run", "--set", "architectures.indices=[1462]"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is read-only") && stderr(&o).contains(store.to_str().unwrap()), "{}", stderr(&o));
    assert_eq!(tree(&store), before);

    // The same question on the writable store: the same answer.
    let writable = robbench(&store, &["sql", "--format", "csv", QUERY]);
    assert_eq!(stdout(&writable), read_only, "{}", stderr(&writable));

    // The owner adds a run; the read-only view sees it (its cached index is
    // keyed by the state of runs/, never stale).
    let changed = [&sets[..], &["evaluation.pgd.steps=2"]].concat();
    assert!(run_tiny(&store, &changed).status.success());
    let steps = "SELECT DISTINCT steps FROM evaluations WHERE attack = 'pgd'";
    let o = robbench_read_only(&store, &cache, &["sql", "--format", "csv", steps]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().nth(1), Some("2"), "{}", stderr(&o));
}
