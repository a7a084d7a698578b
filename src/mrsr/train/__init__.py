"""Training: one loop skeleton (checkpoint/resume, seeding, CSV log) for supervised and GAN trainers."""

from mrsr.train.cycle import CycleTrainer
from mrsr.train.gan import GANTrainer
from mrsr.train.io import load_model, predict_fn, save_model
from mrsr.train.loop import TRAINERS, Fitted, Stopping, TrainData, build_trainer, fit
from mrsr.train.meta import ModelMeta
from mrsr.train.schedule import lr_factor
from mrsr.train.supervised import SupervisedTrainer
from mrsr.train.wgan import WGANGPTrainer

__all__ = ["CycleTrainer", "Fitted", "ModelMeta", "Stopping", "GANTrainer", "WGANGPTrainer", "lr_factor", "SupervisedTrainer", "TRAINERS", "TrainData", "build_trainer", "fit", "load_model",
           "predict_fn", "save_model"]
