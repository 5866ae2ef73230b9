"""The DARTS convolutional space, registered as "darts": normal and reduction cells of 4 nodes, each node
taking two edges, every edge a choice among the candidate operations (the paper's eight by default)."""
from __future__ import annotations

from darts.errors import UserError
from darts.genotype import Genotype, GenotypeError
from darts.options import Option
from darts.spaces.base import DataShape, Space, register_space
from darts.spaces.darts_cnn.network import CIFAR_CHANNELS, CIFAR_LAYERS


class DartsCnnSpace(Space):
    name = "darts"
    aliases = ("darts_cnn",)
    modality = "image"
    description = "the DARTS paper's convolutional cells (normal + reduction, 4 nodes, 8 candidate ops)"
    options = (
        Option("init_channels", 16, "C, channels of the first cells (search supernet; retraining: 36)",
               minimum=2),
        Option("layers", 8, "cells in the network (search supernet; retraining: 20)", minimum=3),
        Option("primitives", None, "candidate operations, registered names separated by commas (default: the "
                                   "paper's eight)", type=str),
        Option("partial_channels", 1, "PC-DARTS: each edge's ops see 1/K of the channels (paper: 4); 1 = plain DARTS",
               minimum=1),
        Option("memory_saving",
               False, "recompute each cell in the backward pass: same results, ~0.35x memory, ~1.4x time",
               flag=True),
    )
    legacy_keys = frozenset(Genotype._fields)
    # retraining: the paper's CIFAR-10 network (train.py); ImageNet: train_imagenet.py's
    final_recipes = {
        "default": {"init_channels": CIFAR_CHANNELS, "layers": CIFAR_LAYERS},
        "imagenet": {"init_channels": 48, "layers": 14, "batch_size": 128, "learning_rate": 0.1,
                     "weight_decay": 3e-5, "epochs": 250, "drop_path_prob": 0.0, "label_smoothing": 0.1,
                     "lr_schedule": "step", "report_freq": 100},
    }

    def final_recipe(self, dataset: str) -> dict:
        return self.final_recipes["imagenet" if dataset == "imagenet" else "default"]

    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> Genotype:
        primitives = (opts or {}).get("primitives")
        return Genotype.from_dict(data, primitives)

    def genotype_to_dict(self, genotype: Genotype) -> dict:
        return genotype.to_dict()

    def owns(self, genotype) -> bool:
        return isinstance(genotype, Genotype)

    def check_options(self, opts: dict, shape: DataShape | None = None) -> None:
        if opts["init_channels"] % 2:
            raise UserError("--init_channels must be even (reduction cells split channels in two halves)")
        if opts["partial_channels"] > 1 and opts.get("strategy", "darts") != "darts":
            raise UserError(f"--partial_channels belongs to DARTS's supernet, not --strategy {opts['strategy']}")
        if opts.get("memory_saving") and opts.get("strategy", "darts") != "darts":
            raise UserError(f"--memory_saving checkpoints the cells of DARTS's supernet, not --strategy "
                            f"{opts['strategy']}")
        if opts["init_channels"] % opts["partial_channels"]:
            raise UserError(f"--partial_channels {opts['partial_channels']} must divide --init_channels "
                            f"{opts['init_channels']}")

    def primitives(self, opts: dict) -> list[str]:
        from darts.ops import check_primitives
        return check_primitives(opts.get("primitives"))

    def arch_space(self, opts: dict):
        from darts.spaces.darts_cnn.sampling import DartsCnnArchSpace
        if opts.get("partial_channels", 1) > 1:
            raise UserError("--partial_channels belongs to the DARTS supernet; sample-based strategies train "
                            "whole networks")
        return DartsCnnArchSpace(self.primitives(opts))

    def build_supernet(self, opts: dict, shape: DataShape):
        from darts.spaces.darts_cnn.search import SearchNetwork
        self.check_options(opts, shape)
        return SearchNetwork(opts["init_channels"], shape.num_classes, opts["layers"], in_channels=shape.in_channels,
                             primitives=self.primitives(opts), partial_channels=opts["partial_channels"],
                             relaxation=opts.get("relaxation"), aux_skip=bool(opts.get("aux_skip")),
                             memory_saving=bool(opts.get("memory_saving")))

    def build_network(self, genotype: Genotype, opts: dict, shape: DataShape):
        from darts.spaces.darts_cnn.network import NetworkCIFAR, NetworkImageNet
        if not isinstance(genotype, Genotype):
            raise GenotypeError("the darts space builds networks of convolutional Genotype cells")
        network = NetworkImageNet if opts.get("kind") == "imagenet" else NetworkCIFAR
        return network(genotype, opts["init_channels"], shape.num_classes, opts["layers"],
                       opts.get("auxiliary", False), in_channels=shape.in_channels)

    def diagrams(self, genotype: Genotype) -> dict:
        from darts.spaces.darts_cnn.diagram import conv_cell_graph
        return {"normal": conv_cell_graph(genotype.normal, genotype.normal_concat),
                "reduce": conv_cell_graph(genotype.reduce, genotype.reduce_concat)}


SPACE = register_space(DartsCnnSpace())
