"""darts.export and darts-export: a trained network of every space (image networks and language models) written
as ONNX, TorchScript and a file needing only torch, each reproducing the network's outputs; bad requests refused
in one line, nothing written."""
import json
import os
import random
import subprocess
import sys
import textwrap
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from darts import api
from darts.errors import UserError
from darts.export import export_network
from darts.final_training import NetworkSpec
from darts.lm_training import LMSpec
from darts.runs import run_cli
from darts.spaces.registry import genotype_record, get_space

# one small network of each image space with a final network (darts_chain builds the darts network)
SIZES = {"darts": {"init_channels": 4, "layers": 3}, "nb201": {"init_channels": 4, "layers": 3},
         "nb101": {"init_channels": 8, "layers": 3}, "nasnet": {"init_channels": 4, "cells_per_stack": 1, "blocks": 2},
         "nats_sss": {"channel_divisor": 8}, "nasrl_cnn": {"width_divisor": 8}}
IMAGE = 8


LANGUAGE_MODELS = ("darts_rnn", "nasrl_rnn")
WINDOW, SEQUENCES, VOCABULARY = 3, 2, 20


def small_network(space_name: str):
    """DARTS_V2, or a random cell of the space, as a 1-channel 3-class network with trained-looking statistics."""
    sizes = SIZES[space_name]
    if space_name == "darts":
        net = api.build_network("DARTS_V2", in_channels=1, num_classes=3, **sizes)
    else:
        space = get_space(space_name)
        genotype = space.arch_space(space.resolve(sizes)).sample_random(random.Random(0))
        spec = NetworkSpec(genotype=space.genotype_to_dict(genotype), arch=f"{space_name} cell", space=space_name,
                           init_channels=sizes.get("init_channels", 0), layers=sizes.get("layers", 0), in_channels=1,
                           num_classes=3, dataset="digits",
                           options={k: v for k, v in sizes.items() if k not in ("init_channels", "layers")})
        net = spec.build()
        net.network_spec = spec
    torch.manual_seed(0)
    with torch.no_grad():  # batch norms away from their initial identity, so that a lost one shows
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d) and m.track_running_stats:
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def small_language_model(space_name: str):
    """A random cell of a text space as a language model over 20 words, 8 wide."""
    space = get_space(space_name)
    genotype = space.arch_space(space.resolve({})).sample_random(random.Random(0))
    spec = LMSpec(genotype=genotype_record(genotype), ntokens=VOCABULARY, arch=f"{space_name} cell", emsize=8,
                  nhid=8, nhidlast=8, space=space_name)
    net = spec.build()
    net.network_spec = spec
    return net.eval()


def outputs(net, *inputs) -> tuple:
    """What the exported files return: an image network's logits; a language model's logits and state."""
    with torch.no_grad():
        out = net(*inputs)
    if hasattr(out, "hidden"):
        return out.logits, out.hidden
    return out[:1] if isinstance(out, tuple) else (out,)


def fresh_inputs(name: str, net) -> tuple:
    """Inputs the files were not made with: 5 images (a batch size unseen), or another window of tokens."""
    generator = torch.Generator().manual_seed(1)
    if name in LANGUAGE_MODELS:
        tokens = torch.randint(0, VOCABULARY, (WINDOW, SEQUENCES), generator=generator)
        state = outputs(net, tokens)[1]
        return tokens, torch.randn(state.shape, generator=generator)
    return (torch.randn(5, 1, IMAGE, IMAGE, generator=generator),)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{space: (folder, inputs, the network's outputs)}, every space exported in every default format."""
    pytest.importorskip("onnxruntime")
    out = {}
    for name in [*SIZES, *LANGUAGE_MODELS]:
        folder = tmp_path_factory.mktemp(name)
        if name in LANGUAGE_MODELS:
            net = small_language_model(name)
            reports = export_network(net, folder, batch=SEQUENCES, window=WINDOW)
        else:
            net = small_network(name)
            reports = export_network(net, folder, batch=3, image_size=IMAGE)
        assert [r.format for r in reports] == ["onnx", "torchscript", "standalone"]
        assert all(r.error <= 1e-4 for r in reports), reports
        inputs = fresh_inputs(name, net)
        out[name] = (folder, inputs, outputs(net, *inputs))
    return out


def close(out, expected) -> bool:
    out = [torch.as_tensor(np.asarray(o)) for o in (out if isinstance(out, (tuple, list)) else (out,))]
    return len(out) == len(expected) and all(
        o.shape == e.shape and float((o - e).abs().max()) <= 1e-4 * float(e.abs().max()) for o, e in zip(out, expected))


def test_onnx_files_give_the_networks_outputs_in_onnxruntime(exported):
    import onnxruntime
    for name, (folder, inputs, expected) in exported.items():
        session = onnxruntime.InferenceSession(str(folder / "network.onnx"), providers=["CPUExecutionProvider"])
        feed = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
        assert close(session.run(None, feed), expected), name


def test_torchscript_files_give_the_networks_outputs(exported):
    for name, (folder, inputs, expected) in exported.items():
        loaded = torch.jit.load(str(folder / "network_torchscript.pt"))
        with torch.no_grad():
            assert close(loaded(*inputs), expected), name


def test_torch_export_program_gives_the_networks_logits(tmp_path):
    net = small_network("nasrl_cnn")
    report, = export_network(net, tmp_path, formats="torch_export", image_size=IMAGE)
    assert report.files == [tmp_path / "network.pt2"]
    x = fresh_inputs("nasrl_cnn", net)
    with torch.no_grad():
        assert close(torch.export.load(str(tmp_path / "network.pt2")).module()(*x), outputs(net, *x))


STANDALONE_CHECK = textwrap.dedent("""
    import importlib.abc, importlib.util, sys
    class NoDarts(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("darts", "visualize"):
                raise ImportError("this package is not installed here")
    sys.meta_path.insert(0, NoDarts())
    import torch
    for folder in sys.argv[1:]:
        spec = importlib.util.spec_from_file_location("network", folder + "/network.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        inputs, expected = torch.load(folder + "/check.pt")
        with torch.no_grad():
            out = module.load()(*inputs)
        out = out if isinstance(out, tuple) else (out,)
        assert len(out) == len(expected), folder
        for o, e in zip(out, expected):
            assert o.shape == e.shape and (o - e).abs().max() <= 1e-4 * e.abs().max(), folder
    try:
        import darts
    except ImportError:
        print("ok", len(sys.argv) - 1)
""")


def test_standalone_files_run_where_the_package_cannot_be_imported(exported, tmp_path):
    for folder, x, expected in exported.values():
        torch.save((x, expected), folder / "check.pt")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", STANDALONE_CHECK, *(str(f) for f, _, _ in exported.values())],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ok", str(len(exported))]
    source = (exported["darts"][0] / "network.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from pathlib import Path", "import torch", "from torch import nn"] and "nn.Conv2d(" in source


def test_export_leaves_the_callers_network_as_it_was(tmp_path):
    net = small_network("nb201").train()
    export_network(net, tmp_path, formats=["standalone"], image_size=IMAGE)
    assert net.training
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "network.py", "network_weights.pt"]


class NumpyRoundTrip(torch.nn.Module):
    """An operation computing through numpy, which no exported file can hold."""

    def forward(self, x):
        return torch.from_numpy(np.maximum(x.numpy(), 0.0))


def test_an_operation_outside_torch_is_one_line_naming_it_and_nothing_is_written(tmp_path):
    net = small_network("darts")
    net.cells[1].ops[0] = NumpyRoundTrip()
    with pytest.raises(UserError) as e:
        export_network(net, tmp_path / "out", image_size=IMAGE)
    message = str(e.value)
    assert "NumpyRoundTrip (cells.1.ops.0) cannot be exported" in message and "\n" not in message
    assert not (tmp_path / "out").exists()


def test_a_language_model_saved_by_train_final_exports_at_its_window(tmp_path, capsys):
    from darts.cli.export import main
    net = small_language_model("darts_rnn")
    torch.save({"format": "darts-language-model", "spec": asdict(net.network_spec), "model": net.state_dict()},
               tmp_path / "best.pt")
    assert run_cli(main, [str(tmp_path), "--format", "standalone", "--window", "4", "--batch", "2"]) == 0, \
        capsys.readouterr().err
    saved = json.loads((tmp_path / "export" / "export.json").read_text())
    assert saved["inputs"] == {"tokens": [4, 2], "hidden": [2, 8]} and saved["outputs"] == ["logits", "hidden_after"]
    assert "4 tokens x 2 sequences" in capsys.readouterr().out


def test_onnx_without_onnxruntime_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    with pytest.raises(UserError, match=r"pip install 'darts-nas\[export\]'"):
        export_network(small_network("nb101"), tmp_path / "out", formats="onnx", image_size=IMAGE)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, needle", [
    (["{run}", "--format", "onnx,tflite"], "unknown export format 'tflite'; choose from onnx, torchscript, standalone"),
    (["{tmp}/missing-run"], "missing-run does not exist: give a train_final.py --save folder"),
    (["{tmp}"], "has no weights.pt"),
    (["--model_path", "{run}/weights.pt"], "is a bare state dict: give --arch"),
    (["{run}", "--batch", "0"], "the check batch must hold at least 1 input"),
])
def test_bad_requests_are_one_line_and_write_nothing(tmp_path, capsys, argv, needle):
    from darts.cli.export import main
    run = tmp_path / "run"
    run.mkdir()
    torch.save(small_network("nb101").state_dict(), run / "weights.pt")  # a bare state dict
    argv = [a.format(run=run, tmp=tmp_path) for a in argv] + ["--out", str(tmp_path / "out")]
    assert run_cli(main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_command_exports_a_bare_state_dict_given_its_arch(tmp_path, capsys):
    from darts.cli.export import main
    net = api.build_network("DARTS_V2", in_channels=1, num_classes=10, init_channels=4, layers=3)
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    argv = ["--model_path", str(tmp_path / "weights.pt"), "--arch", "DARTS_V2", "--init_channels", "4", "--layers",
            "3", "--dataset", "fashion-mnist", "--format", "standalone", "--batch", "2"]
    assert run_cli(main, argv) == 0, capsys.readouterr().err
    assert "standalone: " in capsys.readouterr().out
    saved = json.loads((tmp_path / "export" / "export.json").read_text())
    assert saved["inputs"] == {"images": ["batch", 1, 28, 28]} and saved["arch"] == "DARTS_V2"
    assert list(saved["formats"]) == ["standalone"]


def test_a_run_on_a_folder_of_images_exports_at_the_size_it_was_trained(tmp_path, capsys):
    from darts.cli.export import main
    net = small_network("nb101")
    spec = replace(net.network_spec, dataset="folder")
    torch.save({"format": "darts-final-network", "network": asdict(spec), "model": net.state_dict()},
               tmp_path / "weights.pt")
    (tmp_path / "args.json").write_text(json.dumps({"dataset": "folder", "image_size": 12}))
    assert run_cli(main, [str(tmp_path), "--format", "standalone"]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "export" / "export.json").read_text())["inputs"] == {"images": ["batch", 1, 12, 12]}
