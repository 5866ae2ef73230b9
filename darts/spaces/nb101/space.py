"""NAS-Bench-101 (Ying et al., ICML 2019), registered as "nb101": one cell of at most 7 vertices and 9 edges,
its 5 inner vertices each one of 3 operations, stacked in the benchmark's fixed skeleton (3 stacks of 3 cells)."""
from __future__ import annotations

from darts.errors import UserError
from darts.options import Option
from darts.spaces.base import DataShape, Space, register_space
from darts.spaces.nb101.spec import ModelSpec, spec_from_dict


class Nb101Space(Space):
    name = "nb101"
    modality = "image"
    description = "NAS-Bench-101's cell (<= 7 vertices, <= 9 edges, 3 ops; 423,624 cells with tabulated results)"
    options = (
        Option("init_channels", 128, "channels of the stem and the first stack (the benchmark's 128)", minimum=1),
        Option("layers", 9, "cells in all, three stacks of layers/3 (the benchmark's 9 = 3 x 3)", minimum=3),
    )
    # retraining: the benchmark's recipe (NAS-Bench-101, section 2.2): RMSProp (momentum 0.9, epsilon 1),
    # lr 0.2 (0.1 per TPU shard, 2 shards) cosine-decayed, L2 weight decay 1e-4, batch 256, 108 epochs, crop and flip. Our trainer runs SGD
    # with momentum 0.9, which RMSProp with epsilon 1 approaches while gradients are small.
    recipe = {"epochs": 108, "batch_size": 256, "learning_rate": 0.2, "learning_rate_min": 0.0, "weight_decay": 1e-4,
              "grad_clip": 0.0, "drop_path_prob": 0.0, "auxiliary_weight": 0.0}

    def final_recipe(self, dataset: str) -> dict:
        return self.recipe

    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> ModelSpec:
        return spec_from_dict(data)

    def genotype_to_dict(self, genotype: ModelSpec) -> dict:
        return genotype.to_dict()

    def owns(self, genotype) -> bool:
        return isinstance(genotype, ModelSpec)

    def check_options(self, opts: dict, shape: DataShape | None = None) -> None:
        if opts.get("primitives") is not None:
            raise UserError("--primitives does not apply to --space nb101: the benchmark fixes its 3 operations")

    def arch_space(self, opts: dict):
        from darts.spaces.nb101.sampling import Nb101ArchSpace
        self.check_options(opts)
        return Nb101ArchSpace()

    def build_network(self, genotype: ModelSpec, opts: dict, shape: DataShape):
        from darts.spaces.nb101.network import Nb101Network
        return Nb101Network(genotype, C=opts["init_channels"], cells_per_stack=max(1, opts["layers"] // 3),
                            num_classes=shape.num_classes, in_channels=shape.in_channels)

    def diagrams(self, genotype: ModelSpec) -> dict:
        from darts.spaces.nb101.diagram import nb101_cell_graph
        return {"cell": nb101_cell_graph(genotype)}

    def table(self, path: str, dataset: str, reward: str, opts: dict | None = None):
        from darts.spaces.nb101.benchmark import table_evaluator_and_report
        return table_evaluator_and_report(path, dataset, reward)


SPACE = register_space(Nb101Space())
