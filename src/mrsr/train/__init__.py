"""Training: one loop skeleton (checkpoint/resume, seeding, CSV log) for supervised and GAN trainers."""

from mrsr.train.gan import GANTrainer
from mrsr.train.io import load_model, predict_fn, save_model
from mrsr.train.loop import TRAINERS, TrainData, build_trainer, fit
from mrsr.train.supervised import SupervisedTrainer

__all__ = ["GANTrainer", "SupervisedTrainer", "TRAINERS", "TrainData", "build_trainer", "fit", "load_model",
           "predict_fn", "save_model"]
