"""Cell diagrams and search plots: real files are rendered and checked (valid images, right graph)."""
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from darts.drawing import FALLBACK_COLORS, OP_COLORS, op_color
from darts.errors import UserError
from darts.genotype import Genotype, RecurrentGenotype
from darts.ops import PRIMITIVES
from darts.spaces.common.nb201_diagram import nb201_cell_graph, parse_nb201_arch
from darts.spaces.genotype_io import available_cells
from visualize import render_genotype, render_search_dir
from visualize.__main__ import main
from visualize.cells import draw_graph_file, genotype_graphs
from visualize.plots import (chosen_edges, edge_endpoints, metric_series, plot_best_so_far, read_records,
                             seed_mean_std)

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

DARTS_V2 = Genotype(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=[2, 3, 4, 5])
DARTS_V2_RNN = RecurrentGenotype(
    recurrent=[("sigmoid", 0), ("relu", 1), ("relu", 1), ("identity", 1), ("tanh", 2), ("sigmoid", 5),
               ("tanh", 3), ("relu", 5)],
    concat=list(range(1, 9)))
NB201_ARCH = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"
RNN_PRIMITIVES = ["none", "tanh", "relu", "sigmoid", "identity"]

EDGE_LINE = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|\w+) -> ("(?:[^"\\]|\\.)*"|\w+)(?: \[(.*)\])?\s*$')


def graph_edges(source: str) -> Counter:
    """(src, dst, label or None) of the visible edges in a dot source."""
    edges = Counter()
    for line in source.splitlines():
        m = EDGE_LINE.match(line)
        if not m or "style=invis" in (m.group(3) or ""):
            continue
        label = re.search(r'label=("(?:[^"\\]|\\.)*"|\w+)', m.group(3) or "")
        edges[(m.group(1).strip('"'), m.group(2).strip('"'), label.group(1).strip('"') if label else None)] += 1
    return edges


def assert_png(path: Path, min_side: int = 200) -> None:
    assert path.suffix == ".png" and path.read_bytes()[:8] == PNG_MAGIC, path
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and min(im.size) >= min_side, (path, im.size)


def conv_expected(edges, concat) -> Counter:
    names = ["c_{k-2}", "c_{k-1}"] + [str(k) for k in range(len(edges) // 2)]
    expected = Counter((names[i], str(k // 2), op) for k, (op, i) in enumerate(edges))
    expected.update((names[i], "c_{k}", None) for i in concat)
    return expected


# ------------------------------------------------------------------------------------------------- diagrams
def test_conv_diagrams_have_the_genotype_nodes_and_labelled_edges():
    graphs = genotype_graphs(DARTS_V2)
    assert set(graphs) == {"normal", "reduce"}
    for cell in ("normal", "reduce"):
        source = graphs[cell].source
        edges, concat = getattr(DARTS_V2, cell), getattr(DARTS_V2, cell + "_concat")
        assert graph_edges(source) == conv_expected(edges, concat)
        for node in ["c_{k-2}", "c_{k-1}", "0", "1", "2", "3", "c_{k}"]:
            assert re.search(rf'^\s*"?{re.escape(node)}"? \[', source, re.M), node
        for op in {op for op, _ in edges}:  # each op edge drawn in the op's colour
            assert re.search(rf'label={op} [^\n]*color="{op_color(op)}"', source), op


def test_recurrent_diagram_has_inputs_nodes_and_output():
    graphs = genotype_graphs(DARTS_V2_RNN)
    assert list(graphs) == ["recurrent"]
    expected = Counter((str(i), str(k + 1), op) for k, (op, i) in enumerate(DARTS_V2_RNN.recurrent))
    expected.update([("x_{t}", "0", None), ("h_{t-1}", "0", None)])
    expected.update((str(i), "h_{t}", None) for i in DARTS_V2_RNN.concat)
    assert graph_edges(graphs["recurrent"].source) == expected


def test_rendered_svg_carries_every_edge_label(graphviz_dot, tmp_path):
    [svg_normal, svg_reduce] = render_genotype(DARTS_V2, tmp_path, "v2", "svg")
    assert [svg_normal.name, svg_reduce.name] == ["v2_normal.svg", "v2_reduce.svg"]
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.parse(svg_normal).getroot()
    labels = Counter()
    for g in root.iterfind(".//s:g[@class='edge']", ns):
        labels.update(t.text for t in g.iterfind("s:text", ns))
    assert labels == Counter(op for op, _ in DARTS_V2.normal)
    nodes = {g.find("s:title", ns).text for g in root.iterfind(".//s:g[@class='node']", ns)}
    assert nodes == {"c_{k-2}", "c_{k-1}", "0", "1", "2", "3", "c_{k}"}


def test_render_png_and_pdf_files_are_valid(graphviz_dot, tmp_path):
    pngs = render_genotype(DARTS_V2, tmp_path, "darts_v2", "png")
    assert [p.name for p in pngs] == ["darts_v2_normal.png", "darts_v2_reduce.png"]
    for p in pngs:
        assert_png(p)
        with Image.open(p) as im:
            assert im.size[0] > im.size[1]  # left-to-right layout is wider than tall
    [rnn] = render_genotype(DARTS_V2_RNN, tmp_path, "rnn", "pdf")
    assert rnn.name == "rnn_recurrent.pdf" and rnn.read_bytes()[:5] == b"%PDF-"
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary files
    with pytest.raises(UserError, match="format"):
        render_genotype(DARTS_V2, tmp_path, "x", "jpg")


def test_missing_dot_writes_sources_and_one_install_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("visualize.cells.shutil.which", lambda name: None)
    paths = render_genotype(DARTS_V2, tmp_path, "v2", "png")
    assert [p.name for p in paths] == ["v2_normal.dot", "v2_reduce.dot"]
    assert paths[0].read_text() == genotype_graphs(DARTS_V2)["normal"].source
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apt-get install graphviz" in err[0]


def test_nb201_cell_parse_and_diagram(graphviz_dot, tmp_path):
    triples = parse_nb201_arch(NB201_ARCH)
    assert triples == [("nor_conv_3x3", 0, 1), ("none", 0, 2), ("avg_pool_3x3", 1, 2),
                       ("skip_connect", 0, 3), ("nor_conv_1x1", 1, 3), ("skip_connect", 2, 3)]
    expected = Counter((str(i), str(j), op) for op, i, j in triples if op != "none")
    assert graph_edges(nb201_cell_graph(NB201_ARCH).source) == expected
    assert graph_edges(nb201_cell_graph(triples).source) == expected
    out = draw_graph_file(nb201_cell_graph(NB201_ARCH), tmp_path / "cell.png")
    assert out == tmp_path / "cell.png"
    assert_png(out, min_side=100)
    for bad in ["|conv~0|+|conv~2|", "|conv0|", "|conv~0|+||"]:
        with pytest.raises(UserError, match="NAS-Bench-201"):
            parse_nb201_arch(bad)


def test_op_colours_cover_every_space_and_stay_stable():
    listed = PRIMITIVES + ["sep_conv_7x7", "conv_7x1_1x7", "tanh", "relu", "sigmoid", "identity",
                           "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect"]
    assert set(listed) <= set(OP_COLORS)
    assert len({op_color(op) for op in PRIMITIVES}) == len(PRIMITIVES)  # one panel holds all eight
    assert len({op_color(op) for op in RNN_PRIMITIVES}) == len(RNN_PRIMITIVES)
    assert op_color("my_new_op") in FALLBACK_COLORS and op_color("my_new_op") == op_color("my_new_op")
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in list(OP_COLORS.values()) + list(FALLBACK_COLORS))


# ------------------------------------------------------------------------------------------------- search plots
def fake_cnn_search(folder: Path, epochs: int = 3) -> list[dict]:
    rng = np.random.default_rng(0)
    logits = {c: np.zeros((14, len(PRIMITIVES))) for c in ("normal", "reduce")}
    records = []
    for e in range(epochs):
        rec = {"epoch": e, "primitives": PRIMITIVES}
        for cell, a in logits.items():
            a += rng.normal(0, 0.3, a.shape)
            rec[cell] = (np.exp(a) / np.exp(a).sum(1, keepdims=True)).tolist()
        rec["genotype"] = DARTS_V2.to_dict()
        rec["metrics"] = {"train_loss": 2.3 - 0.2 * e, "train_acc": 10.0 + 5 * e,
                          "valid_loss": 2.4 - 0.2 * e, "valid_acc": 9.0 + 5 * e}
        records.append(rec)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alphas.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "genotype.json").write_text(json.dumps(DARTS_V2.to_dict()))
    return records


def test_render_search_dir_draws_cells_alphas_and_curves(graphviz_dot, tmp_path, capsys):
    fake_cnn_search(tmp_path / "run")
    paths = render_search_dir(tmp_path / "run", epoch_cells=True)
    figures = tmp_path / "run" / "figures"
    expected = {"genotype_normal.png", "genotype_reduce.png", "alphas_normal.png", "alphas_reduce.png",
                "alphas_final.png", "metrics.png"}
    expected |= {f"epochs/epoch_{e:03d}_{c}.png" for e in range(3) for c in ("normal", "reduce")}
    assert {p.relative_to(figures).as_posix() for p in paths} == expected
    for p in paths:
        assert_png(p)
    with Image.open(figures / "alphas_normal.png") as im:  # 4 rows x 5 columns of panels
        assert 900 <= im.size[0] <= 2500 and 600 <= im.size[1] <= 2000, im.size
    assert capsys.readouterr().err == ""


def test_render_search_dir_recurrent_space_and_history(graphviz_dot, tmp_path):
    rng = np.random.default_rng(1)
    lines = []
    for e in range(3):
        w = rng.dirichlet(np.ones(len(RNN_PRIMITIVES)), size=36)
        lines.append({"epoch": e, "primitives": RNN_PRIMITIVES, "recurrent": w.tolist(),
                      "genotype": DARTS_V2_RNN.to_dict(),
                      "metrics": {"train_ppl": 900.0 - 50 * e, "valid_ppl": 950.0 - 40 * e}})
    run = tmp_path / "rnn"
    run.mkdir()
    (run / "alphas.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (run / "history.jsonl").write_text("".join(
        json.dumps({"step": s, "arch": "a", "reward": r, "best_reward": max(rng_r[:s + 1]), "time": s})
        + "\n" for rng_r in [[3.0, 1.0, 4.0, 2.0]] for s, r in enumerate(rng_r)))
    paths = render_search_dir(run, tmp_path / "out", "png")
    assert {p.name for p in paths} == {"genotype_recurrent.png", "alphas_recurrent.png", "alphas_final.png",
                                       "metrics.png", "best_so_far.png"}
    for p in paths:
        assert_png(p)


def test_search_dir_errors_are_one_line_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        render_search_dir(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="train_search.py"):
        render_search_dir(tmp_path / "empty")
    bad = tmp_path / "bad"
    fake_cnn_search(bad)
    with open(bad / "alphas.jsonl", "a") as f:
        f.write('{"epoch": 3, "primitives": [\n')
    complete = read_records(bad / "alphas.jsonl")  # a truncated last line (a copy cut short) is left out
    with open(bad / "alphas.jsonl", "a") as f:
        f.write('{"epoch": 4}\n')
    with pytest.raises(UserError, match="line 4"):
        read_records(bad / "alphas.jsonl")
    assert len(complete) == 3


def test_edge_names_match_between_alpha_rows_and_genotype():
    cnn = edge_endpoints("normal", 14)
    assert cnn[:2] == [("$c_{k-2}$", "0"), ("$c_{k-1}$", "0")] and cnn[-1] == ("2", "3") and len(set(cnn)) == 14
    rnn = edge_endpoints("recurrent", 36)
    assert rnn[0] == ("0", "1") and rnn[-1] == ("7", "8") and len(set(rnn)) == 36
    assert edge_endpoints("cell", 6)[-1] == ("2", "3")  # NAS-Bench-201: 4 nodes, 6 edges
    for cell, n, g in [("normal", 14, DARTS_V2), ("reduce", 14, DARTS_V2), ("recurrent", 36, DARTS_V2_RNN)]:
        kept = chosen_edges(cell, g.to_dict())
        assert sum(len(ops) for ops in kept.values()) == len(getattr(g, cell))
        assert set(kept) <= set(edge_endpoints(cell, n))
    enas_like = {"normal": [["sep_conv_3x3", 1], ["skip_connect", 1]], "normal_concat": [2]}
    assert chosen_edges("normal", enas_like) == {("$c_{k-1}$", "0"): ["sep_conv_3x3", "skip_connect"]}
    with pytest.raises(UserError, match="rows"):
        edge_endpoints("normal", 13)


def test_metric_series_keeps_whatever_is_present():
    records = [{"epoch": 0, "metrics": {"train_loss": 2.0, "valid_ppl": 50.0}},
               {"epoch": 1, "metrics": {"train_loss": 1.5, "valid_loss": 1.7, "valid_ppl": 40.0}},
               {"epoch": 2}]
    assert metric_series(records) == {"loss": {"train": [(0, 2.0), (1, 1.5)], "valid": [(1, 1.7)]},
                                      "ppl": {"valid": [(0, 50.0), (1, 40.0)]}}


def test_best_so_far_mean_spread_and_plot(tmp_path):
    mean, std = seed_mean_std([[1.0, 2.0, 4.0], [3.0, 4.0]])  # cut to the shorter seed
    np.testing.assert_allclose(mean, [2.0, 3.0])
    np.testing.assert_allclose(std, [1.0, 1.0])
    curves = {"random": [[1, 2, 2, 3], [0, 1, 3, 3]], "evolution": [[2, 2, 3, 4, 4]]}
    spines_before = matplotlib.rcParams["axes.spines.top"]
    assert_png(plot_best_so_far(curves, tmp_path / "cmp.png"))
    assert matplotlib.rcParams["axes.spines.top"] == spines_before  # the caller's style is left alone
    assert plot_best_so_far(curves, tmp_path / "cmp", "svg").name == "cmp.svg"
    with pytest.raises(UserError):
        plot_best_so_far({}, tmp_path / "none.png")


# ------------------------------------------------------------------------------------------------- CLI
def test_cli_genotype_json_and_errors(graphviz_dot, tmp_path, capsys):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(DARTS_V2.to_dict()))
    assert main([str(path), "--out", str(tmp_path / "o"), "--format", "svg"]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["mine_normal.svg", "mine_reduce.svg"]
    capsys.readouterr()
    assert main(["NO_SUCH_CELL", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_:
        main(["x", "--format", "jpg"])
    assert exit_.value.code == 2 and capsys.readouterr().err.startswith("error: ")


@pytest.mark.skipif("DARTS_V2" not in available_cells(), reason="cells/DARTS_V2.json not written yet")
def test_python_m_visualize_darts_v2(graphviz_dot, tmp_path):
    out = subprocess.run([sys.executable, "-m", "visualize", "DARTS_V2", "--out", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["darts_v2_normal.png", "darts_v2_reduce.png"]
    for p in tmp_path.iterdir():
        assert_png(p)
