"""train_final.py: published sizes, a tiny real run with checkpoints, eval-only, exact resume, user errors,
and a short real Fashion-MNIST run."""
import json
import re
import time

import pytest
import torch

import train_final
from darts.data.images import FASHION_DEFAULT_DIR
from darts.errors import UserError
from darts.final_training import FinalTraining, load_network_weights, read_saved_network
from darts.spaces.genotype_io import load_genotype
from darts.runs import run_cli
from darts.spaces.darts_cnn import NetworkCIFAR, SearchNetwork
from darts.summary import count_parameters

TINY = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--batch_size", "32", "--max_batches", "2",
        "--no_progress"]


def test_summary_prints_the_published_parameter_counts(capsys):
    train_final.main(["--arch", "DARTS_V2", "--auxiliary", "--summary"])
    out = capsys.readouterr().out
    assert "param size = 3.349342MB" in out
    assert re.search(r"multiply-adds = \d+\.\dM per image", out)
    train_final.main(["--arch", "DARTS_V2", "--auxiliary", "--dataset", "imagenet", "--summary"])
    out = capsys.readouterr().out
    assert "C=48, 14 layers" in out and "3x224x224, 1000 classes" in out
    assert "param size = 4.718752MB" in out


def test_digits_run_trains_tests_saves_and_eval_only_reproduces_its_accuracy(tmp_path, capsys):
    save = tmp_path / "run"
    final = train_final.main(["--arch", "DARTS_V2", "--dataset", "digits", "--epochs", "1", "--layers", "4",
                              "--init_channels", "8", "--auxiliary", "--cutout", "--save", str(save),
                              "--max_batches", "3", "--no_progress"])
    for name in ("args.json", "genotype.json", "history.jsonl", "log.txt", "weights.pt", "best_weights.pt",
                 "checkpoint.pt"):
        assert (save / name).is_file(), name
    history = [json.loads(line) for line in (save / "history.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in history] == [0]
    assert history[0]["test_acc"] == final["test_acc"]
    assert load_genotype(str(save / "genotype.json")) == load_genotype("DARTS_V2")
    capsys.readouterr()

    again = train_final.main(["--eval_only", "--model_path", str(save / "weights.pt"), "--max_batches", "3"])
    assert again["acc"] == final["test_acc"]
    assert again["loss"] == pytest.approx(final["test_loss"], rel=1e-6)
    assert f"test_acc {final['test_acc']:f}" in capsys.readouterr().out
    # a run folder means its last weights; those are the weights the run ended with
    spec, state, meta = read_saved_network(save)
    assert spec.auxiliary and spec.layers == 4 and meta["epoch"] == 1
    ckpt = torch.load(save / "checkpoint.pt", weights_only=False)
    assert all(torch.equal(state[k], ckpt["model"][k]) for k in state)


def interrupted_after(epochs: int):
    """A FinalTraining.train_epoch that stops the run (KeyboardInterrupt) once `epochs` epochs are written."""
    original = FinalTraining.train_epoch

    def train_epoch(self):
        metrics = original(self)
        if self.epoch == epochs:
            raise KeyboardInterrupt
        return metrics
    return train_epoch


def test_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch):
    args = TINY + ["--epochs", "2", "--auxiliary", "--cutout", "--cutout_length", "4", "--drop_path_prob", "0.5"]
    train_final.main(args + ["--save", str(tmp_path / "whole")])

    monkeypatch.setattr(FinalTraining, "train_epoch", interrupted_after(1))
    with pytest.raises(KeyboardInterrupt):
        train_final.main(args + ["--save", str(tmp_path / "split")])
    monkeypatch.undo()
    train_final.main(["--resume", str(tmp_path / "split"), "--no_progress"])

    whole = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=False)
    split = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=False)
    assert whole["epoch"] == split["epoch"] == 2
    for k, v in whole["model"].items():
        assert torch.equal(v, split["model"][k]), k
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in whole["history"]]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in split["history"]]
    rows = (tmp_path / "split" / "history.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in rows] == [0, 1]


def test_genotype_written_by_a_search_retrains(tmp_path, capsys):
    torch.manual_seed(3)
    genotype = SearchNetwork(4, 10, 3, in_channels=1).genotype()
    path = tmp_path / "genotype.json"
    path.write_text(json.dumps(genotype.to_dict()))
    result = train_final.main(["--arch", str(path), "--dataset", "digits", "--layers", "3", "--init_channels", "6",
                               "--summary"])
    assert result["params"] == count_parameters(NetworkCIFAR(genotype, 6, 10, 3, in_channels=1))
    final = train_final.main(["--arch", str(path), "--save", str(tmp_path / "run"), "--epochs", "1"] + TINY)
    assert 0 <= final["test_acc"] <= 100
    assert load_genotype(str(tmp_path / "run" / "genotype.json")) == genotype


def _error(argv, capsys) -> str:
    assert run_cli(train_final.main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_bad_input_gives_one_line_errors(tmp_path, capsys):
    assert "DARTS_V2" in _error(["--arch", "NoSuchCell", "--summary"], capsys)
    assert "train/" in _error(["--dataset", "imagenet", "--data", str(tmp_path), "--save", str(tmp_path / "o")],
                              capsys)
    assert "--model_path" in _error(["--eval_only"], capsys)
    assert "args.json" in _error(["--resume", str(tmp_path)], capsys)
    assert "even" in _error(["--init_channels", "5", "--summary"], capsys)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert "cannot be read" in _error(["--eval_only", "--model_path", str(garbage), "--dataset", "digits"], capsys)
    # weights of another network size do not load into the one described by the flags
    other = tmp_path / "other.pt"
    torch.save(NetworkCIFAR(load_genotype("DARTS_V2"), 4, 10, 3, in_channels=1).state_dict(), other)
    err = _error(["--eval_only", "--model_path", str(other), "--dataset", "digits", "--init_channels", "8",
                  "--layers", "3"], capsys)
    assert "does not fit" in err


def test_recurrent_genotype_is_refused(capsys):
    pytest.importorskip("darts.rnn_ops", reason="the recurrent space is not in this tree yet")
    assert "recurrent" in _error(["--arch", "DARTS_V2_RNN", "--summary"], capsys)


def test_weights_saved_by_the_original_code_load_by_name():
    torch.manual_seed(0)
    ours = NetworkCIFAR(load_genotype("DARTS_V2"), 4, 10, 3, auxiliary=True, in_channels=1)
    # The original names: ReLUConvBN / SepConv / DilConv keep layers in `.op`, cells keep ops in `_ops`,
    # DataParallel adds `module.`; FactorizedReduce, stems, heads are named alike.
    original = {}
    for key, value in ours.state_dict().items():
        key = re.sub(r"^(cells\.\d+\.preprocess\d)\.(\d+)\.", r"\1.op.\2.", key)
        key = re.sub(r"^(cells\.\d+)\.ops\.(\d+)\.(\d+)\.", r"\1._ops.\2.op.\3.", key)
        key = re.sub(r"^(cells\.\d+)\.ops\.", r"\1._ops.", key)
        original["module." + key] = value.clone()
    assert any("._ops." in k and ".op." in k for k in original)
    fresh = NetworkCIFAR(load_genotype("DARTS_V2"), 4, 10, 3, auxiliary=True, in_channels=1)
    load_network_weights(fresh, original, "original weights")
    for k, v in ours.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k
    with pytest.raises(UserError, match="does not fit"):
        load_network_weights(NetworkCIFAR(load_genotype("DARTS_V1"), 4, 10, 3, in_channels=1), original, "w")


def test_channels_last_training_matches_contiguous_training():
    """The CUDA default memory format must not change the computation (checked here on CPU)."""
    from darts.data import BatchStream, load_image_dataset
    from darts.final_training import FinalTrainingConfig, NetworkSpec
    data = load_image_dataset("digits")
    results = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        spec = NetworkSpec(load_genotype("DARTS_V2").to_dict(), init_channels=4, layers=3, in_channels=1,
                           auxiliary=True, dataset="digits")
        model = spec.build()
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        train = BatchStream(data.train_x, data.train_y, 32, data.mean, data.std, augmentation=data.augmentation)
        test = BatchStream(data.test_x, data.test_y, 32, data.mean, data.std, shuffle=False)
        config = FinalTrainingConfig(epochs=1, max_batches=2, progress=False, channels_last=channels_last)
        metrics = FinalTraining(model, train, test, config, spec).run()
        results.append((metrics, model.state_dict()))
    (m0, w0), (m1, w1) = results
    assert abs(m0["test_acc"] - m1["test_acc"]) <= 100 / 64 + 1e-9  # at most one of 64 test images
    assert m0["train_loss"] == pytest.approx(m1["train_loss"], rel=1e-4)
    for k in w0:
        torch.testing.assert_close(w0[k].float(), w1[k].float(), atol=1e-4, rtol=1e-3)


def test_bf16_is_the_cuda_default_only_and_channels_last_everywhere():
    args = train_final.build_parser().parse_args([])
    assert train_final.precision(args, torch.device("cpu")) == (False, True)
    assert train_final.precision(train_final.build_parser().parse_args(["--no_channels_last"]),
                                 torch.device("cpu")) == (False, False)
    assert train_final.precision(args, torch.device("cuda")) == (True, True)
    args = train_final.build_parser().parse_args(["--fp32"])
    assert train_final.precision(args, torch.device("cuda")) == (False, False)


def test_imagenet_reader_checks_the_folder_and_asks_for_torchvision(tmp_path):
    from darts.data.imagenet import ImageFolderStream, imagenet_folders
    with pytest.raises(UserError, match="train/ and val/"):
        imagenet_folders(tmp_path)
    for split in ("train", "val"):
        (tmp_path / split / "n01440764").mkdir(parents=True)
    (tmp_path / "val" / "n99999999").mkdir()
    with pytest.raises(UserError, match="different class folders"):
        imagenet_folders(tmp_path)
    (tmp_path / "val" / "n99999999").rmdir()
    train, val, classes = imagenet_folders(tmp_path)
    assert classes == ["n01440764"] and train.name == "train"
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match="pip install torchvision"):
            ImageFolderStream(train, 8, "cpu", train=True)


@pytest.mark.slow
@pytest.mark.skipif(not FASHION_DEFAULT_DIR.is_dir(), reason="Fashion-MNIST is not installed")
def test_short_fashion_mnist_run_is_far_above_chance(tmp_path):
    """A small DARTS_V2 network (C=4, 3 cells) trained on 240 real Fashion-MNIST batches of 32 (4 short
    epochs, so the cosine schedule decays), then tested on the full 10,000-image test set."""
    from darts.data import BatchStream, load_image_dataset
    from darts.final_training import evaluate_network
    t0 = time.perf_counter()
    train_final.main(["--arch", "DARTS_V2", "--dataset", "fashion-mnist", "--epochs", "4", "--max_batches", "60",
                      "--batch_size", "32", "--layers", "3", "--init_channels", "4", "--learning_rate", "0.05",
                      "--drop_path_prob", "0", "--auxiliary", "--save", str(tmp_path / "run"), "--no_progress"])
    spec, state, _ = read_saved_network(tmp_path / "run")
    model = spec.build()
    model.load_state_dict(state)
    data = load_image_dataset("fashion-mnist")
    test = BatchStream(data.test_x, data.test_y, 1000, data.mean, data.std, shuffle=False)
    metrics = evaluate_network(model, test.evaluation_batches())
    print(f"\nfashion-mnist: test accuracy {metrics['acc']:.2f}% on {len(data.test_x)} images after "
          f"240 batches of 32, {time.perf_counter() - t0:.1f} s")
    assert metrics["acc"] > 45.0  # chance is 10 %


def test_text_datasets_train_the_language_model(capsys):
    """train_final.py --dataset ptb hands over to the recurrent language model (the paper's 23M model)."""
    assert train_final.run_cli(train_final.main, ["--dataset", "ptb", "--arch", "DARTS_V2", "--summary"]) == 0
    assert "22.960000MB" in capsys.readouterr().out
