"""Search a DARTS cell on your own images, then draw it.

The folder holds one subfolder of images per class: DIR/<class>/*.png|jpg (a stratified 20 % is held
out for testing), or DIR/train/<class>/... and DIR/test/<class>/... The images are decoded once into a
cache (default ~/.cache/darts), resized to --image_size, grayscale or RGB as they are.

    python examples/search_image_folder.py --data path/to/images
    python examples/search_image_folder.py --data path/to/images --image_size 16 --epochs 1 --layers 3 \
        --init_channels 4 --max_batches 2          # a quick try
"""
import argparse
import sys

from darts import api
from darts.runs import run_cli, setup_console_logging


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder of class subfolders of images")
    p.add_argument("--image_size", type=int, default=32, help="images are resized to this square size")
    p.add_argument("--cache", default=None, help="folder for the decoded-image cache (default: ~/.cache/darts)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--init_channels", type=int, default=16)
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--max_batches", type=int, default=None, help="cap on batches per epoch")
    p.add_argument("--save", default="search-folder", help="output folder")
    args = p.parse_args(argv)
    setup_console_logging()

    data = api.load_data("folder", args.data, image_size=args.image_size, cache=args.cache)
    print(f"{len(data.train_x)} training images, {data.in_channels} channel(s), classes: {', '.join(data.class_names)}")
    result = api.search(data, epochs=args.epochs, layers=args.layers, init_channels=args.init_channels,
                        batch_size=args.batch_size, max_batches=args.max_batches, save=args.save)
    print("genotype:", result.genotype)
    print("last epoch:", {k: round(v, 3) for k, v in result.history[-1].items()})
    for path in api.render(result.genotype, args.save):
        print("wrote", path)


if __name__ == "__main__":
    sys.exit(run_cli(main))
