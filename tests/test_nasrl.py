"""Zoph & Le's two spaces (nasrl_cnn, nasrl_rnn), the anchor-point controller and REINFORCE's batch of m."""
import copy
import io
import json
import math
import random

import pytest
import torch

from darts.errors import UserError
from darts.spaces.nasrl_cnn import ConvNet, NasRlCnnArchSpace
from darts.spaces.nasrl_rnn import NasRlRnnArchSpace, TreeCell, genotype_from_dict
from darts.evaluators.language_model import LmEvaluator
from darts.spaces.registry import DataShape, genotype_from_record, genotype_record, get_space
from darts.strategies.anchor_controller import AnchorController, AnchorHead, bernoulli_log_prob
from darts.strategies.base import run_strategy
from darts.strategies.reinforce import Reinforce


def hand_head() -> AnchorHead:
    """W_prev = W_curr = I (2x2), v = (1, 2)."""
    head = AnchorHead(2)
    with torch.no_grad():
        head.w_prev.weight.copy_(torch.eye(2))
        head.w_curr.weight.copy_(torch.eye(2))
        head.v.weight.copy_(torch.tensor([[1.0, 2.0]]))
    return head


def test_anchor_probabilities_match_the_hand_derived_case():
    # h_0 = (1, 0), h_1 = (0, 0), current h_2 = (0, 1):
    # logit_0 = v . tanh((1, 1)) = 3 tanh 1,  logit_1 = v . tanh((0, 1)) = 2 tanh 1
    logits = hand_head()(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([0.0, 1.0]))
    t = math.tanh(1.0)
    expected = [1 / (1 + math.exp(-3 * t)), 1 / (1 + math.exp(-2 * t))]
    assert torch.sigmoid(logits).tolist() == pytest.approx(expected, abs=1e-6)


def test_policy_gradient_of_skip_decisions_matches_the_hand_derived_case():
    # Links (1, 0) with advantage A: d/dv [A log P] = A [(1 - p_0) tanh(u_0) - p_1 tanh(u_1)],
    # u_0 = (1, 1), u_1 = (0, 1) as above.
    head = hand_head()
    logits = head(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([0.0, 1.0]))
    advantage = 2.5
    (advantage * bernoulli_log_prob(logits, torch.tensor([1.0, 0.0])).sum()).backward()
    t = math.tanh(1.0)
    p0, p1 = 1 / (1 + math.exp(-3 * t)), 1 / (1 + math.exp(-2 * t))
    expected = [advantage * ((1 - p0) * t - p1 * 0.0), advantage * ((1 - p0) * t - p1 * t)]
    assert head.v.weight.grad[0].tolist() == pytest.approx(expected, abs=1e-6)


def test_controller_scores_what_it_samples_and_counts_every_decision():
    space = NasRlCnnArchSpace(layers=4, strides=True)
    controller = AnchorController(*space.anchor_layout(), 16, 2)
    assert controller.num_decisions() == len(space.decisions())
    gen = torch.Generator().manual_seed(0)
    sample = controller(generator=gen)
    scored = controller(sample.decisions)
    assert scored.decisions == sample.decisions
    assert float(scored.log_prob.detach()) == pytest.approx(float(sample.log_prob.detach()), abs=1e-6)
    assert all(0 <= d < n for d, n in zip(sample.decisions, space.decisions()))
    greedy = controller(greedy=True)
    assert len(greedy.decisions) == len(space.decisions())
    with pytest.raises(ValueError):
        controller([0] * (len(space.decisions()) - 1))


def toy_reward(genotype) -> float:
    """A deterministic stand-in for accuracy: more filters and more skip connections score higher."""
    return sum(l.filters for l in genotype.layers) / 10 + sum(len(l.inputs) for l in genotype.layers)


def test_reinforce_batch_step_is_the_averaged_policy_gradient():
    space = NasRlCnnArchSpace(layers=3)
    strategy = Reinforce(space, seed=1, hidden_size=8, num_layers=2, entropy_weight=0.0, batch_size=2)
    archs = [strategy.ask(), strategy.ask()]
    reference = copy.deepcopy(strategy.controller)
    strategy.tell(archs[0], 3.0)
    assert all(p.grad is None for p in strategy.controller.parameters())  # no step before m arrive
    strategy.tell(archs[1], 5.0)
    # b = 3 (the first reward), so (1/2) [(3-3) grad log p_1 + (5-3) grad log p_2] = grad log p_2
    log_p = reference(space.to_decisions(archs[1])).log_prob
    expected = torch.autograd.grad(-log_p, list(reference.parameters()))
    for p, g in zip(strategy.controller.parameters(), expected):
        assert torch.allclose(p.grad, g, atol=1e-6)
    assert strategy.baseline == pytest.approx(0.9 * 3.0 + 0.1 * 5.0)
    assert strategy.pending == []


def test_reinforce_batch_of_one_is_the_old_update_bit_for_bit():
    space = NasRlCnnArchSpace(layers=3)
    strategy = Reinforce(space, seed=2, hidden_size=8, num_layers=2)
    manual = copy.deepcopy(strategy)
    for reward in (1.0, 4.0, 2.0):
        arch = strategy.ask()
        strategy.tell(arch, reward)
        manual.ask()
        if manual.baseline is None:  # the update before batch_size existed
            manual.baseline = reward
        sample = manual.controller(space.to_decisions(arch))
        loss = -(reward - manual.baseline) * sample.log_prob - manual.entropy_weight * sample.entropy
        manual.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        manual.optimizer.step()
        manual.baseline = 0.9 * manual.baseline + (1 - 0.9) * reward
    for a, b in zip(strategy.controller.parameters(), manual.controller.parameters()):
        assert torch.equal(a, b)
    assert strategy.baseline == manual.baseline


class ToyEvaluator:
    name = "toy"

    def evaluate(self, arch):
        return toy_reward(arch)


def test_controller_search_resumes_exactly(tmp_path):
    space = NasRlCnnArchSpace(layers=3, strides=True)
    make = lambda: Reinforce(space, seed=3, hidden_size=8, num_layers=2, batch_size=3)  # noqa: E731
    full = run_strategy(make(), ToyEvaluator(), 8, progress=False)
    run_strategy(make(), ToyEvaluator(), 4, history_path=tmp_path / "h.jsonl", progress=False)  # 1 pending
    resumed = run_strategy(make(), ToyEvaluator(), 8, history_path=tmp_path / "h.jsonl", progress=False)
    assert [r["arch"] for r in resumed.records] == [r["arch"] for r in full.records]
    # the state itself survives torch.save / torch.load(weights_only=True)
    strategy = make()
    for _ in range(4):
        strategy.tell(strategy.ask(), 1.0)
    buffer = io.BytesIO()
    torch.save(strategy.state_dict(), buffer)
    buffer.seek(0)
    restored = make()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert restored.pending[0][0] == strategy.pending[0][0]
    for _ in range(3):
        arch = strategy.ask()
        assert restored.ask() == arch
        strategy.tell(arch, 2.0)
        restored.tell(arch, 2.0)
    for a, b in zip(strategy.controller.parameters(), restored.controller.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("seed", range(6))
def test_every_sampled_network_builds_and_runs_on_odd_sizes(seed):
    space = NasRlCnnArchSpace(layers=5, strides=True)
    genotype = space.sample_random(random.Random(seed))
    net = ConvNet(genotype, in_channels=3, num_classes=7, width_divisor=8)
    for h, w in ((9, 7), (5, 11), (3, 3)):
        out = net(torch.randn(2, 3, h, w))
        assert out.shape == (2, 7) and torch.isfinite(out).all()
    assert space.from_decisions(space.to_decisions(genotype)) == genotype
    child = space.mutate(genotype, random.Random(seed))
    changed = sum(a != b for a, b in zip(space.to_decisions(child), space.to_decisions(genotype)))
    assert changed == 1


def test_layers_without_inputs_read_the_image_and_sinks_feed_the_classifier():
    record = {"space": "nasrl_cnn", "layers": [
        {"kernel_h": 3, "kernel_w": 5, "filters": 24, "stride": 2, "inputs": []},
        {"kernel_h": 1, "kernel_w": 1, "filters": 36, "stride": 1, "inputs": []},   # no inputs: the image
        {"kernel_h": 7, "kernel_w": 3, "filters": 48, "stride": 3, "inputs": [0, 1]},  # sizes differ: padded
        {"kernel_h": 5, "kernel_w": 5, "filters": 64, "stride": 1, "inputs": [0]}]}  # 2, 3: no outputs
    genotype = genotype_from_record(record)
    assert genotype.sinks() == [2, 3]
    net = get_space("nasrl_cnn").build_network(genotype, {"width_divisor": 4}, DataShape(1, 13, 13, 10))
    assert net.classifier.in_features == 48 // 4 + 64 // 4
    assert net.convs[1][0].in_channels == 1 and net.convs[2][0].in_channels == 24 // 4 + 36 // 4
    assert net(torch.randn(2, 1, 13, 13)).shape == (2, 10)


def lstm_tree() -> dict:
    """LSTM as a base-8 tree. Leaves (all 'add', so leaf k = W_k x + b + U_k h + d): 0 i, 1 g, 2 f, 4 o;
    leaves 3, 5, 6, 7 get zero weights and identity (they output 0). c_{t-1} is injected into leaf 2 by
    multiplication: f * c. Node 8 = i * g, 9 = f*c + 0, 12 = i*g + f*c = c_t (cell_out) with tanh,
    10 = o + 0, 11 = 0 + 0, 13 = o, root 14 = tanh(c_t) * o = h_t."""
    nodes = [["add", "sigmoid"], ["add", "tanh"], ["add", "sigmoid"], ["add", "identity"],
             ["add", "sigmoid"], ["add", "identity"], ["add", "identity"], ["add", "identity"],
             ["mult", "identity"], ["add", "identity"], ["add", "identity"], ["add", "identity"],
             ["add", "tanh"], ["add", "identity"], ["mult", "identity"]]
    return {"nodes": nodes, "inject": ["mult", "identity"], "cell_out": 12, "cell_in": 2}


def test_lstm_is_a_cell_of_the_space():
    torch.manual_seed(0)
    size = 6
    lstm = torch.nn.LSTMCell(size, size)
    cell = TreeCell(genotype_from_dict(lstm_tree()), size)
    gates = dict(zip("ifgo", range(4)))   # torch's row blocks: input, forget, cell candidate, output
    leaf_gate = {0: "i", 1: "g", 2: "f", 4: "o"}
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        for leaf, gate in leaf_gate.items():
            rows, out = slice(gates[gate] * size, (gates[gate] + 1) * size), slice(leaf * size, (leaf + 1) * size)
            cell.w_x.weight[out] = lstm.weight_ih[rows]
            cell.w_x.bias[out] = lstm.bias_ih[rows]
            cell.w_h.weight[out] = lstm.weight_hh[rows]
            cell.w_h.bias[out] = lstm.bias_hh[rows]
    x = torch.randn(5, 3, size)
    h, c = torch.randn(3, size), torch.randn(3, size)
    outputs, state = cell(x, torch.cat([h, c], -1))
    for t in range(5):
        h, c = lstm(x[t], (h, c))
        assert torch.allclose(outputs[t], h, atol=1e-6)
    assert torch.allclose(state, torch.cat([h, c], -1), atol=1e-6)


def test_paper_walkthrough_cell_base_2():
    """Section 3.4's example: a0 = tanh(W1 x + W2 h) with c injected as relu(a0 + c), a1 = relu(W3 x * W4 h),
    h_t = sigmoid(a0_new * a1), c_t = W3 x * W4 h."""
    g = genotype_from_dict({"nodes": [["add", "tanh"], ["mult", "relu"], ["mult", "sigmoid"]],
                            "inject": ["add", "relu"], "cell_out": 1, "cell_in": 0})
    cell = TreeCell(g, 4)
    x, h, c = torch.randn(2, 4), torch.randn(2, 4), torch.randn(2, 4)
    xs, hs = cell.w_x(x).chunk(2, -1), cell.w_h(h).chunk(2, -1)
    h_new, c_new = cell.step(cell.w_x(x), h, c)
    a0 = torch.relu(torch.tanh(xs[0] + hs[0]) + c)
    assert torch.allclose(c_new, xs[1] * hs[1])
    assert torch.allclose(h_new, torch.sigmoid(a0 * torch.relu(xs[1] * hs[1])))


@pytest.mark.parametrize("leaves, extended", [(2, False), (4, True), (8, False)])
def test_sampled_cells_run_in_the_language_model(leaves, extended):
    space = get_space("nasrl_rnn")
    opts = space.resolve({"leaves": leaves, "extended": extended, "nhid": 8})
    arch_space = space.arch_space(opts)
    genotype = arch_space.sample_random(random.Random(leaves))
    assert arch_space.from_decisions(arch_space.to_decisions(genotype)) == genotype
    model = space.build_network(genotype, opts, DataShape(ntokens=30))
    out = model(torch.randint(0, 30, (4, 3)))
    assert out.logits.shape == (4, 3, 30) and out.hidden.shape == (3, 16)


def test_lm_evaluator_is_deterministic_per_arch():
    space = get_space("nasrl_rnn")
    opts = space.resolve({"nhid": 8, "dropout": 0.0, "dropouti": 0.0})
    tokens = torch.randint(0, 25, (2000,), generator=torch.Generator().manual_seed(0))
    evaluator = LmEvaluator(lambda g: space.build_network(g, opts, DataShape(ntokens=25)), tokens[:1500],
                            tokens[1500:], train_batches=3, valid_batches=2, batch_size=4, bptt=8,
                            learning_rate=1.0, arch_key=lambda g: json.dumps(g.to_dict()))
    genotype = NasRlRnnArchSpace(2).sample_random(random.Random(1))
    reward = evaluator.evaluate(genotype)
    assert reward == evaluator.evaluate(genotype)
    assert reward == pytest.approx(80.0 / evaluator.perplexity(genotype))


@pytest.mark.parametrize("name, record", [
    ("nasrl_cnn", {"layers": [{"kernel_h": 3, "kernel_w": 7, "filters": 36, "stride": 2, "inputs": []},
                              {"kernel_h": 5, "kernel_w": 1, "filters": 64, "stride": 1, "inputs": [0]}]}),
    ("nasrl_rnn", lstm_tree()),
])
def test_genotype_json_round_trip_and_diagram(name, record):
    genotype = genotype_from_record({"space": name, **record})
    text = json.dumps(genotype_record(genotype))
    assert genotype_from_record(json.loads(text)) == genotype
    assert json.loads(text) == {"space": name, **record}
    (part, graph), = get_space(name).diagrams(genotype).items()
    assert "->" in graph.source


@pytest.mark.parametrize("name, record", [
    ("nasrl_cnn", {"layers": [{"kernel_h": 2, "kernel_w": 3, "filters": 8, "stride": 1, "inputs": []}]}),
    ("nasrl_cnn", {"layers": [{"kernel_h": 3, "kernel_w": 3, "filters": 8, "stride": 1, "inputs": [0]}]}),
    ("nasrl_rnn", {"nodes": [["add", "tanh"]] * 5, "inject": ["add", "tanh"], "cell_out": 0, "cell_in": 0}),
    ("nasrl_rnn", {"nodes": [["add", "tanh"]] * 3, "inject": ["add", "cos"], "cell_out": 0, "cell_in": 0}),
    ("nasrl_rnn", {"nodes": [["add", "tanh"]] * 3, "inject": ["add", "tanh"], "cell_out": 3, "cell_in": 0}),
])
def test_invalid_genotypes_are_refused(name, record):
    with pytest.raises(UserError):
        genotype_from_record({"space": name, **record})


def test_anchor_controller_rejects_bad_link_decisions():
    controller = AnchorController(2, [2], hidden_size=4, num_layers=1)
    with pytest.raises(ValueError):
        controller([0, 0, 2])


def test_a_diverging_cell_gets_reward_zero():
    space = get_space("nasrl_rnn")
    opts = space.resolve({"nhid": 8, "dropout": 0.0, "dropouti": 0.0})
    genotype = genotype_from_dict({"nodes": [["mult", "identity"]] * 3, "inject": ["mult", "identity"],
                                   "cell_out": 2, "cell_in": 2})

    def exploding(g):
        model = space.build_network(g, opts, DataShape(ntokens=25))
        with torch.no_grad():
            model.cell.w_x.weight.mul_(1e6)
            model.cell.w_h.weight.mul_(1e6)
        return model

    tokens = torch.randint(0, 25, (2000,), generator=torch.Generator().manual_seed(0))
    evaluator = LmEvaluator(exploding, tokens[:1500], tokens[1500:], train_batches=2, valid_batches=2, batch_size=4,
                            bptt=8, arch_key=lambda g: json.dumps(g.to_dict()))
    assert evaluator.evaluate(genotype) == 0.0
