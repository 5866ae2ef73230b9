"""darts-export: write a trained final network (an image network, or a language model) as ONNX, TorchScript and a
standalone PyTorch file (needing only torch), each loaded back and checked against the network on random inputs
before anything is written.

    darts-export final-run                                  # a train_final.py --save folder -> final-run/export
    darts-export final-run --format onnx --out deploy --batch 16
    darts-export --model_path weights.pt --arch DARTS_V2 --init_channels 36 --layers 20   # a bare state dict
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from darts.cli.common import new_parser
from darts.errors import UserError
from darts.plugins import import_plugins
from darts.runs import run_cli


def build_parser():
    from darts.export import DEFAULT_FORMATS, FORMATS
    p = new_parser("darts-export", __doc__)
    g = p.add_argument_group("the network and its files")
    g.add_argument("-h", "--help", action="help", help="show this help and exit")
    g.add_argument("run", nargs="?", metavar="RUN_FOLDER",
                   help="a train_final.py --save folder (its weights.pt; a language model's best.pt)")
    g.add_argument("--model_path", metavar="FILE", help="a weights .pt file of train_final.py or api.train "
                   "(a bare state dict also needs --arch and the sizes it was trained with)")
    g.add_argument("--format", action="append", metavar="|".join(FORMATS),
                   help=f"what to write (repeatable, or comma separated; default: {','.join(DEFAULT_FORMATS)})")
    g.add_argument("--out", metavar="DIR", help="folder for the files (default: RUN_FOLDER/export, or export/ "
                   "beside --model_path)")
    g.add_argument("--batch", type=int, default=8, metavar="N",
                   help="images of the check batch; a language model's batch, which its files take (default: 8)")
    g.add_argument("--window", type=int, metavar="N",
                   help="a language model's window, which its files take (default: 35 tokens)")
    g.add_argument("--image_size", type=int, metavar="N",
                   help="input height and width (default: the trained dataset's; a folder of your images: the "
                   "run's --image_size)")
    b = p.add_argument_group("a bare state dict (the network's description is not in the file)")
    b.add_argument("--arch", help="the genotype: a cells/ name or a genotype.json path")
    b.add_argument("--init_channels", type=int, metavar="N", help="its width (default: its space's final network's)")
    b.add_argument("--layers", type=int, metavar="N", help="its depth (default: its space's final network's)")
    b.add_argument("--auxiliary", action="store_true", help="it has an auxiliary head")
    b.add_argument("--dataset", default="cifar10", help="the dataset it was trained on (default: cifar10)")
    p.add_argument_group("your own code").add_argument(
        "--ops_module", action="append", default=None, metavar="FILE",
        help="a .py file or module that registers the genotype's operations (repeatable)")
    return p


def weights_source(args) -> Path:
    if args.run and args.model_path:
        raise UserError(f"give a run folder or --model_path, not both ({args.run}, {args.model_path})")
    if not (args.run or args.model_path):
        raise UserError("give a train_final.py --save folder (darts-export RUN_FOLDER) or --model_path FILE")
    path = Path(args.run or args.model_path)
    if not path.exists():
        raise UserError(f"{path} does not exist: give a train_final.py --save folder or its weights.pt")
    if path.is_dir() and not any((path / name).is_file() for name in ("weights.pt", "best.pt")):
        raise UserError(f"{path} has no weights.pt (nor a language model's best.pt): give a train_final.py --save "
                        f"folder (or --model_path FILE)")
    return path


def language_model(path: Path):
    """The language model saved at `path` (a train_final.py --dataset ptb folder's best.pt), or None."""
    from darts.checkpoint import load_checkpoint
    from darts.lm_training import BEST, BEST_FORMAT, LMSpec
    if path.is_dir():
        if (path / "weights.pt").is_file():
            return None
        path = path / BEST
    state = load_checkpoint(path)
    if not isinstance(state, dict) or state.get("format") != BEST_FORMAT:
        return None
    spec = LMSpec(**state["spec"])
    model = spec.build()
    model.load_state_dict(state["model"])
    model.network_spec = spec
    return model


def saved_image_size(path: Path) -> int | None:
    """The image size a run on a folder of your own images was trained at, from its args.json."""
    from darts.settings import IMAGE_SIZE
    settings = (path if path.is_dir() else path.parent) / "args.json"
    try:
        saved = json.loads(settings.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(saved, dict) or saved.get("dataset") != "folder":
        return None
    return saved["image_size"] if isinstance(saved.get("image_size"), int) else IMAGE_SIZE


def load(args, path: Path):
    """The network the flags name, its weights loaded."""
    from darts import api
    from darts.final_training import load_network_weights, read_saved_network
    sizes = [f"--{k}" for k in ("arch", "init_channels", "layers") if getattr(args, k) is not None]
    model = language_model(path)
    if model is not None:
        if sizes:
            raise UserError(f"{path} holds a language model with its description; leave out {', '.join(sizes)}")
        return model
    spec, state, _ = read_saved_network(path)
    if spec is not None:
        if sizes:
            raise UserError(f"{path} holds a {spec.arch} network with its description; leave out {', '.join(sizes)}")
        return api.load_network(path)
    if args.arch is None:
        raise UserError(f"{path} is a bare state dict: give --arch (and the --init_channels, --layers, --dataset "
                        f"it was trained with)")
    from darts.data.images import image_input_shape
    channels, _, _, classes = image_input_shape(args.dataset)
    network = api.build_network(args.arch, channels, classes, args.init_channels, args.layers, args.auxiliary)
    network.network_spec = replace(network.network_spec, dataset=args.dataset, arch=args.arch)
    load_network_weights(network, state, str(path))
    return network


def main(argv=None) -> list:
    from darts import api
    from darts.export import DEFAULT_FORMATS, check_request
    args = build_parser().parse_args(argv)
    import_plugins(args.ops_module)
    formats = [f.strip() for given in (args.format or DEFAULT_FORMATS) for f in given.split(",")]
    check_request(formats, args.batch)
    path = weights_source(args)
    out = Path(args.out) if args.out else (path if path.is_dir() else path.parent) / "export"
    image_size = args.image_size if args.image_size is not None else saved_image_size(path)
    reports = api.export(load(args, path), out, formats=formats, batch=args.batch, image_size=image_size,
                         window=args.window)
    for r in reports:
        print(r.line())
    print(f"wrote {out / 'export.json'} (inputs, outputs and checks)")
    return reports


def cli() -> int:
    return run_cli(main)


if __name__ == "__main__":
    sys.exit(cli())
