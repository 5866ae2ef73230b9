"""The NASNet search space (Zoph et al. 2018), registered as "nasnet": normal and reduction cells of B blocks,
each block two hidden states, an operation on each (the paper's 13) and a combination (add or concatenate)."""
from __future__ import annotations

from darts.errors import UserError
from darts.genotype import GenotypeError
from darts.options import Option
from darts.spaces.base import DataShape, Space, register_space
from darts.spaces.nasnet.genotype import COMBINES, NasnetGenotype, nasnet_from_dict


class NasnetSpace(Space):
    name = "nasnet"
    modality = "image"
    description = "NASNet's cells (normal + reduction, B blocks of 5 decisions, 13 ops, add or concatenate)"
    options = (
        Option("init_channels", 16, "F, filters of the first stack (search; NASNet-A 6 @ 768: 32)", minimum=1),
        Option("cells_per_stack", 2, "N, normal cells in each of the 3 stacks (search; NASNet-A 6 @ 768: 6)",
               minimum=1),
        Option("blocks", 5, "B, blocks per cell (the paper's 5)", minimum=1),
        Option("primitives", None, "candidate operations, registered names separated by commas (default: the "
                                   "paper's 13)", type=str),
        Option("combines", "add,concat", "combinations a block may choose: add, concat or both", type=str),
    )
    # retraining: the reference implementation's CIFAR-10 settings (600 epochs at batch 32, lr 0.025 cosine,
    # weight decay 5e-4, gradient norm clipped at 5, auxiliary weight 0.4, drop path keep probability 0.6)
    recipe = {"init_channels": 32, "cells_per_stack": 6, "epochs": 600, "batch_size": 32, "learning_rate": 0.025,
              "weight_decay": 5e-4, "grad_clip": 5.0, "auxiliary_weight": 0.4, "drop_path_prob": 0.4}

    def final_recipe(self, dataset: str) -> dict:
        return self.recipe

    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> NasnetGenotype:
        return nasnet_from_dict(data, self._primitives(opts) if (opts or {}).get("primitives") else None)

    def genotype_to_dict(self, genotype: NasnetGenotype) -> dict:
        return genotype.to_dict()

    def owns(self, genotype) -> bool:
        return isinstance(genotype, NasnetGenotype)

    def _primitives(self, opts: dict | None) -> list[str]:
        from darts.ops import check_primitives
        from darts.spaces.nasnet.ops import NASNET_OPS
        given = (opts or {}).get("primitives")
        return check_primitives(given) if given else list(NASNET_OPS)

    def _combines(self, opts: dict) -> list[str]:
        names = [c.strip() for c in (opts.get("combines") or "add,concat").split(",") if c.strip()]
        if not names or set(names) - set(COMBINES) or len(set(names)) != len(names):
            raise UserError(f"--combines must name add and/or concat once each, got {opts.get('combines')!r}")
        return names

    def check_options(self, opts: dict, shape: DataShape | None = None) -> None:
        self._combines(opts)
        if "none" in self._primitives(opts):
            raise UserError("--primitives of the nasnet space cannot include 'none': every block is a real op")

    def arch_space(self, opts: dict):
        from darts.spaces.nasnet.sampling import NasnetArchSpace
        self.check_options(opts)
        return NasnetArchSpace(self._primitives(opts), opts.get("blocks", 5), self._combines(opts))

    def build_network(self, genotype: NasnetGenotype, opts: dict, shape: DataShape):
        from darts.spaces.nasnet.network import NasnetNetwork
        if not isinstance(genotype, NasnetGenotype):
            raise GenotypeError("the nasnet space builds networks of NasnetGenotype cells")
        return NasnetNetwork(genotype, opts.get("init_channels", 16), shape.num_classes,
                             opts.get("cells_per_stack", 2), opts.get("auxiliary", False),
                             in_channels=shape.in_channels)

    def diagrams(self, genotype: NasnetGenotype) -> dict:
        from darts.spaces.nasnet.diagram import nasnet_cell_graph
        return {"normal": nasnet_cell_graph(genotype.normal), "reduce": nasnet_cell_graph(genotype.reduce)}


SPACE = register_space(NasnetSpace())
