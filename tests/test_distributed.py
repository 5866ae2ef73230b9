"""Data-parallel search on CPU: two gloo processes against one process with the same global batch."""
import subprocess
import sys
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

import darts.strategies.architect as architect_module
from darts.data import Augmentation, BatchStream
from darts.distributed import all_reduce_sum
from darts.final_training import FinalTraining, FinalTrainingConfig, NetworkSpec
from darts.spaces.genotype_io import load_genotype
from darts.distributed import same_on_every_rank
from darts.runs import RunDir
from darts.search import DartsSearch, DartsSearchConfig
from darts.spaces.darts_cnn import SearchNetwork
from darts.strategies.architect import Architect
from darts.training import ImageClassification, evaluate

ROOT = Path(__file__).resolve().parent.parent
WORLD = 2
PRIMITIVES = ["none", "max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3"]  # a small, fast supernet
METHODS = {"first_order": {}, "finite_difference": {"unrolled": True},
           "exact": {"unrolled": True, "hessian": "exact"}}


# -- shared set-up: built identically in the parent (one process) and in each rank ------------------------
def ce_loss(forward, batch):
    x, y = batch
    return F.cross_entropy(forward(x), y)


def tiny_model(dtype=torch.float64):
    torch.manual_seed(0)
    model = SearchNetwork(C=2, num_classes=3, layers=3, steps=2, multiplier=2, in_channels=1,
                          primitives=PRIMITIVES).to(dtype)
    with torch.no_grad():
        for a in model.alphas():  # away from uniform, so the alpha gradients are not degenerate
            a.normal_(0, 0.5)
    return model


def optimizer_with_momentum(model):
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    g = torch.Generator().manual_seed(1)
    for w in model.weights():  # momentum buffers, so the virtual step uses them
        opt.state[w]["momentum_buffer"] = torch.randn(w.shape, generator=g, dtype=w.dtype)
    return opt


def global_batches(n=8):
    """Different examples for each rank's half: a missing all-reduce cannot go unnoticed."""
    g = torch.Generator().manual_seed(2)
    def batch():
        return torch.randn(n, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (n,), generator=g)
    return batch(), batch()


def rank_slice(batch, rank, world=WORLD):
    per = len(batch[1]) // world
    return tuple(t[rank * per:(rank + 1) * per] for t in batch)


def images(n=11, seed=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8), torch.randint(0, 3, (n,), generator=g)


def hypergradients(model, train, val):
    """Alpha gradients of every architect variant; the model is in eval mode (BatchNorm running
    statistics), so a batch's loss is the mean of per-example losses and shards average exactly."""
    model.eval()
    out = {}
    for name, kw in METHODS.items():
        grads, _ = Architect(model, ce_loss, optimizer_with_momentum(model), **kw).hypergradient(train, val)
        out[name] = [g.detach().clone() for g in grads]
    return out


def flat_state(model):
    return torch.cat([t.detach().double().flatten() for t in list(model.parameters()) + list(model.buffers())])


def search_state(rank, tmp, name, unrolled, epochs, stop_after=None, resume=False):
    """(all parameters and buffers after the search, last epoch's metrics) of a tiny sharded search."""
    model = tiny_model(torch.float32)
    x, y = images(64, seed=4)
    aug = Augmentation(crop_padding=1, flip=True)
    streams = [BatchStream(x[s], y[s], 4, (0.5,), (0.25,), augmentation=aug, cutout_length=2, seed=10 + i,
                           shard=(rank, WORLD)) for i, s in enumerate((slice(0, 32), slice(32, 64)))]
    config = DartsSearchConfig(epochs=epochs, max_batches=2, unrolled=unrolled, progress=False)
    search = DartsSearch(model, ImageClassification(), streams[0], streams[1], config, RunDir(f"{tmp}/{name}"))
    if resume:
        search.resume(f"{tmp}/{name}/checkpoint.pt")
    metrics = None
    while search.epoch < (stop_after or epochs):
        metrics = search.train_epoch()
    return flat_state(model), metrics


def final_state(rank, tmp):
    """(all parameters and buffers, metrics) after a short final training of a DARTS_V2 network."""
    spec = NetworkSpec(genotype=load_genotype("DARTS_V2").to_dict(), init_channels=4, layers=3, num_classes=3,
                       in_channels=1, auxiliary=True, dataset="digits")
    torch.manual_seed(rank)  # different initial weights: DDP must start every rank from rank 0's
    model = spec.build()
    x, y = images(40, seed=6)
    train = BatchStream(x, y, 4, (0.5,), (0.25,), augmentation=Augmentation(crop_padding=1, flip=True), seed=7,
                        shard=(rank, WORLD))
    test = BatchStream(x[:10], y[:10], 4, (0.5,), (0.25,), shuffle=False, shard=(rank, WORLD))
    config = FinalTrainingConfig(epochs=2, max_batches=3, drop_path_prob=0.2, progress=False)
    trainer = FinalTraining(model, train, test, config, spec, RunDir(f"{tmp}/final"))
    trainer.run()
    return flat_state(model), trainer.history[-1]


# -- what each rank does --------------------------------------------------------------------------------
def worker(rank, tmp):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{tmp}/rendezvous", rank=rank, world_size=WORLD)
    try:
        result = {}
        # 1. the distributed alpha gradient, and the same without any all-reduce (the negative control)
        model = tiny_model()
        train, val = (rank_slice(b, rank) for b in global_batches())
        result["grads"] = hypergradients(model, train, val)
        reduce = architect_module.all_reduce_mean
        architect_module.all_reduce_mean = lambda tensors: None
        try:
            result["grads_without_all_reduce"] = hypergradients(model, train, val)
        finally:
            architect_module.all_reduce_mean = reduce
        # 2. evaluation over shards sums to the single-process metrics
        x, y = images()
        stream = BatchStream(x, y, 3, (0.5,), (0.25,), dtype=torch.float64, shard=(rank, WORLD))
        result["eval"] = evaluate(model, ImageClassification(), stream.evaluation_batches())
        result["sum"] = all_reduce_sum({"a": torch.tensor(rank + 1.0), **({"b": 2} if rank else {})})
        result["op_costs"] = same_on_every_rank({"normal": {"a": rank + 1.5, "b": 0.0}, "reduce": {"a": 3.0 * rank,
                                                                                                   "b": 7.25}})
        # 3. search epochs in training mode (per-rank BatchNorm statistics): first order, then second
        #    order killed after one epoch and resumed, against the same run uninterrupted
        result["first_order"], _ = search_state(rank, tmp, "first", unrolled=False, epochs=1)
        result["full"], result["metrics"] = search_state(rank, tmp, "full", unrolled=True, epochs=2)
        search_state(rank, tmp, "cut", unrolled=True, epochs=2, stop_after=1)
        dist.barrier()  # rank 0 has written the checkpoint
        result["resumed"], _ = search_state(rank, tmp, "cut", unrolled=True, epochs=2, resume=True)
        # 4. final training: the network wrapped in DistributedDataParallel
        result["final"], result["final_metrics"] = final_state(rank, tmp)
        torch.save(result, f"{tmp}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    mp.spawn(worker, args=(str(tmp),), nprocs=WORLD, join=True)
    return [torch.load(tmp / f"rank{r}.pt", weights_only=False) for r in range(WORLD)], tmp


def rel_err(a, b):
    a, b = torch.cat([t.flatten() for t in a]), torch.cat([t.flatten() for t in b])
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("method", METHODS)
def test_distributed_alpha_gradient_equals_single_process_gradient_of_the_global_batch(ranks, method):
    results, _ = ranks
    expected = hypergradients(tiny_model(), *global_batches())[method]
    for r in results:
        assert rel_err(r["grads"][method], expected) < 1e-9
        # without the all-reduce each rank only has its own half: the comparison above would fail
        assert rel_err(r["grads_without_all_reduce"][method], expected) > 1e-3


def test_sharded_evaluation_sums_over_ranks(ranks):
    results, _ = ranks
    x, y = images()
    stream = BatchStream(x, y, 6, (0.5,), (0.25,), dtype=torch.float64)
    model = tiny_model()
    expected = evaluate(model, ImageClassification(), stream.evaluation_batches())
    for r in results:
        assert r["eval"]["acc"] == pytest.approx(expected["acc"])
        assert r["eval"]["loss"] == pytest.approx(expected["loss"], rel=1e-12)
        assert r["sum"] == {"a": 3.0, "b": 2.0}  # a key missing on one rank counts as zero there


def test_every_rank_searches_with_rank_0s_op_cost_table(ranks):
    results, _ = ranks
    for r in results:
        assert r["op_costs"] == {"normal": {"a": 1.5, "b": 0.0}, "reduce": {"a": 0.0, "b": 7.25}}


def test_weights_alphas_and_statistics_identical_on_every_rank_after_search_steps(ranks):
    results, tmp = ranks
    start = flat_state(tiny_model(torch.float32))
    for key in ("first_order", "full"):
        assert float((results[0][key] - start).abs().max()) > 1e-4  # the steps did change the model
        assert torch.equal(results[0][key], results[1][key]), key
    assert results[0]["metrics"]["valid_acc"] == results[1]["metrics"]["valid_acc"]
    # only rank 0 writes: one alphas.jsonl row per epoch
    assert len((tmp / "full" / "alphas.jsonl").read_text().splitlines()) == 2


def test_final_training_replicas_stay_identical(ranks):
    results, tmp = ranks
    assert torch.equal(results[0]["final"], results[1]["final"])
    assert results[0]["final_metrics"]["test_acc"] == results[1]["final_metrics"]["test_acc"]
    assert len((tmp / "final" / "history.jsonl").read_text().splitlines()) == 2


def test_resumed_distributed_search_equals_uninterrupted(ranks):
    results, tmp = ranks
    for r in results:
        assert torch.equal(r["resumed"], r["full"])
    assert len((tmp / "cut" / "alphas.jsonl").read_text().splitlines()) == 2


# -- sharded batches, in one process ----------------------------------------------------------------------
@pytest.mark.parametrize("n", [24, 23, 19])
def test_shards_together_are_the_batch_of_one_process_with_the_global_batch_size(n):
    x, y = images(n)
    kw = dict(mean=(0.5,), std=(0.25,), augmentation=Augmentation(crop_padding=2, flip=True), cutout_length=3,
              seed=5)
    single = BatchStream(x, y, 2 * 3, **kw)
    shards = [BatchStream(x, y, 3, shard=(r, 2), **kw) for r in range(2)]
    assert all(len(s) == len(single) for s in shards)
    for _ in range(2):  # two passes, the second reshuffled
        got = [list(s.epoch()) for s in shards]
        for (xs, ys), (x0, y0), (x1, y1) in zip(single.epoch(), *got):
            per = len(ys) // 2
            assert torch.equal(torch.cat([x0, x1]), xs[:2 * per]) and torch.equal(torch.cat([y0, y1]), ys[:2 * per])
            assert len(y0) == len(y1) >= 2
    # evaluation: every example exactly once across the ranks
    seen = torch.cat([yb for s in shards for _, yb in s.evaluation_batches()])
    assert len(seen) == n and sorted(seen.tolist()) == sorted(y.tolist())
    with pytest.raises(ValueError):
        BatchStream(x, y, 3, (0.5,), (0.25,), shard=(2, 2))


# -- the command line under torchrun ------------------------------------------------------------------------
@pytest.mark.parametrize("script,extra,written", [
    ("train_search.py", ["--init_channels", "2", "--no_plots"], "genotype.json"),
    ("train_final.py", ["--init_channels", "4", "--arch", "DARTS_V2"], "weights.pt"),
])
def test_torchrun_cli_runs_and_only_rank_0_writes(tmp_path, script, extra, written):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    out = tmp_path / "s"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(ROOT / script), "--dataset", "digits", "--layers", "3", "--batch_size", "8", "--max_batches", "2",
           "--epochs", "1", "--no_progress", "--device", "cpu", "--save", str(out), *extra]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("world size 2") == 1  # rank 1 logs nothing
    assert (out / written).is_file() and torch.load(out / "checkpoint.pt", weights_only=False)["epoch"] == 1
    assert "world size 2" in (out / "log.txt").read_text()
