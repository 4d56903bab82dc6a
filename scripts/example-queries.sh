#!/usr/bin/env bash
# Example SQL over the default pipeline's tables (run by `make pipeline`).
set -euo pipefail
robbench=$1
store=$2
q() {
    echo
    echo "robbench sql \"$1\""
    "$robbench" --store "$store" sql "$1"
}
q "SELECT a.arch_index, a.params, a.flops,
          max(CASE WHEN e.attack = 'clean' THEN e.accuracy END) AS clean,
          max(CASE WHEN e.attack = 'fgsm' AND e.eps = 8 THEN e.accuracy END) AS fgsm_8,
          max(CASE WHEN e.attack = 'pgd' AND e.eps = 3 THEN e.accuracy END) AS pgd_3,
          max(CASE WHEN e.attack = 'pgd' AND e.eps = 8 THEN e.accuracy END) AS pgd_8,
          max(CASE WHEN e.attack = 'autoattack' AND e.eps = 8 THEN e.accuracy END) AS aa_8,
          a.arch
   FROM architectures a JOIN evaluations e USING (arch_index)
   GROUP BY a.arch_index, a.params, a.flops, a.arch
   ORDER BY pgd_8 DESC"
q "SELECT attack, round(avg(accuracy), 4) AS mean_accuracy FROM evaluations GROUP BY attack ORDER BY mean_accuracy DESC"
q "SELECT attack, eps, round(avg(accuracy), 4) AS mean_accuracy, count(*) AS models
   FROM evaluations GROUP BY attack, eps ORDER BY attack, eps"
q "SELECT corruption, family,
          round(avg(CASE WHEN severity = 1 THEN accuracy END), 4) AS severity_1,
          round(avg(CASE WHEN severity = 5 THEN accuracy END), 4) AS severity_5
   FROM corruption_evaluations GROUP BY corruption, family ORDER BY family, corruption"
q "SELECT arch_index, kind, detail FROM alerts ORDER BY arch_index, kind"
q "SELECT stage, status, count(*) AS units, round(sum(seconds), 1) AS seconds
   FROM runs JOIN (SELECT max(run_id) AS latest FROM runs WHERE stage NOT IN ('import', 'search')) ON run_id = latest
   GROUP BY stage, status ORDER BY stage"
