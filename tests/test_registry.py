"""The registry shape: a space and a strategy added from outside the package (tests/toy_space_plugin.py)
search, retrain and draw through the library and through the installed commands."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from darts import api
from darts.errors import UserError
from darts.spaces.genotype_io import load_genotype
from darts.plugins import import_plugin
from darts.spaces.registry import genotype_from_record, genotype_record, get_space, space_names
from darts.strategies.registry import get_strategy, strategies
from tests.conftest import require_dot

HERE = Path(__file__).resolve().parent
PLUGIN = HERE / "toy_space_plugin.py"
toy = import_plugin(PLUGIN)
TINY = dict(space="toy", epochs=1, max_batches=2, batch_size=16, device="cpu", no_progress=True)
PER_STRATEGY = {"enas": dict(controller_train_steps=2, derive_samples=2), "darts": {}}  # the rest: sample-based


def test_builtin_spaces_have_one_name_each_and_round_trip_their_genotypes():
    assert {"darts", "darts_rnn", "nb201", "toy"} <= set(space_names())
    assert get_space("darts_cnn") is get_space("darts")  # the old spelling in older files
    for name in ("DARTS_V2", "DARTS_V2_RNN"):
        g = load_genotype(name)
        record = genotype_record(g)
        assert record["space"] in ("darts", "darts_rnn")
        assert genotype_from_record(json.loads(json.dumps(record))) == g


def test_the_toy_strategy_is_registered_with_its_options():
    info = get_strategy("first_choice")
    assert info.kind == "sample" and [o.name for o in info.options] == ["first_choice_start"]
    assert {"darts", "enas", "random", "evolution", "reinforce", "first_choice"} <= set(strategies())


@pytest.mark.parametrize("strategy", ["darts", "enas", "random", "evolution", "reinforce", "first_choice"])
def test_every_strategy_searches_the_toy_space_through_the_library(tmp_path, strategy):
    full = api.load_data("digits")
    data = api.as_image_dataset((full.train_x[:160], full.train_y[:160]))  # small: one test per strategy
    rows = []
    result = api.search(data, strategy=strategy, save=tmp_path / "s", no_plots=True,
                        callback=lambda step, row: rows.append(step), **TINY,
                        **PER_STRATEGY.get(strategy, dict(budget=3)))
    assert isinstance(result.genotype, toy.ToyArch)
    saved = json.loads((tmp_path / "s" / "genotype.json").read_text())
    assert saved["space"] == "toy" and load_genotype(tmp_path / "s" / "genotype.json") == result.genotype
    assert rows, "the per-epoch (or per-evaluation) callback was never called"
    net = api.build_network(result.genotype, data.in_channels, data.num_classes)
    trained = api.train(net, data, epochs=1, batch_size=16, max_batches=2, device="cpu", progress=False)
    assert 0 <= trained.test_acc <= 100
    require_dot()  # the rest draws the diagram
    assert [p.name for p in api.render(result.genotype, tmp_path / "fig", fmt="svg")] == ["genotype_chain.svg"]


def test_a_strategy_with_a_loop_of_its_own_is_registered_and_run_through_its_registered_object(tmp_path):
    """DARTS and ENAS are registered StrategyInfo objects like any other: one registered from outside with
    DARTS's run (no add-ons) is listed, searched through by the library, and gives DARTS's alphas."""
    from darts.strategies.gradient import run_darts
    from darts.strategies import registry
    from darts.strategies.registry import StrategyInfo, register_strategy
    darts = get_strategy("darts")
    calls = []

    def run(prepared, run_dir, callbacks):
        calls.append(prepared.strategy.name)
        return run_darts(prepared, run_dir, callbacks)
    info = register_strategy(StrategyInfo("darts_without_addons", "gradient", "DARTS, no add-ons",
                                          darts.own_options, darts.own_check, run))
    try:
        assert strategies()["darts_without_addons"] is info and [t for t, _ in info.option_groups] == [
            "strategy darts_without_addons"]
        full = api.load_data("digits")
        data = api.as_image_dataset((full.train_x[:160], full.train_y[:160]))
        plain, other = (api.search(data, strategy=n, seed=4, **TINY) for n in ("darts", "darts_without_addons"))
        assert calls == ["darts_without_addons"]
        assert [torch.equal(a, b) for a, b in zip(plain.model.alphas(), other.model.alphas())] == [True]
        with pytest.raises(ValueError, match="already registered"):
            register_strategy(StrategyInfo("darts", "gradient", "another DARTS"))
    finally:
        registry._STRATEGIES.pop("darts_without_addons")  # the other tests see the built-in table


def test_a_flag_of_another_space_or_strategy_is_refused(capsys):
    from darts.cli.search import main
    from darts.runs import run_cli
    assert run_cli(main, ["--ops_module", str(PLUGIN), "--space", "toy", "--dataset", "digits", "--emsize", "8"]) == 2
    assert "--emsize belongs to" in capsys.readouterr().err
    with pytest.raises(UserError, match="takes no option"):
        api.search(api.load_data("digits"), space="toy", depth=1, population=3)


def _command(name: str) -> str:
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in this environment (pip install -e .)")
    return str(path)


def test_installed_commands_search_retrain_and_draw_a_plugin_space(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    search, retrain, draw = tmp_path / "search", tmp_path / "retrain", tmp_path / "draw"
    common = ["--ops_module", str(PLUGIN)]
    subprocess.run([_command("darts-search"), *common, "--space", "toy", "--strategy", "first_choice",
                    "--dataset", "digits", "--budget", "2", "--train_portion", "0.2", "--no_progress", "--save", str(search)],
                   check=True, cwd=tmp_path, env=env, capture_output=True)
    assert json.loads((search / "genotype.json").read_text())["space"] == "toy"
    assert (search / "figures" / "genotype_chain.png").is_file() or (search / "figures" / "genotype_chain.dot").is_file()
    subprocess.run([_command("darts-train"), *common, "--arch", str(search / "genotype.json"), "--dataset", "digits",
                    "--epochs", "1", "--max_batches", "2", "--batch_size", "16", "--no_progress", "--save",
                    str(retrain)], check=True, cwd=tmp_path, env=env, capture_output=True)
    assert (retrain / "weights.pt").is_file()
    out = subprocess.run([_command("darts-draw"), *common, str(search / "genotype.json"), "--out", str(draw)],
                         check=True, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "genotype_chain" in out.stdout


# -- the three bugs the scattered wiring caused, each with the test that failed before ------------------------
def test_sample_strategies_honour_primitives(tmp_path):
    """--strategy random --primitives ... searched the paper's eight operations."""
    from darts.cli.search import main
    out = tmp_path / "r"
    main(["--strategy", "random", "--dataset", "digits", "--budget", "2", "--layers", "3", "--init_channels", "4",
          "--primitives", "none,skip_connect,avg_pool_3x3", "--train_portion", "0.2", "--no_progress", "--no_plots",
          "--save", str(out)])
    ops = {op for line in (out / "history.jsonl").read_text().splitlines()
           for cell in ("normal", "reduce") for op, _ in json.loads(line)["arch"][cell]}
    assert ops <= {"skip_connect", "avg_pool_3x3"}
    load_genotype(out / "genotype.json")


def test_an_nb201_cell_retrains_with_the_benchmarks_recipe(tmp_path):
    """train_final.py refused NB201 genotypes (calling them recurrent)."""
    from darts.cli.train import main
    arch = tmp_path / "cell.json"
    arch.write_text(json.dumps({"space": "nb201", "arch": "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|"
                                                          "skip_connect~0|nor_conv_3x3~1|skip_connect~2|"}))
    main(["--arch", str(arch), "--dataset", "digits", "--epochs", "1", "--max_batches", "2", "--batch_size", "16",
          "--no_progress", "--save", str(tmp_path / "t")])
    args = json.loads((tmp_path / "t" / "args.json").read_text())
    assert (args["learning_rate"], args["weight_decay"], args["nesterov"]) == (0.1, 5e-4, True)
    assert (tmp_path / "t" / "weights.pt").is_file()


def test_sample_strategy_options_come_from_the_command_line(tmp_path):
    """Population size, sample size and controller settings could not be set from the command line."""
    from darts.cli.search import settings_from_argv
    _, settings, _ = settings_from_argv(["--space", "nb201", "--strategy", "evolution", "--benchmark", "x.csv",
                                         "--evolution_population_size", "20", "--evolution_sample_size", "5"])
    assert (settings["evolution_population_size"], settings["evolution_sample_size"]) == (20, 5)
    _, settings, parser = settings_from_argv(["--space", "nb201", "--strategy", "reinforce", "--benchmark", "x.csv",
                                              "--reinforce_learning_rate", "0.05"])
    assert settings["reinforce_learning_rate"] == 0.05 and "--reinforce_entropy_weight" in parser.format_help()


def test_the_library_searches_a_table_without_data_and_named_data(tmp_path, shared_file):
    table = shared_file("nb201/nats_bench_tss_200ep.csv")
    result = api.search(space="nb201", strategy="evolution", benchmark=str(table), budget=15, save=tmp_path / "t",
                        no_plots=True, log_to_console=False)
    assert len(result.history) == 15 and result.model is None
    saved = json.loads((tmp_path / "t" / "args.json").read_text())
    assert saved["reward"] is None and "epochs" not in saved  # only what applies to a table search
    result = api.search(dataset="digits", epochs=1, max_batches=1, batch_size=16, layers=3, init_channels=4,
                        progress=False, log_to_console=False)
    assert result.model is not None and len(result.history) == 1


def test_the_library_resumes_a_killed_search_exactly(tmp_path):
    """api.search(resume=True) continues the folder's run (it once restarted it at epoch 0)."""
    kw = dict(dataset="digits", layers=3, init_channels=4, batch_size=16, max_batches=2, epochs=2, progress=False,
              log_to_console=False, no_plots=True)
    api.search(save=tmp_path / "a", **kw)

    class Killed(Exception):
        pass

    def kill_after_epoch_0(epoch, row):
        if epoch == 0:
            raise Killed

    with pytest.raises(Killed):
        api.search(save=tmp_path / "b", callback=kill_after_epoch_0, **kw)
    api.search(save=tmp_path / "b", resume=True, **kw)
    rows = [[json.loads(line) for line in (tmp_path / d / "alphas.jsonl").read_text().splitlines()] for d in "ab"]
    assert [r["normal"] for r in rows[0]] == [r["normal"] for r in rows[1]] and len(rows[1]) == 2
    assert (tmp_path / "a" / "genotype.json").read_bytes() == (tmp_path / "b" / "genotype.json").read_bytes()
