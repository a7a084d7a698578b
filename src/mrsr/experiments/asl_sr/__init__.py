"""Cui et al. 2020: unsupervised multi-scale 3-D GAN super-resolution of ASL with a T1 prior (`asl_sr`)."""
