//! Datasets: CIFAR-10/100 binary, ImageNet16-120 pickles, and a generated synthetic dataset.
