"""Genotype JSON round trips, the paper-text parser (no eval), validation errors, discretizer."""
import json

import pytest
import torch

from darts.genotype import Genotype, GenotypeError, RecurrentGenotype, format_genotype, parse_genotype
from darts.spaces.genotype_io import genotype_from_dict, genotype_from_json, load_genotype
from darts.ops import PRIMITIVES
from darts.spaces.common.cell_discretize import derive_cell
from darts.spaces.darts_cnn.discretize import derive_genotype

# DARTS_V2 exactly as the original genotypes.py writes it (concat as range).
PAPER_TEXT = """DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0),
 ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)],
 normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2),
 ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],
 reduce_concat=range(2, 6))"""


def test_parse_paper_text_and_round_trips():
    g = parse_genotype(PAPER_TEXT)
    assert isinstance(g, Genotype)
    assert g.normal[7] == ("dil_conv_3x3", 2) and g.reduce_concat == [2, 3, 4, 5]
    assert genotype_from_json(json.dumps(g.to_dict())) == g
    assert parse_genotype(format_genotype(g)) == g
    assert load_genotype("darts_v2") == g  # cells/ by case-insensitive name


def test_recurrent_round_trip():
    g = parse_genotype("Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), "
                       "('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))")
    assert isinstance(g, RecurrentGenotype) and g.concat == list(range(1, 9))
    assert genotype_from_json(json.dumps(g.to_dict())) == g


@pytest.mark.parametrize("text,message", [
    ("Genotype(normal=[('sep_conv_9x9', 0)] * 8, normal_concat=[2], reduce=[], reduce_concat=[2])", "literal"),
    ("__import__('os').system('true')", "Genotype("),
    ("Genotype(normal=__import__('os'), normal_concat=[2], reduce=[], reduce_concat=[2])", "literal"),
    ("Genotype(normal=[('sep_conv_3x3', 0)", "cannot parse"),
])
def test_parser_refuses_code(text, message):
    with pytest.raises(GenotypeError, match=message.replace("(", r"\(")):
        parse_genotype(text)


def _cnn(normal=None, reduce=None, concat=(2, 3, 4, 5)):
    base = [["sep_conv_3x3", 0], ["sep_conv_3x3", 1]] * 4
    return {"normal": normal or base, "normal_concat": list(concat), "reduce": reduce or base,
            "reduce_concat": list(concat)}


@pytest.mark.parametrize("data,message", [
    (_cnn(normal=[["sep_conv_9x9", 0], ["sep_conv_3x3", 1]] * 4), "unknown operation 'sep_conv_9x9'"),
    (_cnn(normal=[["sep_conv_3x3", 0]] * 7), "7 edges"),
    (_cnn(normal=[["sep_conv_3x3", 0], ["sep_conv_3x3", 2]] + [["sep_conv_3x3", 1]] * 6), "node 2 can only take inputs 0..1"),
    (_cnn(normal=[["none", 0], ["sep_conv_3x3", 1]] * 4), "'none'"),
    (_cnn(concat=(2, 3, 9)), "entry 9 is not a node"),
    (_cnn(normal=[["sep_conv_3x3", "0"], ["sep_conv_3x3", 1]] * 4), "pair"),
    ({"normal": []}, "expected"),
    ({"recurrent": [["tanh", 0], ["relu", 3]], "concat": [1, 2]}, "node 2 can only take inputs 0..1"),
])
def test_malformed_genotypes_name_the_problem(data, message):
    with pytest.raises(GenotypeError, match=message.replace("(", r"\(").replace(".", r"\.")):
        genotype_from_dict(data)


def test_unknown_cells_name_lists_available():
    with pytest.raises(GenotypeError, match="DARTS_V2"):
        load_genotype("no_such_cell")


def test_derive_cell_keeps_two_strongest_non_none_edges():
    ops = PRIMITIVES
    steps = 2  # nodes 2 (inputs 0, 1) and 3 (inputs 0, 1, 2): 5 edges
    w = torch.full((5, len(ops)), 0.01)
    w[0, ops.index("none")] = 0.9       # edge 0->2 is strong only through 'none': must lose
    w[0, ops.index("max_pool_3x3")] = 0.05
    w[1, ops.index("sep_conv_3x3")] = 0.3
    w[2, ops.index("skip_connect")] = 0.2   # node 3: edges from 0, 1, 2
    w[3, ops.index("dil_conv_5x5")] = 0.6
    w[3, ops.index("none")] = 0.99
    w[4, ops.index("avg_pool_3x3")] = 0.4
    gene = derive_cell(w, ops, steps)
    assert gene == [("sep_conv_3x3", 1), ("max_pool_3x3", 0), ("dil_conv_5x5", 1), ("avg_pool_3x3", 2)]


def test_derive_genotype_is_valid_and_excludes_none():
    torch.manual_seed(0)
    g = derive_genotype(torch.softmax(torch.randn(14, 8), -1), torch.softmax(torch.randn(14, 8), -1), PRIMITIVES)
    g.validate()
    assert all(op != "none" for op, _ in g.normal + g.reduce)
