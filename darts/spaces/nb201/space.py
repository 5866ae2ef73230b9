"""NAS-Bench-201 (the NATS-Bench topology space), registered as "nb201": one cell of 4 nodes and 6 edges,
each edge one of 5 operations, stacked in the benchmark's fixed skeleton (3 stages of N cells)."""
from __future__ import annotations

from darts.errors import UserError
from darts.options import Option
from darts.spaces.base import DataShape, Space, register_space
from darts.spaces.common.nb201_arch import Nb201Arch, parse_arch
from darts.spaces.common.nb201_recipe import RECIPE


class Nb201Space(Space):
    name = "nb201"
    modality = "image"
    description = "NAS-Bench-201's cell (4 nodes, 6 edges, 5 ops; 15,625 cells with tabulated accuracies)"
    options = (
        Option("init_channels", 16, "C, channels of the first stage (the benchmark's 16)", minimum=1),
        Option("layers", 15, "cells in all, three stages of layers/3 (the benchmark's 15 = 3 x 5)", minimum=3),
        Option("table_isomorphs", "exact", "how --benchmark answers for a cell: exact (its own row, as the official "
                                           "API) or class_mean (the mean over its isomorphism class)",
               choices=("exact", "class_mean")),
    )
    legacy_keys = frozenset({"arch"})
    recipe = RECIPE  # retraining: the benchmark's own recipe (NAS-Bench-201 paper, section 2.3)

    def final_recipe(self, dataset: str) -> dict:
        return self.recipe

    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> Nb201Arch:
        if set(data) != {"arch"} or not isinstance(data["arch"], str):
            raise UserError('a NAS-Bench-201 genotype is {"space": "nb201", "arch": "|op~0|+|op~0|op~1|+|...|"}')
        return parse_arch(data["arch"])

    def genotype_to_dict(self, genotype: Nb201Arch) -> dict:
        return {"arch": genotype.to_string()}

    def owns(self, genotype) -> bool:
        return isinstance(genotype, Nb201Arch)

    def check_options(self, opts: dict, shape: DataShape | None = None) -> None:
        if opts.get("primitives") is not None:
            raise UserError("--primitives does not apply to --space nb201: the benchmark fixes its 5 operations")

    def arch_space(self, opts: dict):
        from darts.spaces.nb201.sampling import Nb201ArchSpace
        self.check_options(opts)
        return Nb201ArchSpace()

    def build_supernet(self, opts: dict, shape: DataShape):
        from darts.spaces.nb201.search import Nb201SearchNetwork
        self.check_options(opts)
        return Nb201SearchNetwork(opts["init_channels"], max(1, opts["layers"] // 3), shape.num_classes,
                                  shape.in_channels, relaxation=opts.get("relaxation"),
                                  aux_skip=bool(opts.get("aux_skip")))

    def build_network(self, genotype: Nb201Arch, opts: dict, shape: DataShape):
        from darts.spaces.nb201.network import Nb201Network
        return Nb201Network(genotype, C=opts["init_channels"], N=max(1, opts["layers"] // 3),
                            num_classes=shape.num_classes, in_channels=shape.in_channels)

    def diagrams(self, genotype: Nb201Arch) -> dict:
        from darts.spaces.common.nb201_diagram import nb201_cell_graph
        return {"cell": nb201_cell_graph(str(genotype))}

    def table(self, path: str, dataset: str, reward: str, opts: dict | None = None):
        """Our CSV conversion of the benchmark, or NATS-Bench's own topology-space records (a directory such
        as NATS-tss-v1_0-3ffb9-simple/, read by the records reader of the NATS package, one record per cell)."""
        from pathlib import Path
        isomorphs = (opts or {}).get("table_isomorphs") or "exact"
        if Path(path).is_dir():
            if isomorphs != "exact":
                raise UserError("--table_isomorphs class_mean needs the CSV table; NATS-Bench's records answer "
                                "each cell with its own record")
            from darts.spaces.common.nats_benchmark import table_evaluator_and_report
            return table_evaluator_and_report(path, dataset, reward)
        from darts.spaces.nb201.benchmark import table_evaluator
        evaluator = table_evaluator(path, dataset, reward or "valid12", isomorphs=isomorphs)
        return evaluator, evaluator.report


SPACE = register_space(Nb201Space())
