"""Add your own candidate operation to the DARTS search space, search with it, and retrain the result.

An operation is a factory (C, stride, affine) -> nn.Module that keeps the C channels and divides height
and width by `stride`; `affine` is False inside the search supernet and True in final networks.
Register it under a name and list that name among the candidates (`primitives`). Genotypes, final
networks and diagrams then handle it like the built-in ones.

    python examples/add_operation.py            # searches on the 8x8 digits that ship with scikit-learn
    # the same operation from the command line: this file registers it when imported
    python train_search.py --ops_module examples/add_operation.py \
        --primitives none,max_pool_3x3,skip_connect,sep_conv_3x3,conv_3x3 --dataset digits
"""
import argparse
import sys
from pathlib import Path

import torch.nn as nn

from darts.ops import register_op


@register_op("conv_3x3")
def conv_3x3(C: int, stride: int, affine: bool) -> nn.Module:
    """A plain (not separable) 3x3 convolution: ReLU, conv, BatchNorm."""
    return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(C, C, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(C, affine=affine))


CANDIDATES = ["none", "max_pool_3x3", "skip_connect", "sep_conv_3x3", "conv_3x3"]


def main(argv=None) -> None:
    from darts import api
    from darts.runs import setup_console_logging
    from darts.summary import count_parameters

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--train_epochs", type=int, default=20, help="epochs of the final network's training")
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--init_channels", type=int, default=8)
    p.add_argument("--max_batches", type=int, default=None, help="cap on batches per epoch")
    p.add_argument("--save", default="search-conv3x3", help="output folder")
    args = p.parse_args(argv)
    setup_console_logging()

    data = api.load_data("digits")
    result = api.search(data, primitives=CANDIDATES, epochs=args.epochs, layers=args.layers,
                        init_channels=args.init_channels, batch_size=32, max_batches=args.max_batches,
                        save=args.save)
    print("genotype:", result.genotype)
    used = sum(op == "conv_3x3" for op, _ in result.genotype.normal + result.genotype.reduce)
    print(f"conv_3x3 kept on {used} of {len(result.genotype.normal) * 2} edges")
    net = api.build_network(result.genotype, data.in_channels, data.num_classes, args.init_channels, args.layers)
    print(f"final network: {count_parameters(net):,} weights")
    trained = api.train(net, data, epochs=args.train_epochs, batch_size=32, max_batches=args.max_batches,
                        save=Path(args.save) / "final")
    print(f"test accuracy {trained.test_acc:.1f} %")
    for path in api.render(result.genotype, args.save):
        print("wrote", path)


if __name__ == "__main__":
    from darts.runs import run_cli
    sys.exit(run_cli(main))
