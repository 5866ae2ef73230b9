"""Search add-ons as plug-ins: the built-in ones are registered with their options and rules, an add-on from a
test file (tests/toy_addon_plugin.py) works from the command line and the library, and an add-on that a
supernet cannot carry is refused with one line before anything is written."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from darts import api
from darts.addons.registry import SearchAddon, addons, get_addon
from darts.errors import UserError
from darts.plugins import import_plugin
from darts.strategies.registry import get_strategy
from tests.test_bad_input import TINY, refused

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLUGIN = HERE / "toy_addon_plugin.py"
BUILTIN = ["hessian_eigen", "early_stop", "beta_decay", "aux_skip", "skip_cap", "node_rule", "pt_selection", "cost"]


def test_the_builtin_addons_are_registered_in_attachment_order_and_are_off_by_default():
    table = addons()
    assert [n for n in table if n in BUILTIN] == BUILTIN
    defaults = {o.name: o.default for a in table.values() for o in a.options}
    assert not any(a.is_active(defaults) for a in table.values())


def test_darts_options_are_its_own_and_every_addons_grouped_for_help():
    darts = get_strategy("darts")
    groups = dict(darts.option_groups)
    assert "learning_rate" in [o.name for o in groups["strategy darts"]]
    assert [o.name for o in groups["add-on skip_cap"]] == ["max_skip"]
    assert [o.name for o in groups["add-on node_rule"]] == ["allow_same_input", "chain_cells"]
    assert [o.name for o in darts.options] == [o.name for _, g in darts.option_groups for o in g]
    assert get_strategy("enas").option_groups == (("strategy enas", get_strategy("enas").options),)


def test_an_addon_names_the_capability_a_supernet_lacks_in_one_line():
    class NeedsCells(SearchAddon):
        name = "needs_cells"
        needs = frozenset({"node_rule"})

    from darts.spaces.registry import get_space
    model = api.search_space("nb201", in_channels=1)  # its cells derive by each edge's argmax only
    with pytest.raises(UserError, match=r"^add-on needs_cells needs node_rule, which the nb201 space's supernet "
                                        r"does not offer$"):
        NeedsCells().requires(model, get_space("nb201"), {})


def _alphas(folder: Path) -> list:
    row = json.loads((folder / "alphas.jsonl").read_text().splitlines()[-1])
    return [row["normal"], row["reduce"]]


def _search(tmp_path: Path, name: str, *flags: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "train_search.py"), *TINY, "--seed", "3", "--save", str(tmp_path / name),
           *flags]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_a_toy_addon_from_a_test_file_works_from_the_command_line(tmp_path):
    plugin = ["--ops_module", str(PLUGIN)]
    help_text = subprocess.run([sys.executable, str(ROOT / "train_search.py"), *plugin, "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    assert help_text.returncode == 0 and "--toy_l2" in help_text.stdout
    for name, flags in (("plain", []), ("loaded", plugin), ("toy", plugin + ["--toy_l2", "0.1"])):
        out = _search(tmp_path, name, *flags)
        assert out.returncode == 0, out.stderr[-2000:]
    assert _alphas(tmp_path / "loaded") == _alphas(tmp_path / "plain")  # loaded but off: bitwise the same
    assert _alphas(tmp_path / "toy") != _alphas(tmp_path / "plain")
    saved = json.loads((tmp_path / "toy" / "args.json").read_text())
    assert saved["toy_l2"] == 0.1


def test_a_toy_addon_from_a_test_file_works_from_the_library():
    import_plugin(PLUGIN)
    darts = get_strategy("darts")  # looked up after the plug-in: its option is DARTS's, in a group of its own
    assert "toy_l2" in [o.name for o in darts.options]
    assert [o.name for o in dict(darts.option_groups)["add-on toy_l2"]] == ["toy_l2"]
    full = api.load_data("digits")
    data = api.as_image_dataset((full.train_x[:160], full.train_y[:160]))
    small = dict(layers=3, init_channels=4, batch_size=16, epochs=1, max_batches=2, device="cpu", no_progress=True,
                 seed=3)
    plain = api.search(data, **small)
    toy = api.search(data, toy_l2=0.1, **small)
    assert not torch.equal(toy.model.alphas_normal, plain.model.alphas_normal)
    again = api.search(data, toy_l2=0.0, **small)
    assert torch.equal(again.model.alphas_normal, plain.model.alphas_normal)
    with pytest.raises(UserError, match="toy_l2"):
        api.search(data, toy_l2=-1.0, **small)


@pytest.mark.parametrize("flags, needle", [
    (["--space", "nb201", "--chain_cells"], "offers no such choice"),
    (["--cost_cap_by", "step_time"], "add --cost_cap"),
    (["--early_stop", "--selection", "pt"], "use one")])
def test_addon_rules_and_requirements_refuse_in_one_line(tmp_path, capsys, flags, needle):
    import train_search
    refused(train_search.main, TINY + flags + ["--save", str(tmp_path / "run")], capsys, tmp_path, needle)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, needle", [
    (["--max_skip", "1"], "--max_skip caps skip connections in a DARTS normal cell; the toy space has none"),
    (["--selection", "pt"], "--selection pt is not available for the toy space's supernet"),
    (["--aux_skip", "1"], "--aux_skip is not available for the toy space's supernet")])
def test_a_supernet_from_outside_that_offers_nothing_refuses_the_addons_in_one_line(tmp_path, capsys, flags,
                                                                                    needle):
    import train_search
    toy = ["--ops_module", str(HERE / "toy_space_plugin.py"), "--space", "toy", "--dataset", "digits", "--epochs",
           "1", "--max_batches", "2", "--no_progress", "--no_plots"]
    refused(train_search.main, toy + flags + ["--save", str(tmp_path / "run")], capsys, tmp_path, needle)
    assert not (tmp_path / "run").exists()


def test_a_registered_addon_name_or_option_cannot_be_taken_twice():
    from darts.addons.registry import register_addon

    class Clash(SearchAddon):
        name = "clash"
        options = get_addon("skip_cap").options
    with pytest.raises(ValueError, match="max_skip"):
        register_addon(Clash)
