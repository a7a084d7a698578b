"""A toy experiment (tests/test_new_experiment.py): moving-average denoising of noisy 1-D step signals (toy)."""
