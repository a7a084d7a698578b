"""Ulas et al. 2018: DeepASL, ASL denoising with a kinetic-model loss (deepasl)."""
