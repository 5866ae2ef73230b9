"""Zoph & Le's (ICLR 2017) convolutional space, registered as "nasrl_cnn": a whole network sampled layer
by layer (filter height and width in {1,3,5,7}, filters in {24,36,48,64}, optionally the stride in
{1,2,3}) with skip connections chosen by anchor points."""
from __future__ import annotations

from darts.options import Option
from darts.spaces.base import DataShape, Space, register_space
from darts.spaces.nasrl_cnn.genotype import ConvNetGenotype, genotype_from_dict


class NasRlCnnSpace(Space):
    name = "nasrl_cnn"
    modality = "image"
    description = "Zoph & Le's whole CNN, layer by layer (kernels, filters, strides, anchor-point skips)"
    options = (
        Option("layers", 6, "layers of the network (the paper's 15; 6 keeps CPU searches short)", minimum=1),
        Option("strides", False, "also predict each layer's stride in {1, 2, 3}", flag=True),
        Option("width_divisor", 1, "divide every layer's filters by this (cheap low-fidelity rewards)", minimum=1),
    )
    strategy_defaults = {"reinforce": {"hidden_size": 35, "num_layers": 2}}  # the paper's controller
    # retraining: the paper's CIFAR-10 recipe (sec. 4.1): Momentum 0.9 (Nesterov), lr 0.1, weight decay 1e-4
    recipe = {"learning_rate": 0.1, "weight_decay": 1e-4, "nesterov": True, "drop_path_prob": 0.0,
              "auxiliary_weight": 0.0}

    def final_recipe(self, dataset: str) -> dict:
        return self.recipe

    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> ConvNetGenotype:
        return genotype_from_dict(data)

    def genotype_to_dict(self, genotype: ConvNetGenotype) -> dict:
        return genotype.to_dict()

    def owns(self, genotype) -> bool:
        return isinstance(genotype, ConvNetGenotype)

    def arch_space(self, opts: dict):
        from darts.spaces.nasrl_cnn.sampling import NasRlCnnArchSpace
        return NasRlCnnArchSpace(opts["layers"], bool(opts["strides"]))

    def build_network(self, genotype: ConvNetGenotype, opts: dict, shape: DataShape):
        from darts.spaces.nasrl_cnn.network import ConvNet
        return ConvNet(genotype, shape.in_channels, shape.num_classes, opts.get("width_divisor", 1))

    def diagrams(self, genotype: ConvNetGenotype) -> dict:
        from darts.spaces.nasrl_cnn.diagram import network_graph
        return {"network": network_graph(genotype)}


SPACE = register_space(NasRlCnnSpace())
