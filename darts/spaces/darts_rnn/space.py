"""The DARTS recurrent space, registered as "darts_rnn": a cell of 8 nodes over (x_t, h_{t-1}), each node
one activation of one earlier node, h_t the mean of the nodes; searched and trained as a language model."""
from __future__ import annotations

from darts.errors import UserError
from darts.genotype import RecurrentGenotype
from darts.options import Option
from darts.spaces.base import DataShape, Space, register_space


class DartsRnnSpace(Space):
    name = "darts_rnn"
    modality = "text"
    description = "the DARTS paper's recurrent cell (8 nodes; tanh, relu, sigmoid, identity) for language models"
    # the original rnn/train_search.py's sizes and dropouts
    options = (
        Option("emsize", 300, "size of word embeddings", minimum=2),
        Option("nhid", None, "recurrent cell size (default: as --emsize)", type=int, minimum=2),
        Option("nhidlast", None, "size of the last recurrent layer (default: as --nhid)", type=int, minimum=2),
        Option("dropout", 0.75, "locked dropout on the cell's outputs", minimum=0, below=1),
        Option("dropouth", 0.25, "dropout on the cell's hidden connections", minimum=0, below=1),
        Option("dropoutx", 0.75, "dropout on the cell's input connections", minimum=0, below=1),
        Option("dropouti", 0.2, "locked dropout on the embeddings", minimum=0, below=1),
        Option("dropoute", 0.0, "dropout of whole words from the embedding", minimum=0, below=1),
    )
    # the original rnn/train_search.py's optimisation settings
    strategy_defaults = {
        "darts": {"batch_size": 256, "learning_rate": 20.0, "momentum": 0.0, "weight_decay": 5e-7,
                  "grad_clip": 0.25, "arch_learning_rate": 3e-3, "arch_betas": (0.9, 0.999),
                  "lr_schedule": "constant", "clip_virtual_step": True},
        "enas": {"batch_size": 256, "learning_rate": 20.0, "momentum": 0.0, "weight_decay": 5e-7,
                 "grad_clip": 0.25, "lr_schedule": "constant", "controller_train_steps": 1000},
    }
    legacy_keys = frozenset(RecurrentGenotype._fields)

    def resolve(self, given: dict) -> dict:
        opts = super().resolve(given)
        opts["nhid"] = opts["emsize"] if opts["nhid"] is None else opts["nhid"]
        opts["nhidlast"] = opts["nhid"] if opts["nhidlast"] is None else opts["nhidlast"]
        return opts

    def check_options(self, opts: dict, shape: DataShape | None = None) -> None:
        if not opts["emsize"] == opts["nhid"] == opts["nhidlast"]:
            raise UserError(f"--emsize {opts['emsize']}, --nhid {opts['nhid']} and --nhidlast {opts['nhidlast']} "
                            f"must be equal (the decoder is tied to the embedding)")

    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> RecurrentGenotype:
        return RecurrentGenotype.from_dict(data, (opts or {}).get("primitives"))

    def genotype_to_dict(self, genotype: RecurrentGenotype) -> dict:
        return genotype.to_dict()

    def owns(self, genotype) -> bool:
        return isinstance(genotype, RecurrentGenotype)

    def arch_space(self, opts: dict):
        from darts.spaces.darts_rnn.sampling import DartsRnnArchSpace
        return DartsRnnArchSpace()

    def build_supernet(self, opts: dict, shape: DataShape):
        from darts.spaces.darts_rnn.search import RNNSearchModel
        self.check_options(opts)
        return RNNSearchModel(shape.ntokens, opts["emsize"], opts["nhid"], opts["nhidlast"], opts["dropout"],
                              opts["dropouth"], opts["dropoutx"], opts["dropouti"], opts["dropoute"],
                              relaxation=opts.get("relaxation"))

    def build_network(self, genotype: RecurrentGenotype, opts: dict, shape: DataShape):
        from darts.spaces.darts_rnn.model import language_model
        return language_model(genotype, shape.ntokens, opts["emsize"], opts["nhid"], opts["nhidlast"],
                              opts["dropout"], opts["dropouth"], opts["dropoutx"], opts["dropouti"], opts["dropoute"])

    def diagrams(self, genotype: RecurrentGenotype) -> dict:
        from darts.spaces.darts_rnn.diagram import recurrent_cell_graph
        return {"recurrent": recurrent_cell_graph(genotype.recurrent, genotype.concat)}


SPACE = register_space(DartsRnnSpace())
