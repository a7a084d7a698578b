"""mrsr: reproducible MRI super-resolution and ASL denoising."""

__version__ = "0.1.0"
