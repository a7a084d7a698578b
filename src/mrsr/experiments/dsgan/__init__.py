"""Huang et al. 2021: DSGAN learned degradation + EDSR super-resolution of real LR MRI (dsgan)."""
