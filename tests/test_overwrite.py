"""--overwrite empties the folder of everything a run writes (its cost table, the cap fit, figures/ included),
so a new run never reads the previous run's files, and keeps what the user put there; without it a folder
holding any run file is refused."""
import pytest

from darts.errors import UserError
from darts.runs import RUN_FILES, RUN_FOLDERS, RunDir


def previous_run(folder):
    """A folder as a finished cost-aware search leaves it, plus a file of the user's."""
    folder.mkdir()
    for name in ("args.json", "checkpoint.pt", "alphas.jsonl", "genotype.json", "op_costs.json", "cap_fit.json"):
        (folder / name).write_text("{}")
    (folder / "figures").mkdir()
    (folder / "figures" / "genotype_normal.png").write_bytes(b"png")
    (folder / "notes.txt").write_text("mine")


def test_overwrite_removes_every_run_file_and_folder_and_keeps_the_users(tmp_path):
    folder = tmp_path / "run"
    previous_run(folder)
    RunDir(folder, resume=False, overwrite=True).close()
    left = sorted(p.name for p in folder.iterdir())
    assert left == [".lock", "log.txt", "notes.txt"]
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "log.txt").read_text() == ""


@pytest.mark.parametrize("name", ["op_costs.json", "cap_fit.json", "figures"])
def test_a_fresh_run_refuses_a_folder_with_any_run_file(tmp_path, name):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / name).mkdir() if name in RUN_FOLDERS else (folder / name).write_text("{}")
    with pytest.raises(UserError, match=name):
        RunDir(folder, resume=False)
    assert sorted(p.name for p in folder.iterdir()) == [".lock", name]


def test_every_file_the_runs_write_is_a_run_file():
    from darts.final_training import BEST_WEIGHTS, HISTORY_FILE, LAST_WEIGHTS
    from darts.lm_training import BEST
    from darts.spaces.darts_cnn.resource_cost import CAP_FIT_FILE, COST_FILE
    from darts.search import ALPHAS_FILE, CHECKPOINT
    from darts.strategies.enas import DERIVE_FILE, EPOCHS_FILE, SAMPLES_FILE
    written = {BEST_WEIGHTS, HISTORY_FILE, LAST_WEIGHTS, BEST, CAP_FIT_FILE, COST_FILE, ALPHAS_FILE, CHECKPOINT,
               DERIVE_FILE, EPOCHS_FILE, SAMPLES_FILE, "history.state.pt", "args.json", "log.txt", "genotype.json",
               "results.json"}
    assert written <= set(RUN_FILES)


def test_an_overwritten_search_uses_its_own_cost_table(tmp_path):
    import json
    from darts import api
    from darts.spaces.darts_cnn.resource_cost import COST_FILE
    from tests.test_resource_cost import SMALL, digits, table
    tables = [table(), table(normal={**table()["normal"], "sep_conv_3x3": 7.0})]
    settings = {**SMALL, "epochs": 1, "max_batches": 1, "cost_weight": 1.0}
    for i, costs in enumerate(tables):
        given = tmp_path / f"costs{i}.json"
        given.write_text(json.dumps(costs))
        api.search(digits(), save=tmp_path / "run", overwrite=True, op_costs=str(given), **settings)
        assert json.loads((tmp_path / "run" / COST_FILE).read_text()) == costs
