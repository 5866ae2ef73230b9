"""ENAS: single paths through the supernets, the controller's REINFORCE step, resume, a real search on digits."""
import json
import random

import pytest
import torch
import torch.nn as nn

from darts.data import BatchStream, load_image_dataset
from darts.errors import UserError
from darts.genotype import Genotype, RecurrentGenotype
from darts.spaces.genotype_io import genotype_from_dict
from darts.ops import PRIMITIVES
from darts.runs import RunDir
from darts.spaces.darts_cnn import NetworkCIFAR, SearchNetwork
from darts.spaces.darts_cnn.sampling import DartsCnnArchSpace
from darts.spaces.darts_rnn import RNNSearchModel, language_model
from darts.spaces.darts_rnn.sampling import DartsRnnArchSpace
from darts.spaces.nb201 import Nb201Arch, Nb201ArchSpace, Nb201Network, Nb201SearchNetwork
from darts.spaces.registry import get_space
from darts.strategies.enas import (CHECKPOINT, EnasConfig, EnasSearch, reward_from_metrics,
                                   scoring_mode)
from darts.strategies.reinforce import Reinforce
from darts.training import ImageClassification


# -- a sampled path equals the standalone network of its genotype, with the same weights -------------------
def copy_weights(final: nn.Module, supernet: nn.Module, supernet_key) -> None:
    """Load every tensor of `final` from the supernet entry `supernet_key(name)` names. Entries the supernet
    lacks may only be affine BatchNorm parameters, which stay at their identity initialisation (1, 0), so
    they compute what the supernet's BatchNorm without affine parameters computes."""
    source = supernet.state_dict()
    state = final.state_dict()
    for name in state:
        key = supernet_key(name)
        if key in source:
            state[name] = source[key].clone()
        else:
            assert name.rsplit(".", 1)[-1] in ("weight", "bias"), name
            module = final.get_submodule(name.rsplit(".", 1)[0])
            assert isinstance(module, nn.BatchNorm2d) and module.affine, name
    final.load_state_dict(state)


def cnn_genotypes():
    space = DartsCnnArchSpace(PRIMITIVES)
    rng = random.Random(0)
    out = [space.sample_random(rng) for _ in range(3)]
    # ENAS may pick the same input twice: both edges then share one supernet edge (and its op's weights).
    d = space.to_decisions(out[0])
    d[0:4] = [1, 1, 3, 3]
    out.append(space.from_decisions(d))
    return out


@pytest.mark.parametrize("genotype", cnn_genotypes(), ids=lambda g: "cnn")
def test_cnn_path_equals_the_final_network_of_its_genotype(genotype):
    """NetworkCIFAR is the final network (another module, written independently). Two documented differences
    separate it from a supernet path: its BatchNorms are affine (identity at initialisation, so equal), and
    the supernet follows each pooling op with a BatchNorm of its own (DARTS search only); the test adds
    that BatchNorm to the final network's pooling ops, and everything else is the final network as built."""
    torch.manual_seed(0)
    supernet = SearchNetwork(C=4, num_classes=3, layers=3, in_channels=1).double()
    final = NetworkCIFAR(genotype, C=4, num_classes=3, layers=3, in_channels=1).double()
    for cell in final.cells:
        for m, (name, _) in enumerate(genotype.reduce if cell.reduction else genotype.normal):
            if "pool" in name:
                C = cell.preprocess1[1].out_channels
                cell.ops[m] = nn.Sequential(cell.ops[m], nn.BatchNorm2d(C, affine=False)).double()

    def supernet_key(name):
        parts = name.split(".")
        if parts[0] == "cells" and parts[2] == "ops":
            cell, m = int(parts[1]), int(parts[3])
            edges = genotype.reduce if supernet.cells[cell].reduction else genotype.normal
            op, j = edges[m]
            node = m // 2
            edge = sum(2 + i for i in range(node)) + j
            return ".".join(["cells", parts[1], "edges", str(edge), "_ops", str(PRIMITIVES.index(op))] + parts[4:])
        return name

    copy_weights(final, supernet, supernet_key)
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    got = supernet.forward_path(x, genotype)
    expected, _ = final(x)
    assert got.shape == (4, 3)
    assert torch.allclose(got, expected, atol=1e-10, rtol=0)
    with torch.no_grad():  # the alphas play no part in a path
        for a in supernet.alphas():
            a.normal_()
    assert torch.equal(supernet.forward_path(x, genotype), got)


@pytest.mark.parametrize("arch", [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
    "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # the output node receives nothing
])
def test_nb201_path_equals_the_final_network_of_its_cell(arch):
    """The final network shares the cell code; copying the supernet's op weights into it must reproduce the
    path exactly ('none' edges are dropped there and run as zeros on the path)."""
    torch.manual_seed(0)
    arch = Nb201Arch.from_string(arch)
    supernet = Nb201SearchNetwork(C=4, N=1, num_classes=3, in_channels=1).double()
    final = Nb201Network(arch, C=4, N=1, num_classes=3, in_channels=1).double()

    def supernet_key(name):
        parts = name.split(".")
        if parts[0] == "layers" and len(parts) > 3 and parts[2] == "edges":
            op = supernet.primitives.index(arch.ops[int(parts[3])])
            return ".".join(parts[:4] + ["_ops", str(op)] + parts[4:])
        return name

    copy_weights(final, supernet, supernet_key)
    x = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    assert torch.allclose(supernet.forward_path(x, arch), final(x), atol=1e-10, rtol=0)


def test_rnn_path_equals_the_final_language_model_of_its_genotype():
    """Same parameter names in both models; the supernet's extra search BatchNorm is not on a path."""
    torch.manual_seed(0)
    steps, ntok = 4, 11
    genotype = RecurrentGenotype([("relu", 0), ("tanh", 1), ("identity", 1), ("sigmoid", 2)], [1, 2, 3, 4])
    supernet = RNNSearchModel(ntok, 6, 6, 6, steps=steps).double()
    final = language_model(genotype, ntok, 6, 6, 6).double()
    missing, unexpected = final.load_state_dict(supernet.state_dict(), strict=False)
    assert not missing and all(k.startswith("cell.bn.") or k == "alphas_recurrent" for k in unexpected)
    tokens = torch.randint(0, ntok, (5, 3))
    hidden = torch.randn(3, 6, dtype=torch.float64)
    for training in (False, True):  # with dropout, both draw the same masks from the same seed
        supernet.train(training), final.train(training)
        torch.manual_seed(1)
        got = supernet.forward_path(tokens, hidden, genotype)
        torch.manual_seed(1)
        expected = final(tokens, hidden)
        assert torch.allclose(got.logits, expected.logits, atol=1e-10, rtol=0)
        assert torch.allclose(got.hidden, expected.hidden, atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match="nodes"):
        supernet.forward_path(tokens, hidden, RecurrentGenotype([("relu", 0)], [1]))


def test_space_adapters_round_trip_and_match_the_supernets():
    rnn = DartsRnnArchSpace(steps=4)
    assert rnn.decisions() == [1, 4, 2, 4, 3, 4, 4, 4]
    rng = random.Random(0)
    for _ in range(20):
        g = rnn.sample_random(rng)
        g.validate()
        assert rnn.from_decisions(rnn.to_decisions(g)) == g and rnn.decode(rnn.encode(g)) == g
        m = rnn.mutate(g, rng)
        assert sum(a != b for a, b in zip(rnn.to_decisions(m), rnn.to_decisions(g))) == 1
    darts = get_space("darts")
    assert isinstance(darts.arch_space(darts.resolve({})), DartsCnnArchSpace)
    assert get_space("darts_rnn").arch_space({}).decisions() == DartsRnnArchSpace(steps=8).decisions()
    with pytest.raises(ValueError, match="edges"):
        SearchNetwork(C=4, num_classes=3, layers=3).forward_path(torch.zeros(1, 3, 8, 8), Genotype(
            [("skip_connect", 0)] * 2, [2], [("skip_connect", 0)] * 2, [2]))


def test_scoring_mode_uses_batch_statistics_and_leaves_running_statistics_alone():
    bn = nn.Sequential(nn.BatchNorm2d(2), nn.Dropout(0.5))
    x = 3 + torch.randn(8, 2, 4, 4)
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    with scoring_mode(bn):
        y = bn(x)
        assert not bn[1].training
    assert bn.training and bn[0].track_running_stats
    assert all(torch.equal(before[k], v) for k, v in bn.state_dict().items())
    assert abs(float(y.detach().mean())) < 1e-5  # normalised by the batch's own mean (the running mean is 0)


def test_rewards():
    assert reward_from_metrics({"loss": 0.3, "acc": 87.5}) == 0.875
    assert reward_from_metrics({"loss": 4.0, "ppl": 54.6}) == pytest.approx(80 / torch.e ** 4)
    assert reward_from_metrics({"loss": 50.0, "ppl": 1e300}) == pytest.approx(80 / torch.e ** 10)  # capped


# -- the controller's REINFORCE step against a hand-computed gradient ---------------------------------------
class TwoDecisions:
    name = "two"

    def decisions(self):
        return [3, 2]

    def from_decisions(self, d):
        return tuple(d)

    def to_decisions(self, arch):
        return list(arch)


def test_reinforce_gradient_matches_the_hand_computed_one():
    """loss = -(R - b) log p(m) - w H; with logits l = c tanh(z / T), z = W h + bias, one decision's
    classifier gets dL/dz_j = [-(R - b)(1[j = d] - p_j) + w p_j (log p_j + H)] * c (1 - tanh^2(z_j / T)) / T,
    where h is the LSTM output at that decision (teacher-forced on the earlier decisions)."""
    T, c, w, R, b, decay = 5.0, 2.5, 0.1, 0.8, 0.3, 0.99
    strategy = Reinforce(TwoDecisions(), seed=3, learning_rate=1e-3, baseline_decay=decay, entropy_weight=w,
                         hidden_size=4, temperature=T, tanh_constant=c)
    ctrl = strategy.controller
    with torch.no_grad():  # larger weights than the default init, so tanh and the temperature matter
        for p in ctrl.parameters():
            p.uniform_(-2, 2)
    strategy.baseline = b
    arch = (2, 1)
    with torch.no_grad():
        h0, state = ctrl.lstm(ctrl.start)
        h1, _ = ctrl.lstm(ctrl.embeddings[0](torch.tensor([arch[0]])), state)
        expected = []
        for k, h in enumerate((h0[0], h1[0])):
            W, bias = ctrl.classifiers[k].weight, ctrl.classifiers[k].bias
            z = W @ h + bias
            p = torch.softmax(c * torch.tanh(z / T), dim=0)
            H = -(p * p.log()).sum()
            onehot = torch.zeros_like(p)
            onehot[arch[k]] = 1
            dl = -(R - b) * (onehot - p) + w * p * (p.log() + H)
            dz = dl * c * (1 - torch.tanh(z / T) ** 2) / T
            expected.append((torch.outer(dz, h), dz))
    strategy.tell(arch, R)
    for k, (dW, dbias) in enumerate(expected):
        assert torch.allclose(ctrl.classifiers[k].weight.grad, dW, atol=1e-6, rtol=1e-5)
        assert torch.allclose(ctrl.classifiers[k].bias.grad, dbias, atol=1e-6, rtol=1e-5)
    assert strategy.baseline == pytest.approx(decay * b + (1 - decay) * R)


# -- resume equals an uninterrupted run ------------------------------------------------------------------------
def tiny_search(folder, epochs=2, seed=0):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (48, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 3, (48,), generator=g)
    train = BatchStream(x[:24], y[:24], 8, (0.5,), (0.25,), seed=1)
    val = BatchStream(x[24:], y[24:], 8, (0.5,), (0.25,), seed=2)
    model = Nb201SearchNetwork(C=4, N=1, num_classes=3, in_channels=1)
    config = EnasConfig(epochs=epochs, controller_steps=6, derive_samples=5, controller_hidden=16, progress=False)
    return EnasSearch(model, Nb201ArchSpace(), ImageClassification(), train, val, config, RunDir(folder))


def lines(path, drop=("time", "seconds")):
    rows = [json.loads(s) for s in path.read_text().splitlines()]
    for r in filter(lambda r: isinstance(r, dict), rows):
        for d in (r, r.get("metrics", {})):
            for k in drop:
                d.pop(k, None)
    return rows


def test_resumed_search_equals_uninterrupted(tmp_path):
    a = tiny_search(tmp_path / "a")
    arch_a = a.run()
    first = tiny_search(tmp_path / "b")
    first.train_epoch()  # the run is killed after epoch 0 ...
    first.run_dir.append_jsonl("controller.jsonl", {"epoch": 1, "partial": True})  # ... while writing epoch 1
    first.run_dir.close()
    b = tiny_search(tmp_path / "b", seed=123)  # a fresh process: other initial weights, until resumed
    b.resume(tmp_path / "b" / CHECKPOINT)
    arch_b = b.run()
    assert arch_a == arch_b
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    for k, v in a.controller.controller.state_dict().items():
        assert torch.equal(v, b.controller.controller.state_dict()[k]), k
    for name in ("controller.jsonl", "history.jsonl"):
        assert lines(tmp_path / "a" / name) == lines(tmp_path / "b" / name), name
    for name in ("derive.json", "genotype.json"):
        assert json.loads((tmp_path / "b" / name).read_text()) == json.loads((tmp_path / "a" / name).read_text())
    assert json.loads((tmp_path / "a" / "genotype.json").read_text())["space"] == "nb201"
    assert len(lines(tmp_path / "a" / "history.jsonl")) == 2 * 6
    a.run_dir.close(), b.run_dir.close()


def test_resume_refuses_another_space(tmp_path):
    s = tiny_search(tmp_path)
    s.train_epoch()
    other = SearchNetwork(C=4, num_classes=3, layers=3, in_channels=1)
    t = EnasSearch(other, DartsCnnArchSpace(), ImageClassification(), s.train_stream, s.val_stream,
                   EnasConfig(progress=False))
    with pytest.raises(UserError, match="not an ENAS search of the darts space"):
        t.resume(tmp_path / CHECKPOINT)
    with pytest.raises(UserError, match="controller_train_steps"):
        EnasConfig(controller_steps=0).check()
    s.run_dir.close()


# -- a short real search on digits deriving a cell ------------------------------------------------------------
def test_enas_on_digits_derives_a_retrainable_cell(tmp_path):
    """Three epochs on half of digits' training images (the other half gives rewards). The candidate set
    keeps the convolutions: paths made mostly of weightless pools and skips make (near-uniformly) sampled
    weight sharing learn several times slower on 8x8 images; the note has a run with every op."""
    torch.manual_seed(0)
    data = load_image_dataset("digits")
    n = len(data.train_x) // 2
    train = BatchStream(data.train_x[:n], data.train_y[:n], 64, data.mean, data.std, seed=1)
    val = BatchStream(data.train_x[n:], data.train_y[n:], 64, data.mean, data.std, seed=2)
    ops = ["none", "sep_conv_3x3", "dil_conv_3x3"]
    model = SearchNetwork(C=8, num_classes=10, layers=3, in_channels=1, primitives=ops)
    config = EnasConfig(epochs=3, learning_rate=0.1, controller_steps=10, derive_samples=10, progress=False)
    run = RunDir(tmp_path)
    genotype = EnasSearch(model, DartsCnnArchSpace(ops), ImageClassification(), train, val, config, run).run()
    run.close()
    saved = genotype_from_dict(json.loads((tmp_path / "genotype.json").read_text()))
    assert saved == genotype and len(saved.normal) == len(saved.reduce) == 8
    derive = json.loads((tmp_path / "derive.json").read_text())
    assert derive["reward"] == max(s["reward"] for s in derive["samples"])
    assert genotype_from_dict(derive["best"]) == genotype
    epochs = lines(tmp_path / "controller.jsonl")
    assert [e["epoch"] for e in epochs] == [0, 1, 2]
    assert epochs[-1]["metrics"]["valid_acc"] > 30  # ten classes: chance is 10%; the shared weights learn
    assert all(op in ops for op, _ in genotype.normal + genotype.reduce)
    NetworkCIFAR(genotype, C=4, num_classes=10, layers=3, in_channels=1)(torch.zeros(2, 1, 8, 8))
