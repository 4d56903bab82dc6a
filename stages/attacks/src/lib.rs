//! Adversarial attacks on tch classifiers: FGSM, PGD, and the AutoAttack suite.
