"""The settings of training a recurrent genotype's language model (train_final.py --dataset ptb|wikitext2),
declared once with the original rnn/train.py's names, aliases and defaults (PTB), grouped by part.

The model sizes, --dropouth and --wdecay depend on the corpus (`DATASET_DEFAULTS`: the original README's
WikiText-2 command); --nhid and --nhidlast follow --emsize when only it is given.
"""
from __future__ import annotations

from darts.data.text import KNOWN_VOCAB_SIZES
from darts.errors import UserError
from darts.options import DEVICE, GPU, NO_PROGRESS, ORIGINAL_RUN_FLAGS, RESUME, Option, resolve_options, save_option

TEXT_DATASETS = tuple(KNOWN_VOCAB_SIZES)
# Settings a resumed run may change (they do not alter the computation done so far); --epochs too when typed:
# training has no schedule tied to it, so a stopped run can be continued for longer.
RESUME_MAY_CHANGE = {"resume", "device", "report_freq", "save", "no_progress", "continue_train"}
NOT_SAVED = {"resume", "continue_train"}
DATASET_DEFAULTS = {
    "ptb": {"emsize": 850, "nhid": 850, "nhidlast": 850, "dropouth": 0.25, "wdecay": 8e-7},
    "wikitext2": {"emsize": 700, "nhid": 700, "nhidlast": 700, "dropouth": 0.15, "wdecay": 5e-7},
}

CORE = (
    Option("dataset", "ptb", "which corpus the defaults are for", choices=TEXT_DATASETS),
    Option("data", None, "corpus folder with train.txt, valid.txt, test.txt (default: data/ptb, data/wikitext-2)",
           type=str, metavar="DIR"),
    Option("arch", "DARTS", "recurrent genotype: cells/ name (DARTS, DARTS_V1, ...), a genotype.json, or "
                            "Genotype(...) text", type=str, metavar="NAME"),
    save_option("eval"),
    RESUME,
    Option("seed", 1267, "random seed", minimum=0, maximum=2 ** 32 - 1),
    DEVICE,
    Option("max_batches", None, "cap on batches per epoch and per evaluation (smoke runs)", type=int, minimum=1),
    Option("summary", False, "print the model's size and exit", flag=True),
    NO_PROGRESS,
    Option("report_freq", 200, "log every N batches", aliases=("--log-interval",), minimum=1),
)
MODEL = (
    Option("emsize", None, "size of word embeddings (default: 850 PTB, 700 WikiText-2)", type=int, minimum=1),
    Option("nhid", None, "recurrent cell size (default: as --emsize)", type=int, minimum=1),
    Option("nhidlast", None, "size of the last recurrent layer (default: as --emsize)", type=int, minimum=1),
    Option("dropout", 0.75, "locked dropout on the cell's outputs", minimum=0.0, below=1.0),
    Option("dropouth", None, "dropout on hidden connections (default: 0.25 PTB, 0.15 WikiText-2)", type=float,
           minimum=0.0, below=1.0),
    Option("dropoutx", 0.75, "dropout on input connections", minimum=0.0, below=1.0),
    Option("dropouti", 0.2, "locked dropout on embeddings", minimum=0.0, below=1.0),
    Option("dropoute", 0.0, "dropout of whole words from the embedding", minimum=0.0, below=1.0),
)
TRAINING = (
    Option("lr", 20.0, "initial learning rate", minimum=0.0),
    Option("clip", 0.25, "gradient norm clipping", minimum=0.0),
    Option("epochs", 8000, "upper epoch limit; Ctrl-C stops early and tests", minimum=1),
    Option("batch_size", 64, "batch size (columns of the training text)", minimum=1),
    Option("bptt", 35, "mean window length", minimum=1),
    Option("max_seq_len_delta", 20, "longest window: bptt + this", minimum=1),
    Option("eval_batch_size", 10, "columns of the validation pass", minimum=1),
    Option("test_batch_size", 1, "columns of the test pass", minimum=1),
    Option("nonmono", 5, "epochs without improvement before switching to ASGD", minimum=0),
    Option("alpha", 0.0, "activation regularisation weight", minimum=0.0),
    Option("beta", 1e-3, "temporal activation regularisation weight", minimum=0.0),
    Option("wdecay", None, "weight decay (default: 8e-7 PTB, 5e-7 WikiText-2)", type=float, minimum=0.0),
)
ORIGINAL = (
    *ORIGINAL_RUN_FLAGS,
    Option("small_batch_size", -1, "(original flag) only -1 or --batch_size are supported"),
    GPU,
)
OPTION_GROUPS = (("core", CORE), ("model", MODEL), ("training", TRAINING), ("original flags", ORIGINAL))
OPTIONS = tuple(o for _, group in OPTION_GROUPS for o in group)


def resolve_lm_settings(given: dict) -> dict:
    """Every setting of a language-model run: those given (None = not given), else the corpus's default, else
    the declared one; --nhid and --nhidlast follow --emsize; each checked (one-line UserError)."""
    given = dict(given)
    if given.get("emsize") is not None:
        given["nhid"] = given["emsize"] if given.get("nhid") is None else given["nhid"]
        given["nhidlast"] = given["nhid"] if given.get("nhidlast") is None else given["nhidlast"]
    dataset = resolve_options(CORE[:1], given)["dataset"]
    settings = {**given, **resolve_options(OPTIONS, given, DATASET_DEFAULTS[dataset])}
    if not settings["emsize"] == settings["nhid"] == settings["nhidlast"]:
        raise UserError(f"--emsize {settings['emsize']}, --nhid {settings['nhid']} and --nhidlast "
                        f"{settings['nhidlast']} must be equal (the decoder is tied to the embedding)")
    if settings["small_batch_size"] not in (-1, settings["batch_size"]):
        raise UserError("--small_batch_size (gradient accumulation) is not supported; leave it out or set it "
                        "to --batch_size")
    return settings
