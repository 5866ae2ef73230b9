"""Data-parallel throughput: two processes (gloo, one CPU thread each) against one, same batch per process.

    python benchmarks/ddp_throughput.py                       # search steps (first order), CPU
    python benchmarks/ddp_throughput.py --unrolled            # second-order search steps
    python benchmarks/ddp_throughput.py --mode final          # final training, DistributedDataParallel

Both configurations run in processes started the same way (torch.multiprocessing.spawn); each process
uses one thread, so two processes can use two cores. Reported: images per second of each and their
ratio (2.0 = perfect scaling; less = communication and contention, e.g. on a shared machine).
Search steps average gradients with explicit all-reduces (as train_search.py does); final training
wraps the network in DistributedDataParallel (as train_final.py does).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from darts.data import BatchStream
from darts.distributed import shard
from darts.spaces.genotype_io import load_genotype
from darts.search import DartsSearch, DartsSearchConfig
from darts.spaces.darts_cnn import SearchNetwork
from darts.spaces.darts_cnn.network import NetworkCIFAR
from darts.training import ImageClassification, weight_step


def synthetic_images(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8), torch.randint(0, 10, (n,),
                                                                                                generator=g)


def run_search(args, world: int) -> float:
    """Seconds per search step (architect + weight step), after one warm-up step."""
    torch.manual_seed(0)
    model = SearchNetwork(args.init_channels, 10, args.layers)
    x, y = synthetic_images(2 * args.batch_size * world * (args.steps + 1))
    half = len(x) // 2
    streams = [BatchStream(x[s], y[s], args.batch_size, (0.5,) * 3, (0.25,) * 3, shard=shard(), seed=i)
               for i, s in enumerate((slice(0, half), slice(half, None)))]
    search = DartsSearch(model, ImageClassification(), streams[0], streams[1],
                         DartsSearchConfig(epochs=1, unrolled=args.unrolled, progress=False))
    task = ImageClassification()

    def step():
        train, val = streams[0].next(), streams[1].next()
        search.architect.step(train, val)
        loss, _ = task.loss_and_stats(model, train)
        weight_step(search.weights, loss, search.optimizer, 5.0)
    return timed_steps(step, args.steps)


def run_final(args, world: int) -> float:
    """Seconds per training step of a DARTS_V2 network wrapped in DistributedDataParallel."""
    torch.manual_seed(0)
    net = NetworkCIFAR(load_genotype("DARTS_V2"), args.init_channels, 10, args.layers, auxiliary=True)
    net.drop_path_prob = 0.2
    model = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    opt = torch.optim.SGD(net.parameters(), 0.025, momentum=0.9, weight_decay=3e-4)
    x, y = synthetic_images(args.batch_size * world * (args.steps + 1))
    stream = BatchStream(x, y, args.batch_size, (0.5,) * 3, (0.25,) * 3, shard=shard())

    def step():
        bx, by = stream.next()
        logits, aux = model(bx)
        loss = torch.nn.functional.cross_entropy(logits, by) + 0.4 * torch.nn.functional.cross_entropy(aux, by)
        weight_step(list(net.parameters()), loss, opt, 5.0, ddp=world > 1)
    return timed_steps(step, args.steps)


def timed_steps(step, steps: int) -> float:
    step()  # warm-up
    if dist.is_initialized():
        dist.barrier()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if dist.is_initialized():
        dist.barrier()
    return (time.perf_counter() - t) / steps


def worker(rank: int, world: int, args, out: str) -> None:
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{out}.rendezvous", rank=rank, world_size=world)
    try:
        seconds = (run_final if args.mode == "final" else run_search)(args, world)
        if rank == 0:
            with open(out, "w") as f:
                json.dump({"seconds_per_step": seconds}, f)
    finally:
        if world > 1:
            dist.destroy_process_group()


def measure(args, world: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, f"world{world}.json")
        mp.spawn(worker, args=(world, args, out), nprocs=world, join=True)
        with open(out) as f:
            return json.load(f)["seconds_per_step"]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", choices=["search", "final"], default="search")
    p.add_argument("--unrolled", action="store_true", help="second-order search steps")
    p.add_argument("--batch_size", type=int, default=16, help="per process")
    p.add_argument("--init_channels", type=int, default=8)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    one, two = measure(args, 1), measure(args, 2)
    r = {"mode": args.mode + (" second order" if args.unrolled and args.mode == "search" else ""),
         "batch_per_process": args.batch_size, "init_channels": args.init_channels, "layers": args.layers,
         "one_process_images_per_s": args.batch_size / one, "two_processes_images_per_s": 2 * args.batch_size / two,
         "command": "python benchmarks/ddp_throughput.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    r["speedup"] = r["two_processes_images_per_s"] / r["one_process_images_per_s"]
    if args.json:
        print(json.dumps(r))
    else:
        print(f"command: {r['command']}")
        print(f"{r['mode']}, C={args.init_channels}, {args.layers} layers, batch {args.batch_size} per process, "
              f"torch {torch.__version__}, CPU, gloo, 1 thread per process, {os.cpu_count()} cores")
        print(f"one process   {r['one_process_images_per_s']:.1f} images/s")
        print(f"two processes {r['two_processes_images_per_s']:.1f} images/s = {r['speedup']:.2f} x one process")
    return r


if __name__ == "__main__":
    main()
