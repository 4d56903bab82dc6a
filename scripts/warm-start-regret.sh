#!/usr/bin/env bash
# Regret of warm starts on the released NAS-RobBench-201 table (CIFAR-10,
# PGD@8/255 accuracy as the oracle): evolution started from the best of a
# pool of cells ranked by a training-free score (the proxy study's NTKs and
# bounds at initialisation, or NAS-Bench-Suite-Zero's proxies) against
# evolution without one. Prints one row per warm start: median regret (in
# accuracy points) after 10 to 150 queries, trials that found the optimum,
# and the median simulated GPU-hours of the trained queries; the NTKs'
# training-free cost is printed apart (docs/src/science/proxy-study.md).
#
#   scripts/warm-start-regret.sh ROBBENCH STORE [TRIALS] [CELLS]
#
# Runs configs/proxy-study.toml into STORE first, its sample of CELLS
# representatives (default 200, the study's; units already there are
# reused), and imports the released table and the zero-cost proxies.
set -euo pipefail
robbench=$1
store=$2
trials=${3:-100}
cells=${4:-200}
rb() { "$robbench" --store "$store" "$@"; }

rb run --config "$(dirname "$0")/../configs/proxy-study.toml" --set "architectures.sample_size=$cells" --jobs 2 >/dev/null
rb import nasrobbench201-html >/dev/null
rb import zero-cost --dataset cifar10 >/dev/null
study=$(rb sql --format csv "SELECT max(run_id) FROM runs WHERE stage = 'ntk'" | tail -n 1)

# One search per warm start: search_steps keeps one set of rows per
# algorithm, objective, source and dataset, so each is read right after it ran.
regret() {
    local label=$1 algorithm=$2
    shift 2
    local out run
    out=$(rb search --run "$study" --set 'search.source="nas-robbench-201"' --set 'search.dataset="cifar10"' \
        --set 'search.objectives=[{ kind = "metric", metric = "pgd@8" }]' --set "search.trials=$trials" \
        --set search.queries=150 --set search.settings.warm_pool=200 \
        --set "search.algorithms=[\"$algorithm\"]" "$@" 2> >(grep -v '^\[search\]' >&2))
    run=$(awk '/^run /{print $2; exit}' <<<"$out")
    rb sql --run "${run%:}" --format csv "
        SELECT '$label' AS warm_start,
               round(100 * median(CASE WHEN step = 10 THEN regret END), 2) AS at_10,
               round(100 * median(CASE WHEN step = 25 THEN regret END), 2) AS at_25,
               round(100 * median(CASE WHEN step = 50 THEN regret END), 2) AS at_50,
               round(100 * median(CASE WHEN step = 100 THEN regret END), 2) AS at_100,
               round(100 * median(CASE WHEN step = 150 THEN regret END), 2) AS at_150,
               sum(CASE WHEN step = 150 AND regret = 0 THEN 1 ELSE 0 END) AS found_optimum,
               round(median(CASE WHEN step = 150 THEN cost END), 1) AS gpu_hours
        FROM search_steps
        WHERE algorithm = '$algorithm' AND source = 'nas-robbench-201' AND dataset = 'cifar10'" | tail -n 1
}

ntk() { echo "search.warm_start={ table = \"ntk\", dataset = \"synthetic\", $1 }"; }
echo "warm_start,at_10,at_25,at_50,at_100,at_150,found_optimum,gpu_hours"
regret "none (regularized evolution)" regularized-evolution
regret "zero-cost nwot" warm-start-evolution --set 'search.warm_start={ metric = "nwot" }'
regret "zero-cost synflow" warm-start-evolution --set 'search.warm_start={ metric = "synflow" }'
regret "NTK lambda_min, clean K" warm-start-evolution --set "$(ntk 'column = "lambda_min", kernel = "clean"')"
regret "NTK lambda_min, robust K" warm-start-evolution --set "$(ntk 'column = "lambda_min", kernel = "robust"')"
regret "NTK lambda_min, robust K_all(beta=1)" warm-start-evolution \
    --set "$(ntk 'column = "lambda_min", kernel = "robust_all", beta = 1.0')"
regret "NTK condition number, clean K" warm-start-evolution --set "$(ntk 'column = "condition", kernel = "clean"')"
regret "robust bound, beta=1" warm-start-evolution \
    --set 'search.warm_start={ table = "bounds", dataset = "synthetic", column = "robust_bound", beta = 1.0 }'

# The warm starts' training-free cost: the study's NTK units (each one
# network at initialisation: BN calibration, attacks, kernels).
rb sql --format csv "
    SELECT count(*) AS ntk_units, round(avg(seconds), 2) AS seconds_per_unit, round(sum(seconds) / 3600, 3) AS hours
    FROM runs WHERE stage = 'ntk' AND status = 'executed'"
