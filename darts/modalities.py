"""The two kinds of data a space can be searched on: images (classification) and text (language models).

A modality loads its data from the run's settings, says the data's shape to the space, and makes the
pieces every search loop needs: the task (how a batch becomes a loss), the weight-training stream, the
architecture-training stream and the end-of-epoch evaluation batches. Spaces name their modality; no
loop looks inside a batch.
"""
from __future__ import annotations

import logging
from pathlib import Path

from darts.errors import UserError
from darts.spaces.registry import DataShape

log = logging.getLogger("darts")

TEXT_EVAL_BATCH_SIZE = 10  # the original evaluates text in 10 columns


def own_data_options(dataset: str, settings: dict) -> dict:
    """Reader options of --dataset folder / npz; given with another dataset they are an error."""
    from darts.settings import IMAGE_SIZE, OWN_DATA, TEST_FRACTION
    given = {o.name: settings.get(o.name) for o in OWN_DATA}
    given["strict"] = given["strict"] or None
    accepted = {"folder": set(given), "npz": {"test_fraction"}}.get(dataset, set())
    wrong = [k for k, v in given.items() if v is not None and k not in accepted]
    if wrong:
        raise UserError(f"--{', --'.join(wrong)} do(es) not apply to --dataset {dataset} "
                        f"({'only --test_fraction does' if dataset == 'npz' else 'only to folder and npz'})")
    cache = given["cache"]
    options = {"image_size": given["image_size"] or IMAGE_SIZE,
               "cache": False if cache is not None and cache.lower() == "none" else cache,
               "strict": bool(given["strict"]),
               "test_fraction": TEST_FRACTION if given["test_fraction"] is None else given["test_fraction"]}
    return {k: v for k, v in options.items() if k in accepted}


class ImageModality:
    name = "image"

    def __init__(self, settings: dict, read: bool = True, dataset=None):
        """Reads the dataset (or, with read=False, only its shape: names and headers, for --summary); the
        library passes an already loaded ImageDataset as `dataset`."""
        from darts.data import load_image_dataset
        from darts.data.images import image_input_shape
        self.settings = settings
        options = own_data_options(settings["dataset"], settings) if dataset is None else {}
        if read or dataset is not None:
            self.data = dataset if dataset is not None else load_image_dataset(settings["dataset"],
                                                                               settings.get("data"), **options)
            d = self.data
            self.shape = DataShape(d.in_channels, d.image_size, d.image_size, d.num_classes)
            if settings.get("train_portion") is not None:  # both parts of the split it makes: checked before the folder
                from darts.data.batches import check_train_portion
                check_train_portion(len(d.train_x), settings["train_portion"])
        else:
            self.data = None
            c, h, w, k = image_input_shape(settings["dataset"], settings.get("data"), **options)
            self.shape = DataShape(c, h, w, k)

    def task(self):
        from darts.training import ImageClassification
        return ImageClassification()

    def search_streams(self, device, shard=(0, 1), channels_last: bool = False):
        """(weight stream, alpha stream, evaluation batches or None): the first --train_portion of the
        training split trains the weights, the rest the alphas (as the original code)."""
        from darts.data.batches import search_streams
        s = self.settings
        train, val = search_streams(self.data, s["batch_size"], s["train_portion"], device, s["seed"],
                                    s["cutout_length"] if s.get("cutout") else 0, shard, channels_last)
        d = self.data
        log.info("dataset %s: %d images (%d train weights, %d train alphas), %dx%dx%d, %d classes", s["dataset"],
                 len(d.train_x), len(train.x), len(d.train_x) - len(train.x), d.in_channels, d.image_size,
                 d.image_size, d.num_classes)
        if d.class_names:
            log.info("classes: %s", ", ".join(d.class_names))
        return train, val, None

    def low_fidelity_evaluator(self, build_network, device):
        """Rewards by training each sampled network from scratch on the first --train_portion of the training
        split and scoring it on the rest (the test split is never touched)."""
        import torch
        from darts.data.augment import normalize
        from darts.evaluators.training import TrainingEvaluator
        s, d = self.settings, self.data
        _no_supernet_unless_asked(s)
        split = int(len(d.train_x) * s["train_portion"])
        x = normalize(d.train_x, torch.tensor(d.mean).view(1, -1, 1, 1), torch.tensor(d.std).view(1, -1, 1, 1))
        return TrainingEvaluator(build_network, x[:split], d.train_y[:split], x[split:], d.train_y[split:],
                                 epochs=s["fidelity_epochs"], batch_size=s["batch_size"],
                                 learning_rate=_fidelity_lr(s, self.name), num_classes=d.num_classes, seed=s["seed"],
                                 device=device, dataset=d.name, arch_key=str, max_batches=s.get("max_batches"))


    def proxy_evaluator(self, build_network, device):
        """Rewards by a zero-cost proxy (--proxy) of each sampled network, untrained, on a seeded minibatch of the
        first --train_portion of the training split (the part the low-fidelity evaluator trains on)."""
        from darts.evaluators.proxy import ProxyEvaluator
        s = self.settings
        if s.get("evaluator") == "supernet":  # weight-sharing evaluation comes through the same hook
            return self.supernet_evaluator(build_network, device)
        _no_supernet_unless_asked(s)
        return ProxyEvaluator.from_dataset(build_network, self.data, s["proxy"], portion=s["train_portion"],
                                           seed=s["seed"], device=device, arch_key=str)

    # --- weight-sharing evaluation (darts/evaluators/supernet.py) ---
    def supernet_evaluator(self, build_network, device):
        """Rewards by the trained supernet of --supernet DIR: each sampled path, its BatchNorm statistics
        recomputed on --supernet_bn_batches seeded batches of the first --train_portion of the training split,
        scored on the rest (at most --max_batches batches); `build_network` is not used."""
        import torch
        from darts.data.augment import normalize
        from darts.evaluators.supernet import SupernetEvaluator
        s, d = self.settings, self.data
        if not s.get("supernet"):
            raise UserError("--evaluator supernet needs --supernet DIR, the folder of a DARTS or ENAS search")
        split, size = int(len(d.train_x) * s["train_portion"]), s["batch_size"]
        x = normalize(d.train_x, torch.tensor(d.mean).view(1, -1, 1, 1), torch.tensor(d.std).view(1, -1, 1, 1))
        order = torch.randperm(split, generator=torch.Generator().manual_seed(s["seed"]))
        bn = [(x[i], d.train_y[i]) for i in order[:size * s["supernet_bn_batches"]].split(size)]
        val = [(x[i:i + size], d.train_y[i:i + size]) for i in range(split, len(x), size)][:s.get("max_batches")]
        return SupernetEvaluator.from_run(s["supernet"], self.shape, bn, val, space=s["space"],
                                          bn_batches=s["supernet_bn_batches"], device=device)


class TextModality:
    name = "text"

    def __init__(self, settings: dict, read: bool = True, dataset=None):
        from darts.data.text import DEFAULT_FOLDERS, KNOWN_VOCAB_SIZES, check_split_length, read_corpus
        self.settings = settings
        folder = settings.get("data") or DEFAULT_FOLDERS.get(settings["dataset"])
        if read or (folder and Path(folder).is_dir()):
            self.corpus = read_corpus(folder)
            self.shape = DataShape(ntokens=self.corpus.ntokens)
            if read and settings.get("batch_size"):  # every split is read in these columns: refuse a short one now
                check_split_length(self.corpus.train, settings["batch_size"], "train")
                check_split_length(self.corpus.valid, max(settings["batch_size"], TEXT_EVAL_BATCH_SIZE), "valid")
        else:  # --summary without the corpus: the standard vocabulary size
            self.corpus = None
            self.shape = DataShape(ntokens=KNOWN_VOCAB_SIZES[settings["dataset"]])

    def task(self):
        from darts.language_task import LanguageModel
        return LanguageModel(self.settings["alpha"], self.settings["beta"])

    def search_streams(self, device, shard=(0, 1), channels_last: bool = False):
        """As the original rnn/train_search.py: weights train on train.txt, the alphas on valid.txt (both in
        --batch_size columns, training windows of variable length); each epoch ends with the validation
        perplexity over valid.txt in 10 columns."""
        from darts.data.text import TextStream
        if shard[1] > 1:
            raise UserError("distributed (torchrun) search shards image batches; run the text search in one process")
        s, c = self.settings, self.corpus
        train = TextStream(c.train, s["batch_size"], s["bptt"], device, variable_length=True,
                           seed=s["seed"] * 1000, name="train")
        search = TextStream(c.valid, s["batch_size"], s["bptt"], device, seed=s["seed"] * 1000 + 1, name="valid")
        valid = TextStream(c.valid, TEXT_EVAL_BATCH_SIZE, s["bptt"], device, name="valid")
        log.info("corpus %s: vocabulary %d, %d / %d / %d tokens (train / valid / test)", c.path, c.ntokens,
                 len(c.train), len(c.valid), len(c.test))
        return train, search, lambda: valid.evaluation_batches(s.get("max_batches"))

    def low_fidelity_evaluator(self, build_network, device):
        """Rewards c / validation perplexity of each sampled cell's language model, trained briefly on
        train.txt (`--fidelity_epochs` x 100 windows) and validated on valid.txt (the test text is never read)."""
        from darts.evaluators.language_model import LmEvaluator
        s, c = self.settings, self.corpus
        return LmEvaluator(lambda arch: build_network(arch, 0, 0), c.train, c.valid,
                           train_batches=100 * s["fidelity_epochs"], batch_size=min(s["batch_size"], 64),
                           bptt=s["bptt"], learning_rate=_fidelity_lr(s, self.name), seed=s["seed"], device=device,
                           dataset=s["dataset"], arch_key=str, max_batches=s.get("max_batches"))


def _no_supernet_unless_asked(settings: dict) -> None:
    if settings.get("supernet"):
        raise UserError("--supernet scores with a trained supernet for --evaluator supernet; add it or leave out "
                        "--supernet")


def _fidelity_lr(settings: dict, modality: str) -> float:
    from darts.settings import FIDELITY_LEARNING_RATE
    given = settings.get("fidelity_learning_rate")
    return FIDELITY_LEARNING_RATE[modality] if given is None else given


MODALITIES = {"image": ImageModality, "text": TextModality}


def load_modality(modality: str, settings: dict, read: bool = True, dataset=None):
    """The data of a run: read from settings["dataset"] / settings["data"], or the given `dataset` object."""
    return MODALITIES[modality](settings, read, dataset)
