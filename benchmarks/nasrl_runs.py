"""Short real searches of Zoph & Le's two spaces (CPU, one thread, small subsets, tiny networks).

cnn: the layer-by-layer space on Fashion-MNIST (a subset of the training split, downsampled 2x; the
     validation images come from the training split too). REINFORCE with the anchor-point controller
     against random search at the same budget and seed; printed: mean reward over all, over the last
     half, and the best.
rnn: the tree-cell space on Penn Treebank (the first tokens of train.txt, the first windows of
     valid.txt). A search at a budget of cells against the vanilla tanh RNN of the same size trained
     with the same low-fidelity budget; printed: perplexities and rewards c / ppl.
rnn-check: the best cell of an rnn history and the tanh RNN again under other evaluator seeds.
diagrams: the best genotype of each history in --out, as JSON and drawn to PNG.

    python benchmarks/nasrl_runs.py cnn --out runs/nasrl/cnn
    python benchmarks/nasrl_runs.py rnn --data data/ptb --out runs/nasrl/rnn
    python benchmarks/nasrl_runs.py rnn-check --data data/ptb --out runs/nasrl/rnn
    python benchmarks/nasrl_runs.py diagrams --out runs/nasrl/cnn   (and --out runs/nasrl/rnn)

Histories are resumable: a killed run continues where it stopped when started again with the same --out.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from darts.checkpoint import read_jsonl
from darts.spaces.registry import DataShape, genotype_from_record, genotype_record, get_space
from darts.strategies.base import run_strategy
from darts.strategies.registry import build_strategy


def summarize(name: str, records: list[dict], seconds: float) -> dict:
    rewards = [r["reward"] for r in records]
    half = rewards[len(rewards) // 2:]
    out = {"strategy": name, "evaluations": len(rewards), "mean": statistics.fmean(rewards),
           "mean_last_half": statistics.fmean(half), "best": max(rewards), "seconds": round(seconds, 1)}
    print(json.dumps(out), flush=True)
    return out


def search(name: str, arch_space, evaluator, budget: int, out: Path, seed: int, options: dict) -> dict:
    start = time.perf_counter()
    strategy = build_strategy(name, arch_space, seed=seed, **options)
    result = run_strategy(strategy, evaluator, budget, history_path=out / f"{arch_space.name}_{name}.jsonl",
                          progress=False)
    return summarize(name, result.records, time.perf_counter() - start)


def fashion_subset(train: int, valid: int) -> tuple[torch.Tensor, ...]:
    """The first train + valid images of Fashion-MNIST's training split, 14x14, normalized."""
    from darts.data import load_image_dataset
    d = load_image_dataset("fashion-mnist", None)
    x = F.avg_pool2d(d.train_x[:train + valid].float() / 255.0, 2)
    x = (x - d.mean[0]) / d.std[0]
    y = d.train_y[:train + valid]
    return x[:train], y[:train], x[train:], y[train:]


def run_cnn(args) -> None:
    from darts.evaluators.training import TrainingEvaluator
    space = get_space("nasrl_cnn")
    opts = space.resolve({"layers": args.layers, "width_divisor": args.width_divisor})
    arch_space = space.arch_space(opts)
    tx, ty, vx, vy = fashion_subset(args.train, args.valid)
    evaluator = TrainingEvaluator(
        lambda g, c, k: space.build_network(g, opts, DataShape(c, 14, 14, k)), tx, ty, vx, vy,
        epochs=args.epochs, batch_size=64, learning_rate=0.05, num_classes=10, seed=args.seed,
        dataset="fashion-mnist-subset", arch_key=lambda g: json.dumps(g.to_dict()))
    reinforce = {"hidden_size": 35, "num_layers": 2, "batch_size": args.m, "learning_rate": args.lr,
                 "entropy_weight": args.entropy_weight}
    for name, options in (("reinforce", reinforce), ("random", {})):
        search(name, arch_space, evaluator, args.budget, args.out, args.seed, options)


def lm_evaluators(args, seed: int):
    """(tanh baseline evaluator, searched-cell evaluator, space) with the same low-fidelity budget."""
    from darts.data.text import read_corpus
    from darts.evaluators.language_model import LmEvaluator
    from darts.spaces.nasrl_rnn.model import TanhCell, language_model
    corpus = read_corpus(args.data)
    space = get_space("nasrl_rnn")
    opts = space.resolve({"leaves": args.leaves, "nhid": args.nhid, "dropout": 0.0, "dropouti": 0.0})
    shape = DataShape(ntokens=corpus.ntokens)
    common = dict(train_tokens=corpus.train[:args.tokens], valid_tokens=corpus.valid, train_batches=args.batches,
                  valid_batches=args.valid_batches, batch_size=args.batch_size, learning_rate=args.model_lr,
                  seed=seed, dataset="ptb-subset")
    tanh = LmEvaluator(lambda _: language_model(TanhCell(args.nhid), corpus.ntokens), arch_key=str, **common)
    cells = LmEvaluator(lambda g: space.build_network(g, opts, shape), arch_key=lambda g: json.dumps(g.to_dict()),
                        **common)
    return tanh, cells, space, opts


def run_rnn(args) -> None:
    tanh, evaluator, space, opts = lm_evaluators(args, args.seed)
    start = time.perf_counter()
    ppl = tanh.perplexity("tanh")
    baseline = {"cell": "tanh", "ppl": ppl, "reward": tanh.reward_c / ppl,
                "seconds": round(time.perf_counter() - start, 1)}
    print(json.dumps(baseline), flush=True)
    options = {"hidden_size": 35, "num_layers": 2, "learning_rate": args.lr, "entropy_weight": args.entropy_weight,
               "batch_size": args.m} if args.strategy == "reinforce" else {}
    summary = search(args.strategy, space.arch_space(opts), evaluator, args.budget, args.out, args.seed, options)
    print(json.dumps({"best_ppl": evaluator.reward_c / summary["best"], "tanh_ppl": ppl}), flush=True)


def run_rnn_check(args) -> None:
    """The best searched cell and the tanh RNN again under other evaluator seeds (the noise of one reward)."""
    history = read_jsonl(args.out / f"nasrl_rnn_{args.strategy}.jsonl")
    best = max(history, key=lambda r: r["reward"])["arch"]
    for seed in range(args.seed + 1, args.seed + 1 + args.check_seeds):
        tanh, cells, space, _ = lm_evaluators(args, seed)
        row = {"seed": seed, "tanh_ppl": tanh.perplexity("tanh"),
               "best_cell_ppl": cells.perplexity(space.genotype_from_dict(best))}
        print(json.dumps(row), flush=True)


def run_diagrams(args) -> None:
    from visualize.cells import write_graph
    for history in sorted(args.out.glob("nasrl_*.jsonl")):
        best = max(read_jsonl(history), key=lambda r: r["reward"])
        space = get_space(history.stem.split("_")[0] + "_" + history.stem.split("_")[1])
        genotype = genotype_from_record({"space": space.name, **best["arch"]})
        (args.out / f"{history.stem}_best.json").write_text(json.dumps(genotype_record(genotype)) + "\n")
        for part, graph in space.diagrams(genotype).items():
            print(write_graph(graph, args.out / f"{history.stem}_best_{part}", "png"))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("cnn", "rnn", "rnn-check", "diagrams"):
        s = sub.add_parser(name)
        s.add_argument("--out", type=Path, default=Path("runs/nasrl"))
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--lr", type=float, default=0.02, help="controller learning rate")
        s.add_argument("--m", type=int, default=1, help="architectures per controller step")
    cnn = sub.choices["cnn"]
    cnn.add_argument("--budget", type=int, default=80)
    cnn.add_argument("--layers", type=int, default=6)
    cnn.add_argument("--width_divisor", type=int, default=4)
    cnn.add_argument("--train", type=int, default=3000)
    cnn.add_argument("--valid", type=int, default=1000)
    cnn.add_argument("--epochs", type=int, default=1)
    cnn.add_argument("--entropy_weight", type=float, default=1.0)
    for rnn in (sub.choices["rnn"], sub.choices["rnn-check"]):
        add_rnn_arguments(rnn)
    sub.choices["rnn-check"].add_argument("--check_seeds", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    commands = {"cnn": run_cnn, "rnn": run_rnn, "rnn-check": run_rnn_check, "diagrams": run_diagrams}
    commands[args.command](args)


def add_rnn_arguments(rnn: argparse.ArgumentParser) -> None:
    rnn.add_argument("--data", type=Path, default=Path("data/ptb"))
    rnn.add_argument("--strategy", default="reinforce", choices=("reinforce", "random", "evolution"))
    rnn.add_argument("--budget", type=int, default=16)
    rnn.add_argument("--leaves", type=int, default=2)
    rnn.add_argument("--nhid", type=int, default=32)
    rnn.add_argument("--tokens", type=int, default=200_000)
    rnn.add_argument("--batches", type=int, default=60, help="training windows per cell")
    rnn.add_argument("--batch_size", type=int, default=20)
    rnn.add_argument("--model_lr", type=float, default=5.0, help="SGD learning rate of the language models")
    rnn.add_argument("--valid_batches", type=int, default=10)
    rnn.add_argument("--entropy_weight", type=float, default=1e-4)


if __name__ == "__main__":
    main()
