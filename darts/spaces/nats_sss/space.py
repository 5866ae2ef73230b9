"""The NATS-Bench size search space (Dong et al., TPAMI 2021), registered as "nats_sss": the widths of the
five layers of a fixed network built from NAS-Bench-201's best cell, each 8..64 channels (32,768 candidates)."""
from __future__ import annotations

from darts.errors import UserError
from darts.options import Option
from darts.spaces.base import DataShape, Space, register_space
from darts.spaces.common.nb201_recipe import RECIPE
from darts.spaces.nats_sss.arch import SizeArch


class NatsSizeSpace(Space):
    name = "nats_sss"
    modality = "image"
    description = "NATS-Bench's size space (5 layer widths of 8..64 around NB201's best cell; 32,768 candidates)"
    options = (
        Option("cells_per_stage", 1, "cells in each of the three stages (the benchmark's 1)", minimum=1),
        Option("channel_divisor", 1, "divide every layer's width by this in the built network (the benchmark's 1; "
                                     "larger for quick low-fidelity rewards)", minimum=1),
    )
    # retraining: the benchmark's recipe for this space (NATS-Bench, section 3): NAS-Bench-201's (Nesterov SGD,
    # lr 0.1 cosine, weight decay 5e-4, batch 256, crop and flip) for 90 epochs instead of 200
    recipe = {**RECIPE, "epochs": 90}

    def final_recipe(self, dataset: str) -> dict:
        return self.recipe

    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> SizeArch:
        if set(data) != {"channels"} or not isinstance(data["channels"], list):
            raise UserError('a NATS-Bench size-space genotype is '
                            '{"space": "nats_sss", "channels": [64, 32, 48, 8, 64]}')
        return SizeArch(tuple(data["channels"]))

    def genotype_to_dict(self, genotype: SizeArch) -> dict:
        return {"channels": list(genotype.channels)}

    def owns(self, genotype) -> bool:
        return isinstance(genotype, SizeArch)

    def arch_space(self, opts: dict):
        from darts.spaces.nats_sss.sampling import NatsSizeArchSpace
        return NatsSizeArchSpace()

    def build_network(self, genotype: SizeArch, opts: dict, shape: DataShape):
        from darts.spaces.nats_sss.network import NatsSizeNetwork
        return NatsSizeNetwork(genotype, shape.num_classes, shape.in_channels,
                               cells_per_stage=opts.get("cells_per_stage") or 1,
                               channel_divisor=opts.get("channel_divisor") or 1)

    def diagrams(self, genotype: SizeArch) -> dict:
        from darts.spaces.nats_sss.diagram import size_diagrams
        return size_diagrams(genotype)

    def table(self, path: str, dataset: str, reward: str, opts: dict | None = None):
        from darts.spaces.common.nats_benchmark import table_evaluator_and_report
        return table_evaluator_and_report(path, dataset, reward)


SPACE = register_space(NatsSizeSpace())
