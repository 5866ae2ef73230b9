"""Pareto fronts, hypervolume, the multi-objective strategies (exact resume, constraints) and their command line."""
import json
import random

import pytest

from darts.errors import UserError
from darts.pareto import crowding_distances, dominates, hypervolume, non_dominated_ranks, pareto_front
from darts.spaces.nb201.sampling import Nb201ArchSpace
from darts.strategies.multi_objective import Constraint, Objective, parse_constraint, run_multi_objective
from darts.strategies.multi_objective_evolution import MultiObjectiveRandom, ParetoEvolution
from darts.strategies.multi_objective_optuna import MOTPE, NSGA2
from darts.strategies.random_search import RandomSearch

MAX_MIN = ("maximize", "minimize")


def test_dominance_follows_each_objectives_direction():
    assert dominates((90, 1.0), (80, 2.0), MAX_MIN)
    assert dominates((90, 1.0), (90, 2.0), MAX_MIN)           # better in one, equal in the other
    assert not dominates((90, 1.0), (90, 1.0), MAX_MIN)       # equal points do not dominate each other
    assert not dominates((90, 2.0), (80, 1.0), MAX_MIN)       # a trade-off
    assert dominates((80, 2.0), (90, 1.0), ("minimize", "maximize"))
    assert dominates((1, 1, 1), (1, 1, 2), ("minimize",) * 3)


def test_front_and_ranks_match_a_hand_computed_front():
    # (accuracy, cost): c, d and f trade off; a is dominated by c, b by d, e by f and by d
    points = [(70, 3.0), (80, 5.0), (75, 2.0), (85, 4.0), (60, 6.0), (90, 6.0)]
    assert pareto_front(points) == [2, 3, 5]                  # default: accuracy maximized, costs minimized
    assert non_dominated_ranks(points) == [1, 1, 0, 0, 2, 0]
    assert pareto_front([]) == []
    assert crowding_distances([(0, 0), (1, 1), (3, 2), (4, 4)]) == [float("inf"), pytest.approx(3 / 4 + 2 / 4),
                                                                    pytest.approx(3 / 4 + 3 / 4), float("inf")]


def test_hypervolume_2d_by_hand():
    # minimized staircase (1,3), (2,2), (3,1) under reference (4,4): strips 3*1 + 2*1 + 1*1
    assert hypervolume([(1, 3), (2, 2), (3, 1)], (4, 4), ("minimize", "minimize")) == pytest.approx(6)
    # as (accuracy, cost): accuracy 90 at cost 2, 80 at cost 1; reference accuracy 0, cost 3
    assert hypervolume([(90, 2), (80, 1)], (0, 3), MAX_MIN) == pytest.approx(90 * 1 + 80 * 1)
    # a dominated point and one outside the reference add nothing
    assert hypervolume([(90, 2), (80, 1), (70, 2.5), (95, 4)], (0, 3), MAX_MIN) == pytest.approx(170)
    assert hypervolume([], (0, 3), MAX_MIN) == 0.0


def test_hypervolume_3d_by_hand():
    mins = ("minimize",) * 3
    assert hypervolume([(1, 1, 1)], (2, 3, 4), mins) == pytest.approx(1 * 2 * 3)
    # two boxes of volume 2 and 4 that share a unit cube
    assert hypervolume([(1, 2, 2), (2, 1, 1)], (3, 3, 3), mins) == pytest.approx(2 + 4 - 1)
    # accuracy maximized: (acc 2, c 1, c 1) against (0, 2, 2) is a 2 x 1 x 1 box
    assert hypervolume([(2, 1, 1)], (0, 2, 2), ("maximize", "minimize", "minimize")) == pytest.approx(2)


@pytest.mark.parametrize("dims", [2, 3])
def test_hypervolume_agrees_with_optunas_routine(dims):
    wfg = pytest.importorskip("optuna._hypervolume")  # private API: used here only as a reference
    import numpy as np
    rng = random.Random(dims)
    points = [tuple(rng.random() for _ in range(dims)) for _ in range(40)]
    ours = hypervolume(points, (1.1,) * dims, ("minimize",) * dims)
    assert ours == pytest.approx(wfg.compute_hypervolume(np.array(points), np.array([1.1] * dims)), rel=1e-12)


def _objectives():
    """Toy objectives on NAS-Bench-201 cells: an 'accuracy' from the decisions and a 'cost' (their sum)."""
    space = Nb201ArchSpace()
    acc = lambda a: float(sum((d + 1) * (k % 3 + 1) for k, d in enumerate(space.to_decisions(a))))  # noqa: E731
    cost = lambda a: float(sum(d * d for d in space.to_decisions(a)))  # noqa: E731
    return [Objective("accuracy", "maximize", acc), Objective("cost", "minimize", cost)]


STRATEGIES = {
    "nsga2": lambda seed, **kw: NSGA2(Nb201ArchSpace(), seed=seed, population_size=4, **kw),
    "motpe": lambda seed, **kw: MOTPE(Nb201ArchSpace(), seed=seed, n_startup_trials=3, n_ei_candidates=4, **kw),
    "pareto_evolution": lambda seed, **kw: ParetoEvolution(Nb201ArchSpace(), seed=seed, population_size=4,
                                                           sample_size=2, **kw),
    "mo_random": lambda seed, **kw: MultiObjectiveRandom(Nb201ArchSpace(), seed=seed, **kw),
}


def _trace(result):
    return [(r["arch"], r["objectives"]) for r in result.records]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_a_resumed_search_equals_the_uninterrupted_one(tmp_path, name):
    make, objectives = STRATEGIES[name], _objectives()
    (tmp_path / "a").mkdir()
    whole = run_multi_objective(make(3), objectives, 12, tmp_path / "a" / "history.jsonl", progress=False,
                                reference=(0, 100))
    (tmp_path / "b").mkdir()
    run_multi_objective(make(3), objectives, 7, tmp_path / "b" / "history.jsonl", progress=False)
    resumed = run_multi_objective(make(3), objectives, 12, tmp_path / "b" / "history.jsonl", progress=False,
                                  reference=(0, 100))  # a fresh object: everything comes from the saved state
    assert _trace(resumed) == _trace(whole)
    assert len({json.dumps(a) for a, _ in _trace(whole)}) > 6  # the strategy explored
    front = json.loads((tmp_path / "b" / "front.json").read_text())
    assert front["hypervolume"] == pytest.approx(whole.hypervolume) and front["reference"] == [0, 100]
    assert [p["objectives"] for p in front["front"]] == [p["objectives"] for p in whole.front]


def test_a_single_objective_strategy_runs_as_the_baseline():
    result = run_multi_objective(RandomSearch(Nb201ArchSpace(), seed=1), _objectives(), 10, progress=False,
                                 reference=(0, 100))
    values = [tuple(r["objectives"].values()) for r in result.records]
    assert sorted(tuple(p["objectives"].values()) for p in result.front) == sorted(
        set(values[i] for i in pareto_front(values)))


@pytest.mark.parametrize("name", ["nsga2", "motpe", "pareto_evolution"])
def test_constrained_search_chooses_the_best_feasible_architecture(name):
    bound = 20.0
    strategy = STRATEGIES[name](5, directions=MAX_MIN, constraints=(Constraint(1, bound),))
    result = run_multi_objective(strategy, _objectives(), 16, progress=False)
    feasible = [r for r in result.records if r["objectives"]["cost"] <= bound]
    assert feasible, "the toy search should see a feasible cell"
    assert result.best["objectives"]["cost"] <= bound
    assert result.best["objectives"]["accuracy"] == max(r["objectives"]["accuracy"] for r in feasible)
    assert all(p["objectives"]["cost"] <= bound for p in result.front)
    study = getattr(strategy, "study", None)
    if study is not None:  # Optuna's samplers read each trial's violation from its constraints
        done = [t for t in study.trials if t.values is not None]
        assert done and all(t.constraints == {"c0": max(0.0, t.values[1] - bound)} for t in done)


def test_pareto_evolution_prefers_feasible_then_non_dominated_parents():
    s = ParetoEvolution(Nb201ArchSpace(), seed=0, population_size=3, sample_size=3,
                        constraints=(Constraint(1, 5.0),))
    for values in [(99.0, 9.0), (40.0, 5.0), (50.0, 4.0)]:  # the best accuracy is infeasible
        s.tell(Nb201ArchSpace().sample_random(random.Random(len(s.population))), values)
    keys = s.fitness_keys()  # (violation, rank among the feasible, -crowding)
    assert keys[0][0] == 4.0 and keys[1][:2] == (0.0, 1) and keys[2][:2] == (0.0, 0)
    assert min(range(3), key=keys.__getitem__) == 2


def test_constraints_are_parsed_against_the_objective_names():
    assert parse_constraint("params<=1e6", ["accuracy", "params"]) == Constraint(1, 1e6, True)
    assert parse_constraint("accuracy >= 90", ["accuracy", "params"]) == Constraint(0, 90.0, False)
    for bad in ("latency<=3", "params<1e6", "params<=lots"):
        with pytest.raises(UserError):
            parse_constraint(bad, ["accuracy", "params"])


def test_the_command_line_writes_the_front_and_its_figure(tmp_path, shared_file):
    import train_search
    table = shared_file("nb201/nats_bench_tss_200ep.csv")
    out = tmp_path / "mo"
    argv = ["--space", "nb201", "--strategy", "pareto_evolution", "--benchmark", str(table), "--budget", "8",
            "--objectives", "params", "--constraint", "params<=800000", "--pareto_evolution_population_size", "4",
            "--pareto_evolution_sample_size", "2", "--no_progress", "--save", str(out)]
    assert train_search.run_cli(train_search.main, argv) == 0
    front = json.loads((out / "front.json").read_text())
    rows = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and set(rows[0]["objectives"]) == {"accuracy", "params"}
    assert front["hypervolume"] > 0 and len(front["reference"]) == 2
    assert all(p["objectives"]["params"] <= 800000 for p in front["front"])
    assert (out / "figures" / "front.png").stat().st_size > 0 and (out / "genotype.json").is_file()


def test_a_bad_constraint_is_refused_before_the_folder_exists(tmp_path, shared_file):
    import train_search
    table = shared_file("nb201/nats_bench_tss_200ep.csv")
    argv = ["--space", "nb201", "--strategy", "nsga2", "--benchmark", str(table), "--budget", "4",
            "--constraint", "latency<=3", "--save", str(tmp_path / "x")]
    assert train_search.run_cli(train_search.main, argv) != 0
    assert not (tmp_path / "x").exists()


def test_latency_from_a_latency_table_is_a_cost(tmp_path, shared_file):
    """--objectives latency: each evaluation's latency is the table's prediction for the cell's network."""
    import train_search
    from darts.cli import latency
    from darts.latency import LatencyTable
    from darts.runs import run_cli
    from darts.spaces.common.nb201_arch import Nb201Arch
    from darts.spaces.registry import DataShape, get_space
    table_file, out = tmp_path / "latency.json", tmp_path / "mo"
    sizes = ["--init_channels", "4", "--layers", "3"]
    assert run_cli(latency.main, ["build", "--space", "nb201", *sizes, "--cells", "0", "--repeats", "1", "--warmup",
                                  "0", "--calibrate", "0", "--out", str(table_file)]) == 0
    bench = shared_file("nb201/nats_bench_tss_200ep.csv")
    argv = ["--space", "nb201", "--strategy", "nsga2", "--benchmark", str(bench), "--budget", "4", *sizes,
            "--objectives", "latency", "--latency_table", str(table_file), "--no_progress", "--no_plots",
            "--save", str(out)]
    assert train_search.run_cli(train_search.main, argv) == 0
    table, space = LatencyTable.load(table_file), get_space("nb201")
    settings = space.resolve({"init_channels": 4, "layers": 3})
    for row in (json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()):
        net = space.build_network(Nb201Arch.from_string(row["arch"]), settings, DataShape(3, 32, 32, 10)).eval()
        assert row["objectives"]["latency"] == pytest.approx(table.predict(net, (3, 32, 32), 1), rel=1e-12)
