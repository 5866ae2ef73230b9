"""Retrain a published cell (DARTS_V2 by default) on your own data and test it.

    python examples/retrain_published_genotype.py --data path/to/images       # class subfolders of images
    python examples/retrain_published_genotype.py --data my_data.npz --arch DARTS_V1
    python examples/retrain_published_genotype.py --data my_data.npz --epochs 1 --layers 3 \
        --init_channels 4 --max_batches 2            # a quick try

--arch takes a cells/ name (DARTS_V1, DARTS_V2, ...) or the genotype.json of a search. A .npz file holds
arrays x (N, H, W[, C]) and y (N,), optionally x_test and y_test.
"""
import argparse
import sys

from darts import api
from darts.runs import run_cli, setup_console_logging
from darts.summary import count_parameters


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a folder of class subfolders of images, or a .npz file")
    p.add_argument("--arch", default="DARTS_V2")
    p.add_argument("--image_size", type=int, default=32, help="(folders) images are resized to this square size")
    p.add_argument("--cache", default=None, help="(folders) decoded-image cache folder (default: ~/.cache/darts)")
    p.add_argument("--epochs", type=int, default=600)
    p.add_argument("--layers", type=int, default=20)
    p.add_argument("--init_channels", type=int, default=36)
    p.add_argument("--batch_size", type=int, default=96)
    p.add_argument("--auxiliary", action="store_true", help="auxiliary head (loss weight 0.4)")
    p.add_argument("--cutout", action="store_true", help="cutout of 16 pixels")
    p.add_argument("--max_batches", type=int, default=None, help="cap on batches per epoch")
    p.add_argument("--save", default="eval-own-data", help="output folder")
    args = p.parse_args(argv)
    setup_console_logging()

    if args.data.endswith(".npz"):
        data = api.load_data("npz", args.data)
    else:
        data = api.load_data("folder", args.data, image_size=args.image_size, cache=args.cache)
    net = api.build_network(args.arch, data.in_channels, data.num_classes, args.init_channels, args.layers,
                            auxiliary=args.auxiliary)
    print(f"{args.arch}: {count_parameters(net):,} weights, {data.num_classes} classes, "
          f"{data.in_channels}x{data.image_size}x{data.image_size} input")
    result = api.train(net, data, epochs=args.epochs, batch_size=args.batch_size, max_batches=args.max_batches,
                       cutout_length=16 if args.cutout else 0, save=args.save)
    print(f"test accuracy {result.test_acc:.2f} % (best {result.best_test_acc:.2f} %); weights in {args.save}")


if __name__ == "__main__":
    sys.exit(run_cli(main))
