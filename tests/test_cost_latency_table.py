"""A latency table (darts.latency) as the DARTS search's op cost table: --op_costs TABLE is converted to the
cost model's rows (each op's predicted inference latency summed over the retrained network's cells of each
kind), kept in the run folder, and refused with one line where it cannot price an op."""
import functools
import json
import logging
import random

import pytest

from darts import api
from darts.genotype import Genotype
from darts.latency import LatencyTable
from darts.latency.trace import trace_ops
from darts.ops import PRIMITIVES, build_op
from darts.runs import RunDir
from darts.spaces.darts_cnn.network import NetworkCIFAR
from darts.spaces.darts_cnn.resource_cost import COST_FILE, DartsCellCosts, cell_cost, latency_op_costs
from darts.spaces.registry import DataShape
from tests.test_bad_input import TINY, refused

# digits: 1x8x8 images; 6 cells of 4 channels: reductions at cells 2 and 4, normal cells 0, 1 (4 channels, 8x8),
# 3 (8 channels, 4x4) and 5 (16 channels, 2x2)
SHAPE, CHANNELS, LAYERS = (1, 8, 8), 4, 6


def cell(ops: list[str]) -> list:
    """A DARTS cell's genes: node k's two edges take ops[2k], ops[2k + 1] on these inputs."""
    return list(zip(ops, (0, 1, 1, 2, 0, 3, 2, 4)))


DEAR = Genotype(normal=cell(["sep_conv_3x3"] * 8), normal_concat=[2, 3, 4, 5],
                reduce=cell(["dil_conv_5x5", "sep_conv_5x5"] * 4), reduce_concat=[2, 3, 4, 5])
CHEAP = Genotype(normal=cell(["skip_connect", "max_pool_3x3", "dil_conv_3x3", "avg_pool_3x3"] * 2),
                 normal_concat=[2, 3, 4, 5],
                 reduce=cell(["max_pool_3x3", "skip_connect", "avg_pool_3x3", "sep_conv_3x3"] * 2),
                 reduce_concat=[2, 3, 4, 5])


def network(genotype):
    return NetworkCIFAR(genotype, CHANNELS, 10, LAYERS, in_channels=SHAPE[0]).eval()


def covering(op: str) -> Genotype:
    return Genotype(normal=cell([op] * 8), normal_concat=[2, 3, 4, 5], reduce=cell([op] * 8),
                    reduce_concat=[2, 3, 4, 5])


@functools.lru_cache(maxsize=None)
def traced(name: str) -> tuple:
    """(key, name, inputs) of every operation of a network at batch 1: DEAR's, CHEAP's, or that whose every edge
    is the op `name`."""
    genotype = {"dear": DEAR, "cheap": CHEAP}.get(name) or covering(name)
    return tuple((c.key, c.name, c.inputs) for c in trace_ops(network(genotype), SHAPE, 1))


def hand_table(overhead: float = 0.0, cover: bool = True) -> LatencyTable:
    """Every operation of the DEAR and CHEAP networks at batch 1 (and with `cover`, of one network per op whose
    every edge is that op), at made-up milliseconds (a key's own): nothing is timed."""
    table = LatencyTable("cpu:1", machine={"device": "cpu:1", "device_name": "the phone", "threads": 1},
                         overhead={1: overhead})
    for name in ["dear", "cheap"] + ([op for op in PRIMITIVES if op != "none"] if cover else []):
        for key, op, inputs in traced(name):
            table.add(key, random.Random(key).uniform(0.1, 2.0), op, inputs)
    return table


def entries_ms(table: LatencyTable, op: str, stride: int, c: int, h: int, w: int) -> float:
    return sum(table.entries[call.key]["ms"] for call in trace_ops(build_op(op, c, stride, affine=True), (c, h, w)))


def test_a_row_is_the_tables_entries_summed_over_the_cells_of_its_kind():
    table = hand_table()
    rows = latency_op_costs(table, PRIMITIVES, CHANNELS, LAYERS, *SHAPE, batch=1)
    e = lambda *shape: entries_ms(table, "sep_conv_3x3", *shape)  # noqa: E731
    assert rows["normal"]["sep_conv_3x3"] == pytest.approx(2 * e(1, 4, 8, 8) + e(1, 8, 4, 4) + e(1, 16, 2, 2))
    m = lambda *shape: entries_ms(table, "max_pool_3x3", *shape)  # noqa: E731
    assert rows["reduce"]["max_pool_3x3"] == pytest.approx(m(2, 8, 8, 8) + m(2, 16, 4, 4))
    assert rows["reduce_inner"]["max_pool_3x3"] == pytest.approx(m(1, 8, 4, 4) + m(1, 16, 2, 2))
    # a stride-2 skip connection is a factorized reduction, between nodes the identity
    assert rows["reduce"]["skip_connect"] > rows["reduce_inner"]["skip_connect"] > 0
    assert rows["normal"]["none"] == 0.0 and rows["inputs"] == {"normal": [0.0, 0.0], "reduce": [0.0, 0.0]}


@pytest.mark.parametrize("overhead", [0.0, 0.05])
def test_the_rows_price_whole_networks_as_the_table_does(overhead):
    """Two networks differ only in their cells' ops: the table's predictions of them differ by their cells'
    summed costs under the converted rows (the preprocessing, additions and concatenations are the same)."""
    table = hand_table(overhead)
    rows = latency_op_costs(table, PRIMITIVES, CHANNELS, LAYERS, *SHAPE, batch=1)
    cost = lambda g: cell_cost(g.normal, rows, False) + cell_cost(g.reduce, rows, True)  # noqa: E731
    predicted = {name: table.predict(network(g), SHAPE, 1) for name, g in (("dear", DEAR), ("cheap", CHEAP))}
    assert predicted["dear"] - predicted["cheap"] == pytest.approx(cost(DEAR) - cost(CHEAP))
    assert cost(DEAR) > cost(CHEAP)


@pytest.fixture(scope="module")
def built_table(tmp_path_factory):
    """The documented darts-latency build at the test's tiny network, timed on this machine."""
    from darts.cli import latency
    out = tmp_path_factory.mktemp("table") / "latency_table.json"
    latency.main(["build", "--space", "darts", "--dataset", "digits", "--init_channels", str(CHANNELS), "--layers",
                  str(LAYERS), "--cells", "0", "--calibrate", "0", "--repeats", "1", "--warmup", "0",
                  "--out", str(out)])
    return out


def test_a_search_with_a_latency_table_keeps_the_converted_rows_and_resumes_from_them(tmp_path, built_table,
                                                                                       caplog):
    full = api.load_data("digits")
    data = api.as_image_dataset((full.train_x[:64], full.train_y[:64]))
    with caplog.at_level(logging.INFO, logger="darts"):
        run = api.search(data, save=tmp_path / "run", cost_weight=5.0, op_costs=str(built_table),
                         cost_channels=CHANNELS, cost_layers=LAYERS, layers=3, init_channels=4, batch_size=8,
                         epochs=1, max_batches=2, progress=False, device="cpu", no_plots=True, log_to_console=False)
    table = LatencyTable.load(built_table)
    rows = latency_op_costs(table, PRIMITIVES, CHANNELS, LAYERS, *SHAPE, batch=1)
    assert json.loads((tmp_path / "run" / COST_FILE).read_text()) == rows
    assert "expected_cost" in run.history[-1]
    assert f"inference latency at batch 1 on {table.machine_line()}" in caplog.text
    built_table.write_text("{}")  # a resumed search reads the run folder's rows, not the table again
    folder = RunDir(tmp_path / "run", resume=True)
    try:
        again = DartsCellCosts(PRIMITIVES, 4).table(folder, PRIMITIVES, str(built_table), DataShape(*SHAPE, 10),
                                                    "cpu", CHANNELS, LAYERS)
    finally:
        folder.close()
    assert again == rows


@pytest.mark.parametrize("flags,needle", [
    (["--cost_weight", "1", "--cost_batch", "2"], "--cost_batch 2 is the batch of a latency table"),
    (["--cost_weight", "1", "--op_costs", "{folder}/rows.json", "--cost_batch", "2"], "leave --cost_batch out"),
    (["--cost_cap", "ResidualSepConv", "--cost_cap_by", "step_time", "--op_costs", "{folder}/table.json"],
     "use --cost_cap_by op_costs with it"),
    (["--cost_weight", "1", "--op_costs", "{folder}/other.json"], "is a version 9 latency table")])
def test_what_a_latency_table_cannot_go_with_is_refused_before_anything_is_written(tmp_path, capsys, flags, needle):
    import train_search
    from tests.test_resource_cost import table as rows
    (tmp_path / "rows.json").write_text(json.dumps(rows()))
    hand_table().save(tmp_path / "table.json")
    (tmp_path / "other.json").write_text(json.dumps({**hand_table().to_dict(), "version": 9}))
    argv = TINY + [f.format(folder=tmp_path) for f in flags] + ["--save", str(tmp_path / "run")]
    refused(train_search.main, argv, capsys, tmp_path, needle)
    assert not (tmp_path / "run").exists()


def test_an_op_the_table_lacks_is_one_line_naming_it_and_the_build_that_has_it(tmp_path, capsys):
    """The table holds the ops of two networks only, neither of which has a 5x5 separable convolution in a
    normal cell."""
    import train_search
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    hand_table(cover=False).save(inputs / "table.json")
    argv = TINY + ["--cost_weight", "1", "--op_costs", str(inputs / "table.json"), "--cost_channels", str(CHANNELS),
                   "--cost_batch", "1", "--save", str(tmp_path / "run")]
    line = refused(train_search.main, argv, capsys, inputs, "the latency table has no entry for")
    assert "no entry for sep_conv_5x5 at stride 1 on 4x8x8 (batch 1) in the network of 20 cells from 4 channels" \
        in line
    assert line.endswith("darts-latency build --space darts --dataset digits --init_channels 4 --layers 20 "
                         "--batch 1 --device cpu:1 --out FILE")
