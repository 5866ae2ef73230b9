"""darts.latency: the lookup table's arithmetic and files, costs against hand-computed values, the device
strings, and the darts-latency command on tiny networks."""
import json

import pytest
import torch
import torch.nn as nn

from darts.cli.latency import main as latency_main
from darts.errors import UserError
from darts.latency import LatencyTable, measure_latency, network_costs, parse_device
from darts.latency import table as table_module
from darts.latency.trace import Tracer, trace_ops
from darts.runs import run_cli

NB201_CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def sequential():
    """3 -> 8 -> 4 channels, 3x3 convolutions (no bias) around a ReLU."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU(),
                         nn.Conv2d(8, 4, 3, padding=1, bias=False))


class Skip(nn.Module):
    """a = c1(x) (4 channels) is kept across c2 (16 channels) and c3 (4 channels) for the sum a + c3(c2(a))."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3 = (nn.Conv2d(3, 4, 1, bias=False), nn.Conv2d(4, 16, 1, bias=False),
                                     nn.Conv2d(16, 4, 1, bias=False))

    def forward(self, x):
        a = self.c1(x)
        return a + self.c3(self.c2(a))


def tiny_table(networks, batches=(1,)):
    return LatencyTable.build(networks, (3, 8, 8), batches, "cpu:1", repeats=2, warmup=1)


def test_costs_of_a_sequential_net_by_hand():
    # float32 bytes of 8x8 maps: input 3 ch 768, conv1 out 8 ch 2048, relu out 2048, conv2 out 4 ch 1024.
    # After the ReLU the input, conv1's output (the ReLU's input) and the ReLU's output are alive: 4864; after
    # conv2 conv1's output is gone: 768 + 2048 + 1024 = 3840.
    costs = network_costs(sequential(), (3, 8, 8))
    assert costs == {"parameters": 8 * 3 * 9 + 4 * 8 * 9,
                     "multiply_adds": 8 * 64 * 27 + 4 * 64 * 72,
                     "peak_activation_bytes": 768 + 2048 + 2048}
    assert network_costs(sequential(), (3, 8, 8), batch=2)["peak_activation_bytes"] == 2 * 4864


def test_a_skip_connection_keeps_its_tensor_alive():
    # x 768, a 1024, b = c2(a) 4096, c 1024: after c3 all four are alive (6912); the sum comes after b is freed.
    # The same convolutions in a chain free a after c2: at most x + a + b = 5888.
    costs = network_costs(Skip(), (3, 8, 8))
    assert costs["parameters"] == 4 * 3 + 16 * 4 + 4 * 16
    assert costs["multiply_adds"] == 64 * (4 * 3 + 16 * 4 + 4 * 16)
    assert costs["peak_activation_bytes"] == 768 + 1024 + 4096 + 1024
    chain = Skip()
    assert network_costs(nn.Sequential(chain.c1, chain.c2, chain.c3), (3, 8, 8))["peak_activation_bytes"] == 5888


def test_trace_lists_leaf_modules_and_functions_restated_for_the_batch():
    calls = trace_ops(Skip(), (3, 8, 8), batch=5)
    assert [c.name for c in calls][:3] == ["nn.Conv2d"] * 3 and "add" in calls[3].name
    assert calls[0].inputs == "f32[5,3,8,8]" and calls[3].inputs == "f32[5,4,8,8], f32[5,4,8,8]"
    net = Skip().eval()
    with torch.inference_mode():
        real = Tracer(net).run(torch.randn(5, 3, 8, 8))  # a real pass at batch 5 gives the same keys
    assert [c.key for c in calls] == [c.key for c in real]


def test_prediction_is_the_sum_of_the_entries_it_was_built_from():
    net = Skip()
    table = tiny_table([net, sequential()], batches=(1, 2))
    for batch in (1, 2):
        keys = [c.key for c in trace_ops(net, (3, 8, 8), batch)]
        assert len(keys) == 4
        assert table.predict(net, (3, 8, 8), batch) == sum(table.entries[k]["ms"] for k in keys)
    table.overhead[2] = 0.25  # the calibrated overhead is added once per operation
    detail = table.predict_detail(net, (3, 8, 8), 2)
    assert detail["ms"] == detail["ops_ms"] + 4 * 0.25 and detail["machine"] == table.machine


def test_known_operations_are_not_timed_again(monkeypatch):
    table = tiny_table([sequential()])

    def no_timing(*a, **k):
        raise AssertionError("timed an operation the table has")
    monkeypatch.setattr(table_module, "time_call", no_timing)
    other = sequential()  # other weights, same operations
    assert table.predict(other, (3, 8, 8), 1) > 0
    assert table.measure(other, (3, 8, 8), 1) == 0


def test_a_missing_operation_is_one_line_or_measured_on_request():
    table = tiny_table([sequential()])
    with pytest.raises(UserError) as e:
        table.predict(Skip(), (3, 8, 8), 1)
    message = str(e.value)
    assert "\n" not in message and "nn.Conv2d" in message and "f32[1,3,8,8]" in message and "measure_missing" in message
    with pytest.raises(UserError, match="batch 4"):
        table.predict(sequential(), (3, 8, 8), 4)  # a batch it was not built for
    before = len(table.entries)
    assert table.predict(Skip(), (3, 8, 8), 1, measure_missing=True) > 0
    assert len(table.entries) == before + 4


def test_save_and_load_keep_entries_and_machine(tmp_path):
    table = tiny_table([Skip()])
    table.overhead[1] = 0.125
    table.save(tmp_path / "t.json")
    back = LatencyTable.load(tmp_path / "t.json")
    assert back.entries == table.entries and back.machine == table.machine and back.overhead == {1: 0.125}
    assert back.machine["torch"] == torch.__version__ and back.machine["threads"] == 1 and back.machine["cpu_model"]
    assert back.predict(Skip(), (3, 8, 8), 1) == table.predict(Skip(), (3, 8, 8), 1)
    assert str(back.spec) == "cpu:1" and "cpu:1" in back.machine_line()
    (tmp_path / "bad.json").write_text(json.dumps({"entries": {}}))
    with pytest.raises(UserError, match="not a latency table"):
        LatencyTable.load(tmp_path / "bad.json")


def test_a_table_from_another_machine_refuses_to_time_its_missing_operations(tmp_path):
    table = tiny_table([sequential()])
    table.machine = {**table.machine, "cpu_model": "another CPU"}
    with pytest.raises(UserError, match="mix machines"):
        table.predict(Skip(), (3, 8, 8), 1, measure_missing=True)


def test_device_strings():
    assert str(parse_device("cpu")) == "cpu" and parse_device("cpu:4").threads == 4
    assert parse_device("cpu", threads=2).threads == 2
    for bad in ("gpu", "cpu:x", "cpu:0", "tpu:1", "cuda:a"):
        with pytest.raises(UserError) as e:
            parse_device(bad)
        assert "\n" not in str(e.value) and '"cpu"' in str(e.value)
    with pytest.raises(UserError, match="give one of them"):
        parse_device("cpu:2", threads=3)
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            parse_device("cuda:1")
    got = measure_latency(sequential(), (3, 8, 8), batch=2, device="cpu:1", repeats=3, warmup=1)
    assert got["p10_ms"] <= got["median_ms"] <= got["p90_ms"] and got["device"] == "cpu:1"


def test_command_refuses_a_bad_device_in_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert run_cli(latency_main, ["build", "--device", "gpu", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: device 'gpu'") and "Traceback" not in err
    assert not out.exists()
    assert run_cli(latency_main, ["build", "--space", "darts_rnn", "--out", str(out)]) == 2
    assert "image networks" in capsys.readouterr().err and not out.exists()


def test_command_builds_a_loadable_table_and_predicts_with_it(tmp_path, capsys):
    out = tmp_path / "t.json"
    tiny = ["--space", "nb201", "--init_channels", "2", "--layers", "3"]
    assert run_cli(latency_main, ["build", *tiny, "--cells", "1", "--repeats", "1", "--warmup", "0",
                                  "--calibrate", "0", "--out", str(out)]) == 0
    table = LatencyTable.load(out)
    assert len(table.entries) > 10 and table.machine["device"] == "cpu:1"
    assert run_cli(latency_main, ["predict", *tiny, "--table", str(out), "--arch", NB201_CELL, "--measure"]) == 0
    printed = capsys.readouterr().out
    assert "batch 1: predicted" in printed and "ms here" in printed and "multiply-adds" in printed
