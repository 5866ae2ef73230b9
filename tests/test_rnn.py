"""The recurrent half: text reader and streams, the recurrent supernet and its hypergradient, the
discretizer, the language model's size, the search and final-training CLIs (resume, real PTB)."""
import copy
import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

import train_search
from darts.checkpoint import load_checkpoint
from darts.data.text import TextBatch, TextStream, batchify, read_corpus
from darts.errors import UserError
from darts.genotype import GenotypeError, RecurrentGenotype, parse_genotype
from darts.spaces.genotype_io import genotype_from_dict, load_genotype
from darts.cli.lm import main as main_lm
from darts.lm_training import LMSpec, LMTrainer, LMTrainingConfig, load_recurrent_genotype
from darts.runs import run_cli
from darts.search import DartsSearch
from darts.spaces.darts_rnn import RNN_PRIMITIVES, LanguageModel, RNNSearchModel, derive_recurrent_genotype
from darts.rnn_ops import highway
from darts.strategies.architect import Architect, frozen_batchnorm_stats
from darts.training import weight_step

TASK = LanguageModel(alpha=0.0, beta=0.0)
WORDS = "the cat dog sat ran on a mat log and big small".split()


def write_corpus(folder, n_lines=(60, 12, 12), seed=0):
    """A tiny corpus of random sentences over a 12-word vocabulary (every word occurs in train)."""
    g = torch.Generator().manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "valid", "test"), n_lines):
        lines = [" ".join(WORDS)] if split == "train" else []
        for _ in range(n):
            length = int(torch.randint(3, 9, (1,), generator=g))
            lines.append(" ".join(WORDS[int(i)] for i in torch.randint(0, len(WORDS), (length,), generator=g)))
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return folder


# -- text data ------------------------------------------------------------------------------------------------
def test_reader_builds_vocabulary_from_train_with_eos(tmp_path):
    (tmp_path / "train.txt").write_text(" a b a\n c\n")
    (tmp_path / "valid.txt").write_text("c a\n")
    (tmp_path / "test.txt").write_text("b\n\n")
    corpus = read_corpus(tmp_path)
    assert corpus.vocab == ["a", "b", "<eos>", "c"]
    assert corpus.train.tolist() == [0, 1, 0, 2, 3, 2]
    assert corpus.valid.tolist() == [3, 0, 2] and corpus.test.tolist() == [1, 2, 2]  # an empty line is one <eos>


@pytest.mark.parametrize("files,message", [
    ({"train.txt": "a b\n", "valid.txt": "a\nb zebra\n", "test.txt": "a\n"}, "valid.txt line 2: token 'zebra'"),
    ({"train.txt": "a b\n", "valid.txt": "a\n"}, "test.txt not found"),
    ({"train.txt": "  \n\n", "valid.txt": "a\n", "test.txt": "a\n"}, "train.txt is empty"),
])
def test_reader_errors_name_the_file(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(UserError, match=message):
        read_corpus(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        read_corpus(tmp_path / "nowhere")


def test_batchify_and_windows_follow_the_text():
    tokens = torch.arange(50)
    data = batchify(tokens, 4)
    assert data.shape == (12, 4) and data[:, 1].tolist() == list(range(12, 24))  # column b: b-th slice
    stream = TextStream(tokens, 4, 5, variable_length=True, seed=3)
    batches = list(stream.epoch())
    covered = sum(b.seq_len for b in batches)
    assert covered in (10, 11)  # as the original, a pass stops once fewer than 2 steps are left
    assert torch.equal(torch.cat([b.data for b in batches]), data[:covered])
    for b in batches:
        assert torch.equal(b.targets, b.data + 1) and b.lr_scale == b.seq_len / 5
    assert {b.seq_len for b in batches} <= {5, 2, 1}  # bptt, bptt / 2, the remainder
    evaluation = list(stream.evaluation_batches())
    assert [b.seq_len for b in evaluation] == [5, 5, 1]


def test_variable_lengths_are_seeded_and_jittered():
    lengths = lambda seed, std: [b.seq_len for b in TextStream(torch.arange(4000), 2, 35, variable_length=True,
                                                                 length_std=std, seed=seed).epoch()]
    assert lengths(1, 5.0) == lengths(1, 5.0) != lengths(2, 5.0)
    jittered = lengths(1, 5.0)[:-1]
    assert min(jittered) >= 5 and max(jittered) <= 55 and len(set(jittered)) > 5
    assert set(lengths(1, 0.0)[:-1]) <= {35, 17}


def test_stream_state_resumes_exactly_including_the_carried_state():
    stream = TextStream(torch.arange(300), 3, 4, variable_length=True, seed=5)
    for _ in range(7):
        b = stream.next()
        b.hidden_out = b.data.double().sum(0, keepdim=True).t()  # stands in for the model's final state
    state = copy.deepcopy(stream.state_dict())
    twin = TextStream(torch.arange(300), 3, 4, variable_length=True, seed=99)
    twin.load_state_dict(state)
    for _ in range(40):  # across the end of the text: a new pass restarts from a zero state
        a, b = stream.next(), twin.next()
        assert torch.equal(a.data, b.data) and a.lr_scale == b.lr_scale
        assert (a.hidden_in is None and b.hidden_in is None) or torch.equal(a.hidden_in, b.hidden_in)
        a.hidden_out = b.hidden_out = torch.full((3, 1), float(a.data.sum()))
    assert stream.batches_per_epoch() == twin.batches_per_epoch()


def test_the_last_pass_over_a_batch_hands_its_state_on():
    stream = TextStream(torch.arange(100), 2, 5)
    first = stream.next()
    assert first.hidden_in is None
    first.hidden_out = torch.ones(2, 3)
    first.hidden_out = torch.full((2, 3), 7.0)  # a later pass over the same batch wins
    assert torch.equal(stream.next().hidden_in, torch.full((2, 3), 7.0))


# -- the supernet ------------------------------------------------------------------------------------------
def tiny_supernet(seed=0, ntoken=7, nhid=4, dropouts=0.0):
    torch.manual_seed(seed)
    model = RNNSearchModel(ntoken, nhid, nhid, nhid, dropouts, dropouts, dropouts, dropouts, 0.0).double()
    with torch.no_grad():  # alphas away from uniform so the softmax Jacobian is not degenerate
        model.alphas_recurrent.normal_(0, 0.5)
    return model


def text_batch(g, ntoken=7, T=5, B=3, nhid=4):
    tokens = torch.randint(0, ntoken, (T + 1, B), generator=g)
    return TextBatch(tokens[:-1], tokens[1:], torch.randn(B, nhid, generator=g, dtype=torch.float64))


def test_search_cell_equals_the_papers_sum_over_edges_and_ops():
    model = tiny_supernet(dropouts=0.3).train()
    cell = model.cell
    g = torch.Generator().manual_seed(1)
    x_proj = torch.randn(3, 8, generator=g, dtype=torch.float64)
    h_prev = torch.randn(3, 4, generator=g, dtype=torch.float64)
    h_mask = torch.rand(3, 4, generator=g, dtype=torch.float64) * 2
    probs = F.softmax(model.alphas_recurrent, -1)
    with frozen_batchnorm_stats(model):
        got = cell.step(x_proj, h_prev, h_mask, probs)
        # reference: node i = BN(sum_j sum_{o != none} p_{j,o} highway(s_j; c_j, o(h_j)))
        acts = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda x: x}
        states, offset = [cell.bn(cell.init_state(x_proj, h_prev, h_mask))], 0
        for i in range(8):
            s = 0
            for j, s_j in enumerate(states):
                c, h = ((s_j * h_mask) @ cell.Ws[i]).chunk(2, -1)
                for k, name in enumerate(RNN_PRIMITIVES):
                    if name != "none":
                        s = s + probs[offset + j, k] * highway(s_j, c, acts[name](h))
            states.append(cell.bn(s))
            offset += i + 1
    torch.testing.assert_close(got, torch.stack(states[1:]).mean(0), rtol=1e-12, atol=1e-12)


def unrolled_autograd(model, opt, train, val, clip):
    """d/dalpha L_val(w - xi * (s * grad_w L_train(w, alpha) + wd * w), alpha), s = min(1, clip/||g||) held fixed."""
    names, weights = zip(*model.named_weights())
    xi, wd = opt.param_groups[0]["lr"], opt.param_groups[0]["weight_decay"]
    with frozen_batchnorm_stats(model):
        g = torch.autograd.grad(TASK.loss(model, train), weights, create_graph=True)
        norm = torch.sqrt(sum((gi.detach() ** 2).sum() for gi in g))
        s = min(1.0, clip / (float(norm) + 1e-6)) if clip else 1.0
        w_prime = [w - xi * (s * gi + wd * w) for w, gi in zip(weights, g)]
        loss = TASK.loss(lambda *x: functional_call(model, dict(zip(names, w_prime)), x), val)
        return torch.autograd.grad(loss, model.alphas()), s


def rel_err(a, b):
    a, b = torch.cat([t.flatten() for t in a]), torch.cat([t.flatten() for t in b])
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("hessian,radius,tol", [("exact", 0.01, 1e-8), ("finite-difference", 1e-6, 1e-4)])
@pytest.mark.parametrize("clip", [None, 0.05])
def test_second_order_matches_autograd_through_unrolled_step(hessian, radius, tol, clip):
    model = tiny_supernet()
    g = torch.Generator().manual_seed(2)
    train, val = text_batch(g), text_batch(g)
    opt = torch.optim.SGD(model.weights(), lr=2.0, weight_decay=5e-7)  # the recurrent search: no momentum
    expected, s = unrolled_autograd(model, opt, train, val, clip)
    assert (s < 0.5) == bool(clip)  # the clipped case really clips
    arch = Architect(model, TASK.loss, opt, unrolled=True, hessian=hessian, fd_radius=radius, grad_clip=clip)
    got, _ = arch.hypergradient(train, val)
    assert rel_err(got, expected) < tol
    first, _ = Architect(model, TASK.loss, opt).hypergradient(train, val)
    assert rel_err(first, expected) > 100 * tol  # genuinely second order


def test_clipped_virtual_step_equals_the_weight_step():
    model = tiny_supernet()
    batch = text_batch(torch.Generator().manual_seed(3))
    opt = torch.optim.SGD(model.weights(), lr=2.0, weight_decay=5e-7)
    arch = Architect(model, TASK.loss, opt, unrolled=True, grad_clip=0.05)
    grads = torch.autograd.grad(TASK.loss(model, batch), model.weights())
    clip = arch.clip_factor(grads)
    assert clip < 1
    virtual = arch.virtual_step([g * clip for g in grads])
    weight_step(model.weights(), TASK.loss(model, batch), opt, 0.05)
    for v, p in zip(virtual, model.weights()):
        torch.testing.assert_close(v, p.detach(), rtol=0, atol=1e-14)


def test_carried_states_follow_the_original_in_a_search_step():
    """Train batches hand on the weight step's state (not the architect's passes at w, w+, w-);
    validation batches hand on the architect's (first order: at w with the alphas before the step)."""
    model = tiny_supernet()
    tokens = torch.randint(0, 7, (400,), generator=torch.Generator().manual_seed(4))
    train, val = TextStream(tokens, 3, 5), TextStream(tokens.flip(0), 3, 5)
    opt = torch.optim.SGD(model.weights(), lr=2.0)
    for unrolled in (True, False):
        tb, vb = train.next(), val.next()
        before = copy.deepcopy(model)
        Architect(model, TASK.loss, opt, unrolled=unrolled).step(tb, vb)
        after = copy.deepcopy(model)
        loss, _ = TASK.loss_and_stats(model, tb)
        weight_step(model.weights(), loss, opt, 0.25)
        expect_train = after(tb.data, tb.hidden_in).hidden
        assert torch.equal(train.next().hidden_in, expect_train)
        if not unrolled:
            assert torch.equal(val.next().hidden_in, before(vb.data, vb.hidden_in).hidden)


def test_discretizer_keeps_one_strongest_edge_per_node_without_none():
    steps, n_ops = 3, len(RNN_PRIMITIVES)
    w = torch.full((6, n_ops), 0.1)
    w[0] = torch.tensor([0.9, 0.02, 0.03, 0.01, 0.04])   # node 1: its only edge; 'none' is ignored
    w[1, 2], w[2, 3] = 0.5, 0.6                          # node 2: edge from node 1 (sigmoid) beats node 0 (relu)
    w[3] = torch.tensor([0.95, 0, 0, 0, 0.05])           # node 3: 'none' on edge 0 does not count
    w[4, 1], w[5, 4] = 0.3, 0.3                          # tie between inputs 1 and 2: the lower index
    g = derive_recurrent_genotype(w, RNN_PRIMITIVES, steps)
    assert g.recurrent == [("identity", 0), ("sigmoid", 1), ("tanh", 1)]
    assert g.concat == [1, 2, 3]


def test_genotypes_round_trip_and_match_the_paper():
    model = tiny_supernet()
    g = model.genotype()
    assert isinstance(g, RecurrentGenotype) and len(g.recurrent) == 8
    assert genotype_from_dict(json.loads(json.dumps(g.to_dict()))) == g
    assert set(model.alpha_summary()) == {"primitives", "recurrent"} and len(model.alpha_summary()["recurrent"]) == 36
    paper_v2 = ("DARTS_V2 = Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), "
                "('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))")
    paper_v1 = ("Genotype(recurrent=[('relu', 0), ('relu', 1), ('tanh', 2), ('relu', 3), ('relu', 4), "
                "('identity', 1), ('relu', 5), ('relu', 1)], concat=range(1, 9))")
    assert load_genotype("DARTS_V2_RNN") == parse_genotype(paper_v2) == load_recurrent_genotype("DARTS")
    assert load_genotype("DARTS_V1_RNN") == parse_genotype(paper_v1) == load_recurrent_genotype("DARTS_V1")
    with pytest.raises(GenotypeError, match="convolutional"):
        load_recurrent_genotype("NASNet")


def test_summary_prints_the_original_parameter_count(capsys):
    """22,960,000 for DARTS_V2 at 850 units on PTB: the original README's '22.960MB params'."""
    main_lm(["--summary", "--arch", "DARTS_V2"])
    assert "Model total parameters: 22960000" in capsys.readouterr().out
    assert train_search.main(["--dataset", "ptb", "--summary"]) is None
    assert "4,810,000 weights" in capsys.readouterr().out  # the search supernet at 300 units


def test_lm_switches_to_averaged_sgd_when_validation_stops_improving(tmp_path, monkeypatch):
    corpus = read_corpus(write_corpus(tmp_path / "c"))
    spec = LMSpec(load_genotype("DARTS_V2_RNN").to_dict(), corpus.ntokens, emsize=4, nhid=4, nhidlast=4)
    torch.manual_seed(0)
    model = spec.build()
    scripted = iter([5.0, 4.0, 4.5, 4.6, 4.7, 4.8])
    seen = []
    def fake_evaluate(model, task, batches):
        seen.append([p.detach().clone() for p in model.parameters()])
        return {"loss": next(scripted), "ppl": 1.0}
    monkeypatch.setattr("darts.lm_training.evaluate", fake_evaluate)
    trainer = LMTrainer(model, spec, LanguageModel(), TextStream(corpus.train, 4, 5, variable_length=True),
                        TextStream(corpus.valid, 2, 5), LMTrainingConfig(epochs=6, nonmono=2, progress=False))
    kinds = []
    for _ in range(6):
        trainer.train_epoch()
        kinds.append(type(trainer.optimizer).__name__)
    # losses 5, 4, 4.5, 4.6 keep SGD; 4.7 is worse than min(5, 4) from more than 2 epochs ago: switch
    assert kinds == ["SGD"] * 4 + ["ASGD"] * 2
    ax = [trainer.optimizer.state[p]["ax"] for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(seen[-1], ax))  # validation saw the averaged weights
    assert not all(torch.equal(a, p) for a, p in zip(ax, model.parameters()))  # and the weights came back


# -- the CLIs ------------------------------------------------------------------------------------------------
TINY_TEXT = ["--dataset", "ptb", "--emsize", "6", "--nhid", "6", "--nhidlast", "6", "--batch_size", "4",
             "--bptt", "6", "--no_progress", "--report_freq", "1000"]


def test_search_resume_equals_uninterrupted(tmp_path, monkeypatch):
    data = write_corpus(tmp_path / "corpus")
    argv = TINY_TEXT + ["--data", str(data), "--epochs", "2", "--max_batches", "3", "--unrolled", "--no_plots"]
    assert run_cli(train_search.main, argv + ["--save", str(tmp_path / "full")]) == 0
    original = DartsSearch.train_epoch
    def dies_in_second_epoch(self):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return original(self)
    monkeypatch.setattr(DartsSearch, "train_epoch", dies_in_second_epoch)
    assert run_cli(train_search.main, argv + ["--save", str(tmp_path / "cut")]) == 130
    monkeypatch.setattr(DartsSearch, "train_epoch", original)
    assert run_cli(train_search.main, ["--resume", str(tmp_path / "cut"), "--no_progress"]) == 0
    full, cut = (load_checkpoint(tmp_path / d / "checkpoint.pt") for d in ("full", "cut"))
    for k, v in full["model"].items():
        assert torch.equal(v, cut["model"][k]), k
    rows = [[json.loads(l) for l in (tmp_path / d / "alphas.jsonl").read_text().splitlines()] for d in ("full", "cut")]
    assert [r["recurrent"] for r in rows[0]] == [r["recurrent"] for r in rows[1]] and len(rows[1]) == 2
    assert [r["metrics"]["valid_ppl"] for r in rows[0]] == [r["metrics"]["valid_ppl"] for r in rows[1]]
    genotype = json.loads((tmp_path / "cut" / "genotype.json").read_text())
    assert set(genotype) == {"space", "recurrent", "concat"} and genotype["space"] == "darts_rnn"
    assert len(genotype["recurrent"]) == 8
    assert json.loads((tmp_path / "cut" / "args.json").read_text())["learning_rate"] == 20.0  # text defaults


def test_final_training_resume_equals_uninterrupted(tmp_path, monkeypatch):
    data = write_corpus(tmp_path / "corpus")
    argv = TINY_TEXT[2:] + [
        "--data", str(data), "--arch", "DARTS_V1", "--epochs", "3", "--max_batches", "5", "--nonmono", "1"]
    assert run_cli(main_lm, argv + ["--save", str(tmp_path / "full")]) == 0
    original = LMTrainer.train_epoch
    def dies_in_second_epoch(self):
        if self.epoch == 1:
            raise KeyboardInterrupt  # Ctrl-C: the original stops, tests the best model; we keep it resumable
        return original(self)
    monkeypatch.setattr(LMTrainer, "train_epoch", dies_in_second_epoch)
    assert run_cli(main_lm, argv + ["--save", str(tmp_path / "cut")]) == 0
    assert json.loads((tmp_path / "cut" / "results.json").read_text())["epochs"] == 1
    monkeypatch.setattr(LMTrainer, "train_epoch", original)
    assert run_cli(main_lm, ["--resume", str(tmp_path / "cut"), "--no_progress"]) == 0
    full, cut = (load_checkpoint(tmp_path / d / "checkpoint.pt") for d in ("full", "cut"))
    assert full["optimizer_kind"] == cut["optimizer_kind"]
    for k, v in full["model"].items():
        assert torch.equal(v, cut["model"][k]), k
    a, b = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("full", "cut"))
    assert a == b and a["epochs"] == 3 and math.isfinite(a["test_ppl"])


@pytest.mark.parametrize("argv,message", [
    (["--emsize", "8"], "must be equal"),
    (["--dropouth", "1.5"], "--dropouth 1.5"),
    (["--data", "/nonexistent/corpus"], "does not exist"),
    (["--small_batch_size", "2"], "not supported"),
])
def test_bad_text_input_is_one_line_error(tmp_path, argv, message, capsys):
    data = write_corpus(tmp_path / "corpus")
    base = ["--data", str(data), "--epochs", "1", "--max_batches", "1", "--save", str(tmp_path / "o")]
    for main, extra in ((train_search.main, TINY_TEXT), (main_lm, TINY_TEXT[2:])):
        assert run_cli(main, extra + base + argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1 and err.startswith("error: ")


def test_arch_must_be_recurrent(tmp_path, capsys):
    data = write_corpus(tmp_path / "corpus")
    assert run_cli(main_lm, TINY_TEXT[2:] + ["--data", str(data), "--arch", "AmoebaNet", "--save",
                                            str(tmp_path / "o")]) == 2
    assert "convolutional genotype" in capsys.readouterr().err


# -- real Penn Treebank -------------------------------------------------------------------------------------
@pytest.fixture
def ptb(shared_file):
    return shared_file("ptb/train.txt").parent


SMALL = ["--emsize", "32", "--nhid", "32", "--nhidlast", "32", "--batch_size", "32", "--bptt", "20",
         "--no_progress", "--report_freq", "1000"]


@pytest.mark.slow
def test_real_ptb_short_search_writes_a_recurrent_genotype(ptb, tmp_path):
    out = tmp_path / "search"
    argv = ["--dataset", "ptb", "--data", str(ptb), "--epochs", "1", "--max_batches", "40", "--save", str(out),
            "--dropout", "0.1", "--dropouth", "0.1", "--dropoutx", "0.1", "--dropouti", "0.1",  # learns in 40 steps
            "--no_plots"]  # drawing a recurrent genotype: tests/test_visualize.py
    assert run_cli(train_search.main, argv + SMALL) == 0
    genotype = genotype_from_dict(json.loads((out / "genotype.json").read_text()))
    assert isinstance(genotype, RecurrentGenotype) and len(genotype.recurrent) == 8
    row = json.loads((out / "alphas.jsonl").read_text().splitlines()[-1])
    assert row["metrics"]["valid_ppl"] < 4000  # from 10,000 (uniform over the vocabulary); 1,632 seen


@pytest.mark.slow
def test_real_ptb_short_darts_v2_training_learns(ptb, tmp_path):
    out = tmp_path / "lm"
    argv = ["--data", str(ptb), "--arch", "DARTS_V2", "--epochs", "2", "--max_batches", "40", "--save", str(out)]
    assert run_cli(main_lm, argv + SMALL) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["valid_ppl"] < 1500 and results["test_ppl"] < 2000  # from 10,000; 897 and 1,030 seen
