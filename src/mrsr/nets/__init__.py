"""Networks: a registry of generators and discriminators, plus the VGG-16 feature stack."""

from mrsr.nets.registry import DISCRIMINATORS, GENERATORS, NAMES, build, count_params, init_normal
from mrsr.nets.vgg import vgg16_features, vgg19_features

__all__ = ["DISCRIMINATORS", "GENERATORS", "NAMES", "build", "count_params", "init_normal", "vgg16_features", "vgg19_features"]
