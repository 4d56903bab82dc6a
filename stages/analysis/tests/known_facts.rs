//! Facts computed across the real benchmarks: if an importer mislabelled an
//! index, a column or a unit, these rank correlations would collapse.

use std::collections::HashMap;

use robbench_analysis::{
    Correlation, Meta, Record, correlate, import_nasrobbench201_html, import_nb201_cifar10, import_robustness_dataset,
    import_zero_cost,
};
use robbench_published::{self as published, Input};

/// (arch index, value) of the records of one dataset/metric/ε.
fn series(records: &[Record], dataset: &str, metric: &str, eps: Option<f64>) -> Vec<(u32, f64)> {
    let out: Vec<(u32, f64)> = records
        .iter()
        .filter(|r| r.dataset == dataset && r.metric == metric && r.eps == eps)
        .map(|r| (r.arch_index, r.value))
        .collect();
    assert!(!out.is_empty(), "no {dataset} {metric} {eps:?}");
    out
}

fn tau(c: Correlation) -> f64 {
    c.kendall_tau.unwrap()
}

#[test]
fn rank_correlations_across_benchmarks_are_plausible() {
    let nrb = import_nasrobbench201_html(
        &Input::Shipped(&published::NASROBBENCH201_HTML),
        Some(&Input::Shipped(&published::NASROBBENCH201_OPS)),
    )
    .unwrap();
    let archs: Vec<String> = published::NB201_ARCHS.text().lines().map(str::to_owned).collect();
    let nb201 = import_nb201_cifar10(&Input::Shipped(&published::NB201_CIFAR10), |i| archs.get(i).cloned()).unwrap();
    let meta_input = Input::Shipped(&published::ROBUSTNESS_META);
    let accuracies: Vec<Input> = published::ROBUSTNESS_ACCURACIES.iter().map(Input::Shipped).collect();
    let jung = import_robustness_dataset(&meta_input, &accuracies).unwrap();

    let clean = series(&nrb, "cifar10", "clean", None);
    let pgd8 = series(&nrb, "cifar10", "pgd", Some(8.0));

    let same = correlate(&clean, &clean).unwrap();
    assert_eq!((same.n, same.kendall_tau, same.spearman), (6_466, Some(1.0), Some(1.0)));
    assert!((same.pearson.unwrap() - 1.0).abs() < 1e-12);

    // Adversarially trained nets: clean and PGD accuracy rank nearly alike.
    let clean_pgd = correlate(&clean, &pgd8).unwrap();
    eprintln!("NRB cifar10 clean vs pgd@8: {clean_pgd:?}");
    assert_eq!(clean_pgd.n, 6_466);
    assert!(tau(clean_pgd) > 0.5);

    // Adversarial vs standard training of the same cells (NB201 joins on the
    // representative indices, which are NB201 indices too).
    let nb201_test = series(&nb201, "cifar10", "test_acc", None);
    let nrb_nb201 = correlate(&clean, &nb201_test).unwrap();
    eprintln!("NRB cifar10 clean vs NB201 test_acc: {nrb_nb201:?}");
    assert_eq!(nrb_nb201.n, 6_466);
    assert!(tau(nrb_nb201) > 0.5);

    // Jung et al. evaluated NB201's own checkpoints: their clean accuracy must
    // track NB201's test accuracy closely, on CIFAR-10 and CIFAR-100.
    let jung_clean = series(&jung, "cifar10", "clean", None);
    let jung_nb201 = correlate(&jung_clean, &nb201_test).unwrap();
    eprintln!("Jung cifar10 clean vs NB201 test_acc: {jung_nb201:?}");
    assert!(tau(jung_nb201) > 0.8);
    let nrb_jung = correlate(&clean, &jung_clean).unwrap();
    eprintln!("NRB cifar10 clean vs Jung clean: {nrb_jung:?}");
    assert!(tau(nrb_jung) > 0.5);
    let c100 = correlate(&series(&nrb, "cifar100", "clean", None), &series(&jung, "cifar100", "clean", None)).unwrap();
    eprintln!("NRB cifar100 clean vs Jung clean: {c100:?}");
    assert!(tau(c100) > 0.5);
    let jung_pgd = correlate(&pgd8, &series(&jung, "cifar10", "pgd", Some(8.0))).unwrap();
    eprintln!("NRB cifar10 pgd@8 vs Jung pgd@8 (standard training): {jung_pgd:?}");

    // Zero-cost proxies, mapped string → index → representative.
    let meta = Meta::load(&meta_input).unwrap();
    let index_of: HashMap<&str, usize> = archs.iter().enumerate().map(|(i, a)| (a.as_str(), i)).collect();
    let zc = import_zero_cost(&Input::Shipped(&published::ZERO_COST_CIFAR10), "cifar10").unwrap();
    let proxy = |name: &str| -> Vec<(u32, f64)> {
        let mut by_rep: HashMap<u32, f64> = HashMap::new();
        for s in zc.iter().filter(|s| s.proxy == name) {
            // Isomorphic cells share one representative; their scores differ
            // only by evaluation noise, keep the first.
            by_rep.entry(meta.representative(index_of[s.arch.as_str()]).unwrap()).or_insert(s.value);
        }
        by_rep.into_iter().collect()
    };
    for name in ["synflow", "jacov", "flops"] {
        let c = correlate(&proxy(name), &pgd8).unwrap();
        eprintln!("{name} vs NRB cifar10 pgd@8: {c:?}");
    }
    let synflow = correlate(&proxy("synflow"), &clean).unwrap();
    eprintln!("synflow vs NRB cifar10 clean: {synflow:?}");
    assert!(tau(synflow) > 0.3);
}
