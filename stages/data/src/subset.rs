//! Class-balanced subsets.

use robbench_rng::Rng;

use crate::{DataError, Split};

/// `n` images with the classes as equal as possible (the first `n % classes`
/// classes get one more), drawn without replacement, deterministic from
/// `seed`; the result is ordered by class round-robin, so any prefix is
/// balanced too.
pub fn balanced_subset(split: &Split, n: usize, classes: usize, seed: u64) -> Result<Split, DataError> {
    if n > split.len() {
        return Err(DataError::Subset(format!("asked for {n} images from a split of {}", split.len())));
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &label) in split.labels.iter().enumerate() {
        by_class[label as usize].push(i);
    }
    let mut rng = Rng::derive(seed, "balanced-subset", 0);
    for members in &mut by_class {
        rng.shuffle(members);
    }
    let mut chosen = Vec::with_capacity(n);
    let mut round = 0;
    while chosen.len() < n {
        let before = chosen.len();
        for members in &by_class {
            if chosen.len() < n
                && let Some(&i) = members.get(round)
            {
                chosen.push(i);
            }
        }
        if chosen.len() == before {
            break;
        }
        round += 1;
    }
    let mut out = Split::default();
    for i in chosen {
        out.images.extend_from_slice(split.image(i));
        out.labels.push(split.labels[i]);
    }
    Ok(out)
}
