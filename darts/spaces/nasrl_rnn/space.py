"""Zoph & Le's (ICLR 2017) recurrent-cell space, registered as "nasrl_rnn": a tree of combinations and
activations over (x_t, h_{t-1}) with the memory c_{t-1} injected into one node and c_t taken from one
(LSTM is one of its cells); searched and trained as a language model."""
from __future__ import annotations

from darts.options import Option
from darts.spaces.base import DataShape, Space, register_space
from darts.spaces.nasrl_rnn.genotype import TreeGenotype, genotype_from_dict


class NasRlRnnSpace(Space):
    name = "nasrl_rnn"
    modality = "text"
    description = "Zoph & Le's recurrent cell: a tree of combinations and activations with cell inject / indices"
    options = (
        Option("leaves", 2, "leaves of the tree: 2 as the paper's walkthrough, 8 for its PTB cell",
               choices=(2, 4, 8, 16)),
        Option("extended", False, "add max to the combinations and sin to the activations", flag=True),
        Option("nhid", 200, "size of the cell (and of the tied word embeddings)", minimum=1),
        Option("dropout", 0.5, "locked dropout on the cell's outputs", minimum=0, below=1),
        Option("dropouti", 0.2, "locked dropout on the embeddings", minimum=0, below=1),
        Option("dropoute", 0.0, "dropout of whole words from the embedding", minimum=0, below=1),
    )
    # the paper's controller; rewards c / ppl are about 0.1, so the entropy bonus shrinks to match
    strategy_defaults = {"reinforce": {"hidden_size": 35, "num_layers": 2, "entropy_weight": 1e-4}}

    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> TreeGenotype:
        return genotype_from_dict(data)

    def genotype_to_dict(self, genotype: TreeGenotype) -> dict:
        return genotype.to_dict()

    def owns(self, genotype) -> bool:
        return isinstance(genotype, TreeGenotype)

    def arch_space(self, opts: dict):
        from darts.spaces.nasrl_rnn.sampling import NasRlRnnArchSpace
        return NasRlRnnArchSpace(opts["leaves"], bool(opts["extended"]))

    def build_network(self, genotype: TreeGenotype, opts: dict, shape: DataShape):
        from darts.spaces.nasrl_rnn.model import TreeCell, language_model
        return language_model(TreeCell(genotype, opts["nhid"]), shape.ntokens, opts["dropout"], opts["dropouti"],
                              opts["dropoute"])

    def diagrams(self, genotype: TreeGenotype) -> dict:
        from darts.spaces.nasrl_rnn.diagram import tree_cell_graph
        return {"recurrent": tree_cell_graph(genotype)}


SPACE = register_space(NasRlRnnSpace())
