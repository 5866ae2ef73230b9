"""Weight-sharing evaluation (darts/evaluators/supernet.py): a supernet's path with recomputed BatchNorm statistics
scores what the derived network with the copied weights scores; evaluations are independent of their order."""
import json
import math
import re

import pytest
import torch
import torch.nn as nn

from darts.checkpoint import save_checkpoint
from darts.errors import UserError
from darts.evaluators.supernet import SupernetEvaluator
from darts.spaces.base import DataShape
from darts.spaces.nb201 import Nb201ArchSpace, Nb201Network, Nb201SearchNetwork, parse_arch

ARCHS = ["|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
         "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
         "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_3x3~0|skip_connect~1|none~2|"]


def batches(n, seed, size=6):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, 1, 8, 8, generator=g, dtype=torch.float64),
             torch.randint(0, 3, (size,), generator=g)) for _ in range(n)]


def supernet():
    torch.manual_seed(0)
    net = Nb201SearchNetwork(C=4, N=1, num_classes=3, in_channels=1).double()
    with torch.no_grad():  # statistics of "many paths", which the evaluator must not use
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    return net


def derived_with_copied_weights(net, arch, inputs):
    """The stand-alone network of `arch`, each chosen op's weights copied from its supernet edge, BatchNorm
    statistics recomputed by hand on `inputs` (its affine BatchNorms stay the identity: the supernet's have none)."""
    derived = Nb201Network(arch, C=4, N=1, num_classes=3, in_channels=1).double()
    source = net.state_dict()
    with torch.no_grad():
        for key, value in derived.named_parameters():
            edge = re.fullmatch(r"layers\.(\d+)\.edges\.(\d+)\.(.*)", key)
            if edge:
                i, e, rest = edge.groups()
                if rest.split(".")[0] == "2":  # the affine BatchNorm of ReLU-conv-BN
                    continue
                key = f"layers.{i}.edges.{e}._ops.{net.primitives.index(arch.ops[int(e)])}.{rest}"
            value.copy_(source[key])
        for m in derived.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1)
                m.num_batches_tracked.zero_()
                m.momentum = None
        derived.train()
        for x in inputs:
            derived(x)
    return derived.eval()


def test_path_equals_the_derived_network_with_the_copied_weights():
    net, train, val = supernet(), batches(3, 1), batches(2, 2)
    evaluator = SupernetEvaluator(net, train, val, bn_batches=2)
    for text in ARCHS:
        arch = parse_arch(text)
        derived = derived_with_copied_weights(net, arch, [x for x, _ in train[:2]])
        x = torch.cat([x for x, _ in val])
        with torch.no_grad():
            expected = derived(x)
        assert torch.allclose(evaluator.logits(arch, x), expected, atol=1e-10)
        labels = torch.cat([y for _, y in val])
        assert evaluator.evaluate(arch) == pytest.approx(100.0 * float((expected.argmax(1) == labels).double().mean()))


def test_evaluations_do_not_depend_on_their_order_and_leave_the_supernet_as_it_was():
    net = supernet()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()
    evaluator = SupernetEvaluator(net, batches(2, 1), batches(2, 2), bn_batches=2)
    archs = [parse_arch(a) for a in ARCHS]
    forward = [evaluator.logits(a, evaluator.val_batches[0][0]) for a in archs]
    backward = [evaluator.logits(a, evaluator.val_batches[0][0]) for a in reversed(archs)][::-1]
    for a, b in zip(forward, backward):
        assert torch.equal(a, b)
    assert not torch.equal(forward[0], forward[1])
    assert net.training and all(m.momentum == 0.1 for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


class OneNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1, affine=False)

    def forward_path(self, x, path):
        return self.bn(x).flatten(1)


def test_batch_norm_statistics_are_the_average_over_the_training_batches():
    """Batches [1, 3] and [5, 9]: means 2 and 7, unbiased variances 2 and 8; their averages 4.5 and 5."""
    net = OneNorm()
    train = [(torch.tensor([1.0, 3.0]).view(2, 1, 1, 1), None), (torch.tensor([5.0, 9.0]).view(2, 1, 1, 1), None)]
    evaluator = SupernetEvaluator(net, train, [(torch.zeros(1, 1, 1, 1), torch.zeros(1))], bn_batches=2)
    with evaluator.path_statistics("any") as forward:
        assert net.bn.running_mean.item() == pytest.approx(4.5)
        assert net.bn.running_var.item() == pytest.approx(5.0)
        assert forward(torch.tensor([6.0]).view(1, 1, 1, 1)).item() == pytest.approx(1.5 / math.sqrt(5 + 1e-5))
    assert net.bn.running_mean.item() == 0.0 and net.bn.running_var.item() == 1.0 and net.bn.momentum == 0.1


def write_run(folder, net, **settings):
    folder.mkdir()
    (folder / "args.json").write_text(json.dumps({"space": "nb201", "strategy": "darts", "init_channels": 4,
                                                  "layers": 3, **settings}))
    save_checkpoint(folder / "checkpoint.pt", {"model": net.float().state_dict(), "epoch": 1})


def test_from_run_loads_the_folders_supernet(tmp_path):
    net, train, val = supernet(), batches(2, 1), batches(1, 2)
    write_run(tmp_path / "run", net, relaxation="gumbel")  # registered or not: a single path mixes nothing
    loaded = SupernetEvaluator.from_run(tmp_path / "run", DataShape(1, 8, 8, 3), [(x.float(), y) for x, y in train],
                                        [(x.float(), y) for x, y in val], space="nb201", bn_batches=2)
    direct = SupernetEvaluator(net.float(), [(x.float(), y) for x, y in train], [(x.float(), y) for x, y in val],
                               bn_batches=2)
    arch = parse_arch(ARCHS[0])
    assert loaded.evaluate(arch) == direct.evaluate(arch)
    assert "epoch1" in loaded.name


@pytest.mark.parametrize("case, message", [
    ("empty", "no args.json and checkpoint.pt"), ("other_space", "searched the darts_cnn space, not nb201"),
    ("no_model", "holds no supernet"), ("other_data", "trained on other data")])
def test_a_bad_supernet_folder_is_refused_with_one_line(tmp_path, case, message):
    folder = tmp_path / "run"
    if case == "empty":
        folder.mkdir()
    else:
        write_run(folder, supernet(), **({"space": "darts_cnn"} if case == "other_space" else {}))
    if case == "no_model":
        save_checkpoint(folder / "checkpoint.pt", {"epoch": 1})
    shape = DataShape(1, 8, 8, 10 if case == "other_data" else 3)
    with pytest.raises(UserError, match=message) as e:
        SupernetEvaluator.from_run(folder, shape, batches(1, 1), batches(1, 2), space="nb201")
    assert "\n" not in str(e.value)


def test_a_near_zero_tanh_constant_makes_the_enas_controller_uniform():
    """ENAS with --controller_tanh_constant 1e-9 trains its shared weights on uniformly sampled paths (SPOS / RSPS):
    every sample's probability is 5^-6 whatever the controller learns."""
    from darts.strategies.reinforce import Reinforce
    sampler = Reinforce(Nb201ArchSpace(), seed=0, tanh_constant=1e-9)
    for _ in range(3):
        arch = sampler.ask()
        sampler.tell(arch, 1.0)
    with torch.no_grad():
        sample = sampler.controller()
    assert sample.log_prob.item() == pytest.approx(-6 * math.log(5), abs=1e-6)


def test_a_sample_search_takes_its_rewards_from_the_supernet(tmp_path, monkeypatch):
    """--evaluator supernet --supernet DIR on the command line; a bad folder, or --supernet with another evaluator,
    is refused before the run's folder exists."""
    from darts.cli import search
    from darts.runs import run_cli
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    write_run(tmp_path / "supernet", Nb201SearchNetwork(C=4, N=1, num_classes=10, in_channels=1))
    argv = ["--strategy", "random", "--space", "nb201", "--dataset", "digits", "--budget", "3", "--batch_size", "16",
            "--max_batches", "2", "--supernet_bn_batches", "2", "--no_progress", "--no_plots"]
    assert run_cli(search.main, argv + ["--evaluator", "supernet", "--supernet", "supernet", "--save", "ws"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "ws" / "history.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(0 <= r["reward"] <= 100 for r in rows)
    for wrong in (["--evaluator", "supernet", "--supernet", "nowhere"], ["--supernet", "supernet"]):
        assert run_cli(search.main, argv + wrong + ["--save", "bad"]) != 0
        assert not (tmp_path / "bad").exists()
