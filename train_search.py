"""Search a cell with DARTS (the paper's defaults reproduce its CIFAR-10 and Penn Treebank searches).

    python train_search.py --dataset digits --epochs 1 --layers 3 --init_channels 4 --save out
    python train_search.py --unrolled                       # second order, CIFAR-10 in --data
    python train_search.py --dataset ptb --data data/ptb    # a recurrent cell (the original rnn/ flags work)
    python train_search.py --resume out                     # continue a killed run exactly
    python train_search.py --dataset folder --data my_images --image_size 32    # your own images (or --dataset npz)
    python train_search.py --ops_module my_ops.py --primitives none,skip_connect,sep_conv_3x3,my_op
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import torch

from darts.checkpoint import seed_everything
from darts.api import check_primitives, search_space, search_streams
from darts.data import INPUT_SHAPES, load_image_dataset
from darts.data.images import OWN_DATA, image_input_shape
from darts.distributed import destroy_process_group, init_from_env, shard, world_size
from darts.data.text import DEFAULT_FOLDERS, KNOWN_VOCAB_SIZES, TextStream, read_corpus
from darts.errors import UserError
from darts.ops import PRIMITIVES
from darts.plugins import import_plugins
from darts.runs import RunDir, resumed_args, pick_device, run_cli, setup_console_logging
from darts.sample_search import run_sample_search, table_evaluator, training_evaluator
from darts.strategies.enas import nb201_table_metrics, run_enas_search
from darts.search import CHECKPOINT, DartsSearch, DartsSearchConfig
from darts.spaces.nb201.search import Nb201SearchNetwork
from darts.spaces.darts_rnn import LanguageModel, RNNSearchModel
from darts.strategies.architect import HESSIAN_METHODS
from darts.summary import count_multiply_adds, count_parameters
from darts.training import ImageClassification

log = logging.getLogger("darts")

# Flags that a resumed run may change (they do not alter the computation).
RESUME_MAY_CHANGE = {"resume", "device", "report_freq", "save", "no_progress", "continue_train", "cache"}

TEXT_DATASETS = tuple(KNOWN_VOCAB_SIZES)  # any folder in Penn Treebank layout
EVAL_BATCH_SIZE = 10  # the original evaluates text in 10 columns
# Flags whose default depends on the modality: the original cnn/ and rnn/ train_search.py defaults.
DEFAULTS = {
    "image": {"batch_size": 64, "learning_rate": 0.025, "momentum": 0.9, "weight_decay": 3e-4, "grad_clip": 5.0,
              "arch_learning_rate": 3e-4},
    "text": {"batch_size": 256, "learning_rate": 20.0, "momentum": 0.0, "weight_decay": 5e-7, "grad_clip": 0.25,
             "arch_learning_rate": 3e-3},
}


def modality(dataset: str) -> str:
    return "text" if dataset in TEXT_DATASETS else "image"


def fill_defaults(args) -> None:
    args.nhid = args.emsize if args.nhid is None else args.nhid
    args.nhidlast = args.nhid if args.nhidlast is None else args.nhidlast
    if args.layers is None:
        args.layers = 15 if args.space == "nb201" else 8
    for name, value in DEFAULTS[modality(args.dataset)].items():
        if getattr(args, name) is None:
            setattr(args, name, value)


class DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except None (flags whose default depends on the dataset say so in their help)."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser("train_search.py", description=__doc__.split("\n")[0],
                                formatter_class=DefaultsHelp)
    a = p.add_argument
    # the original train_search.py's flags, with its defaults
    a("--data", default=None, help="dataset folder (default: ./data; Debian's folder for fashion-mnist; "
                                   "data/ptb, data/wikitext-2 for text)")
    a("--batch_size", type=int, default=None, help="(default: 64 images, 256 text)")
    a("--learning_rate", "--lr", type=float, default=None, help="initial weight learning rate (default: 0.025 "
                                                                "images, 20 text)")
    a("--learning_rate_min", type=float, default=0.001, help="final weight learning rate (cosine; images)")
    a("--momentum", type=float, default=None, help="(default: 0.9 images, 0 text)")
    a("--weight_decay", "--wdecay", type=float, default=None, help="(default: 3e-4 images, 5e-7 text)")
    a("--report_freq", "--log-interval", type=int, default=50, help="log every N batches")
    a("--gpu", type=int, default=None, help="(original flag) CUDA device index; same as --device cuda:N")
    a("--epochs", type=int, default=50)
    a("--init_channels", type=int, default=16)
    a("--layers", type=int, default=None, help="cells in the supernet (default: 8; 15 = three stages of 5 for "
                                               "--space nb201)")
    a("--model_path", default="saved_models", help="(original flag, unused)")
    a("--cutout", action="store_true", help="use cutout")
    a("--cutout_length", type=int, default=16)
    a("--drop_path_prob", type=float, default=0.3, help="(original flag, unused in search)")
    a("--save", default=None, help="output folder (default: search-EXP-<time>)")
    a("--seed", type=int, default=2)
    a("--grad_clip", "--clip", type=float, default=None, help="gradient norm clipping (default: 5 images, "
                                                               "0.25 text)")
    a("--train_portion", type=float, default=0.5, help="share of the training set that trains weights")
    a("--unrolled", action="store_true", help="second-order architect (one unrolled weight step)")
    a("--arch_learning_rate", "--arch_lr", type=float, default=None, help="(default: 3e-4 images, 3e-3 text)")
    a("--arch_weight_decay", "--arch_wdecay", type=float, default=1e-3)
    # the original rnn/train_search.py's flags (text), with its defaults
    t = p.add_argument_group("text (--dataset ptb / wikitext2)").add_argument
    t("--emsize", type=int, default=300, help="size of word embeddings")
    t("--nhid", type=int, default=None, help="recurrent cell size (default: as --emsize)")
    t("--nhidlast", type=int, default=None, help="size of the last recurrent layer (default: as --nhid)")
    t("--bptt", type=int, default=35, help="window length of truncated backpropagation through time")
    t("--dropout", type=float, default=0.75, help="locked dropout on the cell's outputs")
    t("--dropouth", type=float, default=0.25, help="dropout on the cell's hidden connections")
    t("--dropoutx", type=float, default=0.75, help="dropout on the cell's input connections")
    t("--dropouti", type=float, default=0.2, help="locked dropout on the embeddings")
    t("--dropoute", type=float, default=0.0, help="dropout of whole words from the embedding")
    t("--alpha", type=float, default=0.0, help="activation regularisation (AR) weight")
    t("--beta", type=float, default=1e-3, help="temporal activation regularisation (TAR) weight")
    t("--max_seq_len_delta", type=int, default=20, help="(original flag; the search does not jitter lengths)")
    t("--nonmono", type=int, default=5, help="(original flag, unused in search)")
    t("--small_batch_size", type=int, default=-1, help="(original flag) only -1 or --batch_size are supported")
    t("--continue_train", action="store_true", help="(original flag) same as --resume on the --save folder")
    t("--cuda", action="store_true", help="(original flag, unused: see --device)")
    t("--single_gpu", action="store_true", help="(original flag, unused)")
    # added
    a("--dataset", default="cifar10", choices=sorted(INPUT_SHAPES) + list(OWN_DATA) + list(TEXT_DATASETS),
      help="dataset to search on; folder and npz read your own images from --data (see --image_size); "
           "ptb and wikitext2 take any corpus folder in their layout (train.txt, valid.txt, test.txt)")
    a("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    a("--resume", default=None, metavar="DIR", help="continue the run saved in DIR from its last checkpoint")
    a("--hessian", default="finite-difference", choices=HESSIAN_METHODS,
      help="second-order Hessian-vector product: the paper's finite difference or exact double backward")
    a("--max_batches", type=int, default=None, help="cap on batches per epoch (smoke runs)")
    a("--summary", action="store_true", help="print the supernet's size and exit (reads no data)")
    a("--no_progress", action="store_true", help="no progress bar, only the log lines")
    a("--no_plots", action="store_true", help="skip the figures drawn into SAVE/figures at the end")
    a("--plot_epoch_cells", action="store_true", help="also draw the cells of every epoch's genotype")
    a("--space", default="darts", choices=["darts", "nb201"],
      help="search space for images: the paper's cells, or NAS-Bench-201's (text always uses the recurrent cell)")
    a("--strategy", default="darts", choices=["darts", "random", "evolution", "reinforce", "enas"],
      help="DARTS (gradient), or a sample-based strategy rewarded by --benchmark or by low-fidelity training")
    a("--benchmark", default=None, metavar="CSV",
      help="NAS-Bench-201 table (e.g. ../shared/data/nb201/nats_bench_tss_200ep.csv): rewards for sample-based "
           "strategies, and the table accuracy of the cell a DARTS search of --space nb201 derives")
    a("--budget", type=int, default=100, help="architectures a sample-based strategy evaluates")
    a("--fidelity_epochs", type=int, default=1,
      help="epochs each sampled network trains from scratch when no --benchmark gives the reward")
    e = p.add_argument_group("ENAS (--strategy enas; the ENAS paper's controller settings)").add_argument
    e("--controller_lr", type=float, default=3.5e-4, help="Adam learning rate of the controller")
    e("--controller_train_steps", type=int, default=None, help="controller steps per epoch (default: 300 images, "
                                                                "1000 text)")
    e("--controller_entropy_weight", type=float, default=1e-4, help="entropy bonus added to the reward")
    e("--controller_bl_dec", type=float, default=0.99, help="decay of the moving-average reward baseline")
    e("--controller_temperature", type=float, default=5.0, help="logit temperature")
    e("--controller_tanh_constant", type=float, default=2.5, help="logits = c * tanh(logits / temperature)")
    e("--controller_lstm_size", type=int, default=64, help="hidden size of the controller LSTM")
    e("--reward_c", type=float, default=80.0, help="text reward = reward_c / perplexity")
    e("--derive_samples", type=int, default=100, help="architectures scored to derive the final cell")
    a("--partial_channels", type=int, default=1, metavar="K",
      help="PC-DARTS: each edge's ops see 1/K of the channels (the paper uses 4), with edge normalisation; "
           "1 = plain DARTS")
    a("--no_amp", action="store_true", help="on CUDA, no bfloat16 autocast (image search; CPU is always float32)")
    a("--no_channels_last", action="store_true", help="on CUDA, keep NCHW instead of channels_last (image search)")
    add_own_data_flags(p)
    o = p.add_argument_group("your own operations").add_argument
    o("--primitives", default=None, metavar="OP,OP,...",
      help="candidate operations of every edge, registered names separated by commas (default: the paper's "
           "eight: " + ",".join(PRIMITIVES) + ")")
    add_ops_module_flag(p)
    return p


def add_own_data_flags(p: argparse.ArgumentParser) -> None:
    """--image_size, --cache, --strict, --test_fraction (shared with train_final.py)."""
    d = p.add_argument_group("your own data (--dataset folder / npz)").add_argument
    d("--image_size", type=int, default=None, help="(folder) images are resized to this square size (default: 32)")
    d("--cache", default=None, metavar="DIR", help="(folder) where the decoded images are cached (default: "
                                                   "~/.cache/darts; 'none': decode every time)")
    d("--strict", action="store_true", help="(folder) stop at an unreadable image instead of skipping it")
    d("--test_fraction", type=float, default=None,
      help="held out for testing when the data has no test split: a stratified share of each class, the same "
           "images in every run (default: 0.2)")


def add_ops_module_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ops_module", action="append", default=None, metavar="FILE_OR_MODULE",
                   help="a .py file or module that registers operations with darts.ops.register_op (repeatable)")


def own_data_options(args) -> dict:
    """Reader options of --dataset folder / npz; given with another dataset they are an error."""
    given = {"image_size": args.image_size, "cache": args.cache, "strict": args.strict or None,
             "test_fraction": args.test_fraction}
    accepted = {"folder": set(given), "npz": {"test_fraction"}}.get(args.dataset, set())
    wrong = [k for k, v in given.items() if v is not None and k not in accepted]
    if wrong:
        raise UserError(f"--{', --'.join(wrong)} do(es) not apply to --dataset {args.dataset} "
                        f"({'only --test_fraction does' if args.dataset == 'npz' else 'only to folder and npz'})")
    no_cache = args.cache is not None and args.cache.lower() == "none"
    options = {"image_size": args.image_size or 32, "cache": False if no_cache else args.cache,
               "strict": args.strict, "test_fraction": 0.2 if args.test_fraction is None else args.test_fraction}
    return {k: v for k, v in options.items() if k in accepted}


def check_args(args) -> None:
    if modality(args.dataset) == "text":
        check_text_args(args)
    sampling = args.strategy in ("random", "evolution", "reinforce")
    if args.space == "nb201" and modality(args.dataset) == "text":
        raise UserError("--space nb201 is an image space; text datasets search the recurrent cell")
    if sampling and modality(args.dataset) == "text":
        raise UserError(f"--strategy {args.strategy} searches image spaces; for text use darts or enas")
    if args.benchmark and args.space != "nb201":
        raise UserError("--benchmark holds NAS-Bench-201 accuracies: add --space nb201")
    if args.strategy != "darts" and (args.unrolled or args.partial_channels > 1):
        raise UserError(f"--unrolled and --partial_channels belong to DARTS, not --strategy {args.strategy}")
    if args.space == "nb201" and args.partial_channels > 1:
        raise UserError("--partial_channels applies to the DARTS convolutional space, not --space nb201")
    if args.budget < 1 or args.fidelity_epochs < 1:
        raise UserError("--budget and --fidelity_epochs must be at least 1")
    if args.primitives is not None and (modality(args.dataset) == "text" or args.space != "darts"):
        raise UserError("--primitives applies to the convolutional search (--space darts); the recurrent cell and "
                        "NAS-Bench-201 have their own operations")
    own_data_options(args)
    if not 0 < args.train_portion < 1:
        raise UserError(f"--train_portion {args.train_portion} must be between 0 and 1 (exclusive)")
    for name in ("batch_size", "epochs", "init_channels", "layers"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.max_batches is not None and args.max_batches < 1:
        raise UserError("--max_batches must be at least 1")
    if args.hessian != "finite-difference" and not args.unrolled:
        raise UserError(f"--hessian {args.hessian} only matters for a second-order search: add --unrolled")
    if args.layers < 3:
        raise UserError("--layers must be at least 3 (a reduction cell sits at 1/3 and 2/3 of the depth)")
    if args.init_channels % 2:
        raise UserError("--init_channels must be even (reduction cells split channels in two halves)")
    if args.partial_channels < 1 or args.init_channels % args.partial_channels:
        raise UserError(f"--partial_channels {args.partial_channels} must be at least 1 and divide --init_channels "
                        f"{args.init_channels}")
    if args.partial_channels > 1 and modality(args.dataset) == "text":
        raise UserError("--partial_channels applies to the convolutional search; leave it out for text")


def check_text_args(args) -> None:
    if not args.emsize == args.nhid == args.nhidlast:
        raise UserError(f"--emsize {args.emsize}, --nhid {args.nhid} and --nhidlast {args.nhidlast} must be equal "
                        f"(the decoder is tied to the embedding)")
    for name in ("emsize", "bptt"):
        if getattr(args, name) < 2:
            raise UserError(f"--{name} must be at least 2, got {getattr(args, name)}")
    for name in ("dropout", "dropouth", "dropoutx", "dropouti", "dropoute"):
        if not 0 <= getattr(args, name) < 1:
            raise UserError(f"--{name} {getattr(args, name)} must be in [0, 1)")
    if args.small_batch_size not in (-1, args.batch_size):
        raise UserError("--small_batch_size (gradient accumulation) is not supported; leave it out or set it "
                        "to --batch_size")


def build_text_supernet(args, ntokens: int) -> RNNSearchModel:
    return RNNSearchModel(ntokens, args.emsize, args.nhid, args.nhidlast, args.dropout, args.dropouth,
                          args.dropoutx, args.dropouti, args.dropoute)


def build_supernet(args, in_channels: int, num_classes: int):
    if args.space == "nb201":
        return Nb201SearchNetwork(args.init_channels, max(1, args.layers // 3), num_classes, in_channels)
    return search_space("darts_cnn", in_channels, num_classes, args.init_channels, args.layers,
                        check_primitives(args.primitives), args.partial_channels)


def summary(args) -> None:
    if modality(args.dataset) == "text":
        return text_summary(args)
    c, h, w, classes = image_input_shape(args.dataset, args.data, **own_data_options(args))
    model = build_supernet(args, c, classes)
    n = count_parameters(model)
    macs = count_multiply_adds(model, torch.zeros(1, c, h, w))
    alphas = sum(a.numel() for a in model.alphas())
    print(f"DARTS search supernet: C={args.init_channels}, {args.layers} layers, {args.dataset} input {c}x{h}x{w}, "
          f"{classes} classes")
    print(f"param size = {n / 1e6:f}MB ({n:,} weights; {alphas} alphas not counted)")
    print(f"multiply-adds = {macs / 1e6:.1f}M per image")


def text_summary(args) -> None:
    """Vocabulary from --data when it is a corpus folder, else the standard corpus's size."""
    if args.data and Path(args.data).is_dir():
        ntokens, source = read_corpus(args.data).ntokens, args.data
    else:
        ntokens, source = KNOWN_VOCAB_SIZES[args.dataset], f"the standard {args.dataset}"
    model = build_text_supernet(args, ntokens)
    n = count_parameters(model)
    alphas = sum(a.numel() for a in model.alphas())
    print(f"DARTS recurrent search supernet: emsize {args.emsize}, nhid {args.nhid}, {model.steps} nodes, "
          f"vocabulary {ntokens:,} ({source})")
    print(f"param size = {n / 1e6:f}MB ({n:,} weights; {alphas} alphas not counted)")


def main(argv=None) -> None:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    import_plugins(args.ops_module)  # before any --primitives is checked
    if args.gpu is not None and args.device == "auto":
        args.device = f"cuda:{args.gpu}"
    if args.continue_train and not args.resume:
        if not args.save:
            raise UserError("--continue_train needs --save naming the run folder to continue")
        args.resume = args.save
    if args.summary:
        fill_defaults(args)
        check_args(args)
        summary(args)
        return
    if args.resume:
        args = resumed_args(args, parser, argv, RESUME_MAY_CHANGE, "train_search.py")
        import_plugins(args.ops_module)  # the run's own
    fill_defaults(args)
    check_args(args)
    if args.save is None:
        args.save = f"search-EXP-{time.strftime('%Y%m%d-%H%M%S')}"
    device = init_from_env(args.device)  # under torchrun: joins the process group, cuda:LOCAL_RANK
    try:
        setup_console_logging()
        run = RunDir(args.save)
        try:
            search(args, run, device)
            if run.enabled and not args.no_plots:
                draw_figures(run, args.plot_epoch_cells)
        finally:
            run.close()
    finally:
        destroy_process_group()


def draw_figures(run: RunDir, epoch_cells: bool) -> None:
    """Cells, alphas and curves of the finished search, into SAVE/figures (see python -m visualize)."""
    from visualize import render_search_dir
    files = render_search_dir(run.path, epoch_cells=epoch_cells)
    log.info("drew %d figures into %s", len(files), run.file("figures"))


def search(args, run: RunDir, device=None):
    device = device or pick_device(args.device)
    seed_everything(args.seed)
    if world_size() > 1:
        if modality(args.dataset) == "text":
            raise UserError("distributed (torchrun) search shards image batches; run the text search in one process")
        log.info("world size %d: --batch_size %d per process, %d in all", world_size(), args.batch_size,
                 args.batch_size * world_size())
    if modality(args.dataset) == "text":
        return search_text(args, run, device)
    if args.strategy in ("random", "evolution", "reinforce"):
        return search_by_sampling(args, run, device)
    data = load_image_dataset(args.dataset, args.data, **own_data_options(args))
    if not args.resume:
        run.write_json("args.json", {k: v for k, v in vars(args).items() if k != "resume"})
    log.info("args = %s", vars(args))
    bf16 = device.type == "cuda" and not args.no_amp
    channels_last = device.type == "cuda" and not args.no_channels_last
    # the first --train_portion of the training split trains the weights, the rest the alphas (as the original)
    streams = search_streams(data, args.batch_size, args.train_portion, device, args.seed,
                             args.cutout_length if args.cutout else 0, shard(), channels_last)
    n, split = len(data.train_x), len(streams[0].x)
    model = build_supernet(args, data.in_channels, data.num_classes).to(
        device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    if args.strategy == "enas":
        metrics = nb201_table_metrics(table_evaluator(args.benchmark, args.dataset).table) if args.benchmark else None
        return run_enas_search(args, run, model, ImageClassification(), streams[0], streams[1], arch_metrics=metrics)
    if device.type == "cuda":
        log.info("precision: %s, %s", "bf16 autocast" if bf16 else "float32",
                 "channels_last" if channels_last else "NCHW")
    log.info("dataset %s: %d images (%d train weights, %d train alphas), %dx%dx%d, %d classes", args.dataset, n,
             split, n - split, data.in_channels, data.image_size, data.image_size, data.num_classes)
    if data.class_names:
        log.info("classes: %s", ", ".join(data.class_names))
    log.info("param size = %fMB", count_parameters(model) / 1e6)
    config = DartsSearchConfig(
        epochs=args.epochs, learning_rate=args.learning_rate, learning_rate_min=args.learning_rate_min,
        momentum=args.momentum, weight_decay=args.weight_decay, grad_clip=args.grad_clip,
        arch_learning_rate=args.arch_learning_rate, arch_weight_decay=args.arch_weight_decay,
        unrolled=args.unrolled, hessian=args.hessian, max_batches=args.max_batches, report_freq=args.report_freq,
        progress=not args.no_progress, bf16=bf16)
    searcher = DartsSearch(model, ImageClassification(), streams[0], streams[1], config, run)
    if args.space == "nb201" and args.benchmark:
        table = table_evaluator(args.benchmark, args.dataset)

        def report_table_accuracy(epoch, arch, metrics):
            metrics[f"nb201_{table.dataset}_test_acc"] = acc = table.evaluate(arch)
            log.info("NAS-Bench-201 %s test accuracy of %s: %.2f%%", table.dataset, arch, acc)
        searcher.epoch_end_hooks.append(report_table_accuracy)
    return run_search(searcher, args, run)


def search_by_sampling(args, run: RunDir, device):
    """Random search, regularized evolution or REINFORCE: rewards from the table, or from training."""
    if not args.resume:
        run.write_json("args.json", {k: v for k, v in vars(args).items() if k != "resume"})
    log.info("args = %s", vars(args))
    if args.benchmark:
        if args.space != "nb201":
            raise UserError("--benchmark holds NAS-Bench-201 accuracies: add --space nb201, or drop --benchmark "
                            "to reward by training")
        evaluator = table_evaluator(args.benchmark, args.dataset)
    else:
        data = load_image_dataset(args.dataset, args.data, **own_data_options(args))
        evaluator = training_evaluator(args.space, data, args.train_portion, args.fidelity_epochs, args.batch_size,
                                       args.learning_rate, args.seed, device, args.init_channels, args.layers)
    best = run_sample_search(args.strategy, args.space, evaluator, args.budget, args.seed, run,
                             progress=not args.no_progress)
    if args.space == "nb201" and args.benchmark:
        log.info("table accuracy of the best cell: %.2f%% (optimum 94.37%% on cifar10)", evaluator.evaluate(best))
    log.info("wrote %s", run.file("genotype.json"))
    return best


def search_text(args, run: RunDir, device):
    """As the original rnn/train_search.py: weights train on train.txt, alphas on valid.txt (both in
    --batch_size columns, the training windows of variable length), and each epoch ends with the
    validation perplexity over valid.txt in 10 columns. SGD without momentum at a constant rate."""
    corpus = read_corpus(args.data or DEFAULT_FOLDERS[args.dataset])
    if not args.resume:
        run.write_json("args.json", {k: v for k, v in vars(args).items() if k not in ("resume", "continue_train")})
    log.info("args = %s", vars(args))
    train = TextStream(corpus.train, args.batch_size, args.bptt, device, variable_length=True,
                       seed=args.seed * 1000, name="train")
    search = TextStream(corpus.valid, args.batch_size, args.bptt, device, seed=args.seed * 1000 + 1, name="valid")
    valid = TextStream(corpus.valid, EVAL_BATCH_SIZE, args.bptt, device, name="valid")
    model = build_text_supernet(args, corpus.ntokens).to(device)
    log.info("corpus %s: vocabulary %d, %d / %d / %d tokens (train / valid / test)", corpus.path, corpus.ntokens,
             len(corpus.train), len(corpus.valid), len(corpus.test))
    log.info("param size = %fMB", count_parameters(model) / 1e6)
    if args.strategy == "enas":
        return run_enas_search(args, run, model, LanguageModel(args.alpha, args.beta), train, search,
                               valid_batches=lambda: valid.evaluation_batches(args.max_batches))
    config = DartsSearchConfig(
        epochs=args.epochs, learning_rate=args.learning_rate, momentum=args.momentum, weight_decay=args.weight_decay,
        grad_clip=args.grad_clip, arch_learning_rate=args.arch_learning_rate,
        arch_weight_decay=args.arch_weight_decay, arch_betas=(0.9, 0.999), lr_schedule="constant",
        clip_virtual_step=True, unrolled=args.unrolled, hessian=args.hessian, max_batches=args.max_batches,
        report_freq=args.report_freq, progress=not args.no_progress)
    searcher = DartsSearch(model, LanguageModel(args.alpha, args.beta), train, search, config, run,
                           valid_batches=lambda: valid.evaluation_batches(args.max_batches))
    return run_search(searcher, args, run)


def run_search(searcher: DartsSearch, args, run: RunDir):
    if args.resume:
        searcher.resume(run.file(CHECKPOINT))
    genotype = searcher.run()
    log.info("final genotype = %s", genotype)
    log.info("wrote %s", run.file("genotype.json"))
    return genotype


if __name__ == "__main__":
    sys.exit(run_cli(main))
