"""Lyu et al. 2019 (`ixi_sr`): 2x k-space super-resolution of T2 slices with GAN-CPCE and GAN-CIRCLE."""
