"""Bringing your own data (image folders, npz files, tensors, torch Datasets) and your own operations."""
import json
import logging

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from darts import api
from darts.data import load_image_dataset
from darts.data import folder as folder_module
from darts.data.images import image_input_shape
from darts.errors import UserError
from darts.spaces.genotype_io import genotype_from_dict
from darts.ops import OPS, register_op
from darts.plugins import import_plugin

TINY_SEARCH = dict(epochs=1, layers=3, init_channels=4, batch_size=4, max_batches=2, progress=False, device="cpu",
                   no_plots=True)  # drawing: tests/test_visualize.py
TINY_NET = dict(init_channels=4, layers=3)


def write_image(path, rng, size=(10, 12), mode="RGB"):
    h, w = size
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)


def image_folder(root, classes=("cat", "dog", "eel"), train=6, test=2, corrupt=True, mode="RGB"):
    """DIR/train/<class>/ and DIR/test/<class>/ of PNG and JPEG images of various sizes, one corrupt."""
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("test", test)):
        for c in classes:
            for i in range(n):
                write_image(root / split / c / f"{i}.{'png' if i % 2 else 'jpg'}", rng, (9 + i, 11 + 2 * i), mode)
    if corrupt:
        (root / "train" / classes[0] / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


# --- image folders ------------------------------------------------------------------------------------
def test_folder_reads_resizes_and_skips_a_corrupt_file(tmp_path, caplog):
    root = image_folder(tmp_path / "imgs")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    with caplog.at_level(logging.INFO, logger="darts"):
        ds = load_image_dataset("folder", root, image_size=8, cache=tmp_path / "cache")
    assert ds.train_x.shape == (18, 3, 8, 8) and ds.test_x.shape == (6, 3, 8, 8)
    assert ds.train_x.dtype == torch.uint8 and ds.num_classes == 3 and ds.class_names == ["cat", "dog", "eel"]
    assert sorted(ds.train_y.tolist()) == [0] * 6 + [1] * 6 + [2] * 6
    assert ds.augmentation.crop_padding == 1 and ds.augmentation.flip
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("skipped 1 unreadable image" in w for w in warnings)
    assert any(str(root / "train" / "cat" / "broken.png") in w for w in warnings)
    # mean and std of the training split only, per channel
    x = ds.train_x.double() / 255
    assert np.allclose(ds.mean, x.mean(dim=(0, 2, 3)).tolist(), atol=1e-9)
    assert np.allclose(ds.std, x.std(dim=(0, 2, 3), unbiased=False).tolist(), atol=1e-9)


def test_folder_resize_keeps_aspect_and_crops_the_centre(tmp_path):
    """A 8x16 image of red | green | blue columns: shorter side 8 is kept, the centre 8 columns are green."""
    a = np.zeros((8, 16, 3), np.uint8)
    a[:, :4, 0] = 255
    a[:, 4:12, 1] = 255
    a[:, 12:, 2] = 255
    for c in ("a", "b"):
        for i in range(3):
            (tmp_path / "d" / c).mkdir(parents=True, exist_ok=True)
            Image.fromarray(a).save(tmp_path / "d" / c / f"{i}.png")
    ds = load_image_dataset("folder", tmp_path / "d", image_size=8, cache=False, test_fraction=0.34)
    assert ds.train_x.shape[1:] == (3, 8, 8)
    assert (ds.train_x[:, 1] == 255).all() and (ds.train_x[:, [0, 2]] == 0).all()


def test_folder_grayscale_detected_and_mixed_folders_are_rgb(tmp_path):
    gray = image_folder(tmp_path / "gray", corrupt=False, mode="L")
    ds = load_image_dataset("folder", gray, image_size=6, cache=False)
    assert ds.in_channels == 1 and len(ds.mean) == 1
    assert image_input_shape("folder", gray, image_size=6, cache=False) == (1, 6, 6, 3)
    write_image(gray / "train" / "dog" / "colour.png", np.random.default_rng(1))
    ds = load_image_dataset("folder", gray, image_size=6, cache=False)
    assert ds.in_channels == 3
    # grayscale images in an RGB dataset get three equal channels
    assert (ds.train_x[:, 0] == ds.train_x[:, 1]).all(dim=(1, 2)).sum() == len(ds.train_x) - 1
    assert image_input_shape("folder", gray, image_size=6, cache=False) == (3, 6, 6, 3)


def test_folder_strict_names_the_corrupt_file(tmp_path):
    root = image_folder(tmp_path / "imgs")
    with pytest.raises(UserError, match=r"1 unreadable image.*broken\.png"):
        load_image_dataset("folder", root, image_size=8, cache=tmp_path / "cache", strict=True)
    # strict applies to a cached folder too
    with pytest.raises(UserError, match="broken.png"):
        load_image_dataset("folder", root, image_size=8, cache=tmp_path / "cache", strict=True)


def test_folder_cache_is_reused_and_rebuilt_when_stale(tmp_path, monkeypatch):
    root = image_folder(tmp_path / "imgs", corrupt=False)
    cache = tmp_path / "cache"
    calls = []
    real = folder_module.decode_image
    monkeypatch.setattr(folder_module, "decode_image", lambda p, s: calls.append(p) or real(p, s))
    first = load_image_dataset("folder", root, image_size=8, cache=cache)
    assert len(calls) == 24
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # no temporary file left behind
    again = load_image_dataset("folder", root, image_size=8, cache=cache)
    assert len(calls) == 24  # read from the cache, nothing decoded
    assert torch.equal(first.train_x, again.train_x) and torch.equal(first.test_y, again.test_y)
    # an edited image (new size and mtime) makes the cache stale: everything is decoded again
    write_image(root / "train" / "dog" / "0.jpg", np.random.default_rng(5), (30, 30))
    changed = load_image_dataset("folder", root, image_size=8, cache=cache)
    assert len(calls) == 48 and not torch.equal(changed.train_x, first.train_x)
    assert len(list(cache.iterdir())) == 1  # the stale file was replaced, not kept beside the new one
    # another image size is another cache file
    load_image_dataset("folder", root, image_size=6, cache=cache)
    assert len(calls) == 72 and len(list(cache.iterdir())) == 2
    # an unreadable cache file is rebuilt, not a crash
    files[0].write_bytes(b"garbage")
    load_image_dataset("folder", root, image_size=8, cache=cache)
    assert len(calls) == 96


def test_folder_default_cache_is_in_the_user_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = image_folder(tmp_path / "imgs", corrupt=False)
    load_image_dataset("folder", root, image_size=8)
    assert len(list((tmp_path / "xdg" / "darts").glob("folder-imgs-*-8px.pt"))) == 1
    load_image_dataset("folder", root, image_size=6, cache=False)  # no cache: nothing written
    assert len(list((tmp_path / "xdg" / "darts").iterdir())) == 1


def test_folder_single_tree_holds_out_a_stratified_fixed_fraction(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        for i in range(10):
            write_image(tmp_path / "d" / c / f"{i}.png", rng, (6, 6))
    ds = load_image_dataset("folder", tmp_path / "d", image_size=6, cache=False, test_fraction=0.2)
    assert sorted(ds.test_y.tolist()) == [0, 0, 1, 1] and len(ds.train_y) == 16
    same = load_image_dataset("folder", tmp_path / "d", image_size=6, cache=False, test_fraction=0.2)
    assert torch.equal(ds.test_x, same.test_x) and torch.equal(ds.train_x, same.train_x)
    # held-out images are not training images
    train_rows = {bytes(t.numpy()) for t in ds.train_x}
    assert not any(bytes(t.numpy()) in train_rows for t in ds.test_x)
    # training order is shuffled, so train_search's by-position split sees both classes on each side
    assert set(ds.train_y[:8].tolist()) == {0, 1} and set(ds.train_y[8:].tolist()) == {0, 1}


@pytest.mark.parametrize("make, message", [
    (lambda d: None, "is not a folder"),
    (lambda d: (d.mkdir(), (d / "x.png").write_bytes(b"")), "no class subfolders"),
    (lambda d: write_image(d / "only" / "0.png", np.random.default_rng(0)), "a single class folder"),
    (lambda d: (image_folder(d, corrupt=False), (d / "test" / "fox").mkdir()), "fox is a class that"),
    (lambda d: (image_folder(d, corrupt=False), (d / "train" / "yak").mkdir()), "yak holds no images"),
])
def test_folder_layout_errors(tmp_path, make, message):
    make(tmp_path / "d")
    with pytest.raises(UserError, match=message):
        load_image_dataset("folder", tmp_path / "d", image_size=8, cache=False)


# --- npz files ----------------------------------------------------------------------------------------
def test_npz_reader(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 7, 7, 3), dtype=np.uint8)
    y = np.arange(30) % 3
    np.savez(tmp_path / "a.npz", x=x, y=y, x_test=x[:6], y_test=y[:6])
    ds = load_image_dataset("npz", tmp_path / "a.npz")
    assert ds.train_x.shape == (30, 3, 7, 7) and ds.test_x.shape == (6, 3, 7, 7) and ds.num_classes == 3
    assert torch.equal(ds.test_x[0], torch.from_numpy(x[0]).permute(2, 0, 1))  # HWC -> CHW, untouched
    assert image_input_shape("npz", tmp_path / "a.npz") == (3, 7, 7, 3)
    # float images in [0, 1], grayscale (N, H, W), no test arrays: a stratified 20 % is held out
    np.savez(tmp_path / "b.npz", x=x[..., 0] / 255.0, y=y)
    ds = load_image_dataset("npz", tmp_path / "b.npz")
    assert ds.in_channels == 1 and len(ds.train_x) == 24 and sorted(ds.test_y.tolist()) == [0, 0, 1, 1, 2, 2]
    assert torch.equal(ds.test_x[:, 0], torch.from_numpy(x[..., 0])[sorted_test_rows(ds, x[..., 0])])


def sorted_test_rows(ds, x):
    """Row of x that each held-out image came from."""
    rows = {bytes(np.ascontiguousarray(img)): i for i, img in enumerate(x)}
    return [rows[bytes(t.numpy())] for t in ds.test_x[:, 0]]


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.zeros((4, 8, 8), np.uint8)), r"no y"),
    (dict(x=np.zeros((4, 8), np.uint8), y=np.zeros(4, int)), r"array x has shape \(4, 8\)"),
    (dict(x=np.zeros((4, 8, 8), np.uint8), y=np.zeros(5, int)), r"array y holds 5 labels for 4 images"),
    (dict(x=np.zeros((4, 3, 8, 3), np.uint8), y=np.zeros(4, int)), r"channels_last=True or False"),
    (dict(x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, -1, 0])), r"negative label \(-1\)"),
    (dict(x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1.5, 1, 0])), r"non-integer"),
    (dict(x=np.zeros((4, 8, 8)) - 1.0, y=np.array([0, 1, 1, 0])), r"values in \[-1, -1\]"),
    (dict(x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, 1, 0]), x_test=np.zeros((2, 8, 8), np.uint8),
          y_test=np.array([0, 2])), r"label \(2\) falls outside the 2 classes"),
    (dict(x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, 1, 0]), x_test=np.zeros((2, 8, 8), np.uint8)),
     r"give both array x_test and array y_test"),
    (dict(x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, 1, 0]), x_test=np.zeros((2, 6, 6), np.uint8),
          y_test=np.array([0, 1])), r"test images \(1, 6, 6\)"),
    (dict(x=np.array([np.zeros((8, 8)), np.zeros((7, 7))], dtype=object), y=np.array([0, 1])), "object array"),
])
def test_npz_errors_are_clear(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError, match=message):
        load_image_dataset("npz", tmp_path / "bad.npz")


def test_npz_file_errors(tmp_path):
    with pytest.raises(UserError, match="is not a file"):
        load_image_dataset("npz", tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(UserError, match="is not a .npz file"):
        load_image_dataset("npz", tmp_path / "text.npz")
    with pytest.raises(UserError, match="--dataset npz needs --data"):
        load_image_dataset("npz")


# --- tensors and torch Datasets -----------------------------------------------------------------------
def test_tensors_and_datasets_become_the_same_dataset():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 1, 6, 6, generator=g)
    y = torch.arange(20) % 2
    from_pair = api.as_image_dataset((x, y))
    from_dataset = api.as_image_dataset(torch.utils.data.TensorDataset(x, y))
    pil_items = [(Image.fromarray((img[0] * 255).round().byte().numpy()), int(t)) for img, t in zip(x, y)]
    from_pil = api.as_image_dataset(pil_items)
    for ds in (from_dataset, from_pil):
        assert torch.equal(ds.train_x, from_pair.train_x) and torch.equal(ds.test_y, from_pair.test_y)
    # float images in [0, 1] are scaled to 0..255; the splits together hold every image once
    rows = sorted(bytes(t.numpy()) for t in torch.cat([from_pair.train_x, from_pair.test_x]))
    assert rows == sorted(bytes(t.numpy()) for t in (x * 255).round().byte())
    with pytest.raises(UserError, match="must be in|values in"):
        api.as_image_dataset((x - 0.5, y))  # already normalized images are refused
    with pytest.raises(UserError, match=r"item 1 has shape"):
        api.as_image_dataset([(torch.rand(1, 6, 6), 0), (torch.rand(1, 5, 5), 1)])


# --- search and retrain on each -----------------------------------------------------------------------
def search_and_retrain(data, tmp_path):
    result = api.search(data, save=tmp_path / "search", **TINY_SEARCH)
    assert result.model.stem[0].in_channels == data.in_channels
    assert result.model.classifier.out_features == data.num_classes
    assert (tmp_path / "search" / "genotype.json").is_file()
    net = api.build_network(result.genotype, data.in_channels, data.num_classes, **TINY_NET, auxiliary=True)
    trained = api.train(net, data, epochs=1, batch_size=4, max_batches=2, progress=False, device="cpu",
                        save=tmp_path / "final")
    assert len(trained.history) == 1 and 0 <= trained.test_acc <= 100
    assert (tmp_path / "final" / "weights.pt").is_file()
    return result


def test_search_and_retrain_on_an_image_folder(tmp_path):
    data = load_image_dataset("folder", image_folder(tmp_path / "imgs"), image_size=8, cache=tmp_path / "cache")
    search_and_retrain(data, tmp_path)


def test_search_and_retrain_on_an_npz_file(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((24, 8, 8)), y=np.arange(24) % 4)
    data = load_image_dataset("npz", tmp_path / "d.npz")
    assert (data.in_channels, data.num_classes) == (1, 4)
    search_and_retrain(data, tmp_path)


# --- your own operations ------------------------------------------------------------------------------
class Conv3x3(nn.Sequential):
    def __init__(self, C, stride, affine):
        super().__init__(nn.ReLU(), nn.Conv2d(C, C, 3, stride, 1, bias=False), nn.BatchNorm2d(C, affine=affine))


@pytest.fixture
def own_op():
    name = "test_plain_conv_3x3"
    register_op(name)(Conv3x3)
    yield name
    del OPS[name]


def test_registered_op_is_searched_derived_built_and_drawn(own_op, tmp_path):
    primitives = ["none", "skip_connect", own_op]
    supernet = api.search_space(in_channels=1, num_classes=2, init_channels=4, layers=3, primitives=primitives)
    assert supernet.alphas_normal.shape == (14, 3)
    assert sum(isinstance(m, Conv3x3) for m in supernet.modules()) == 3 * 14
    with torch.no_grad():  # make the new op every edge's strongest
        for a in supernet.alphas():
            a.zero_()
            a[:, 2] = 1.0
    genotype = supernet.genotype()
    assert {op for op, _ in genotype.normal + genotype.reduce} == {own_op}
    assert genotype_from_dict(genotype.to_dict()) == genotype  # JSON round trip knows the op
    net = api.build_network(genotype, 1, 2, **TINY_NET)
    convs = [m for m in net.modules() if isinstance(m, Conv3x3)]
    assert len(convs) == 3 * 8 and all(m[2].affine for m in convs)  # final networks: affine BatchNorm
    logits, _ = net(torch.randn(2, 1, 8, 8))
    assert logits.shape == (2, 2)
    from visualize.cells import genotype_graphs
    assert own_op in genotype_graphs(genotype)["normal"].source
    assert all(p.is_file() for p in api.render(genotype, tmp_path, fmt="svg"))


def test_search_with_a_registered_op(own_op):
    x = torch.rand(24, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    result = api.search((x, torch.arange(24) % 2), primitives=f"none,max_pool_3x3,{own_op}", **TINY_SEARCH)
    assert result.model.alpha_summary()["primitives"] == ["none", "max_pool_3x3", own_op]
    assert {op for op, _ in result.genotype.normal} <= {"max_pool_3x3", own_op}
    assert len(result.history) == 1


def test_primitives_are_checked(own_op):
    assert api.check_primitives(None) == api.PRIMITIVES
    with pytest.raises(UserError, match="unknown operation.*nope"):
        api.check_primitives("none,nope")
    with pytest.raises(UserError, match="more than once"):
        api.check_primitives(["skip_connect", "skip_connect"])
    with pytest.raises(UserError, match="besides 'none'"):
        api.check_primitives("none")
    register_op("test_bad_widening")(lambda C, stride, affine: nn.Conv2d(C, 2 * C, 1, stride))
    try:
        with pytest.raises(UserError, match=r"'test_bad_widening' maps \(2, 4, 6, 6\) to \(2, 8, 6, 6\)"):
            api.check_primitives([own_op, "test_bad_widening"])
    finally:
        del OPS["test_bad_widening"]


def test_ops_module_file_is_imported_once(tmp_path):
    plugin = tmp_path / "my_ops.py"
    plugin.write_text("import torch.nn as nn\nfrom darts.ops import register_op\n"
                      "register_op('test_plugin_identity')(lambda C, stride, affine: nn.AvgPool2d(1, stride))\n")
    try:
        first = import_plugin(plugin)
        assert import_plugin(str(plugin)) is first  # a second import would register the op twice
        assert "test_plugin_identity" in OPS
        assert api.check_primitives("none,test_plugin_identity") == ["none", "test_plugin_identity"]
    finally:
        OPS.pop("test_plugin_identity", None)
    with pytest.raises(UserError, match="no such file"):
        import_plugin(tmp_path / "missing.py")
    with pytest.raises(UserError, match="no such file or module"):
        import_plugin("no_such_module_here")


# --- the command lines --------------------------------------------------------------------------------
TINY_CLI = ["--epochs", "1", "--layers", "3", "--init_channels", "4", "--batch_size", "4", "--max_batches", "2",
            "--no_progress", "--device", "cpu"]
TINY_SEARCH_CLI = TINY_CLI + ["--no_plots"]  # drawing: tests/test_visualize.py


def search_and_retrain_cli(data_flags, tmp_path, extra=()):
    import train_final
    import train_search
    train_search.main([*data_flags, *extra, *TINY_SEARCH_CLI, "--save", str(tmp_path / "s")])
    genotype = tmp_path / "s" / "genotype.json"
    final = train_final.main(["--arch", str(genotype), *data_flags, *extra, *TINY_CLI, "--auxiliary",
                              "--save", str(tmp_path / "f")])
    assert 0 <= final["test_acc"] <= 100 and (tmp_path / "f" / "weights.pt").is_file()
    metrics = train_final.main(["--eval_only", "--model_path", str(tmp_path / "f"), *data_flags, *extra,
                                "--batch_size", "4", "--device", "cpu"])
    assert 0 <= metrics["acc"] <= 100


def folder_flags(tmp_path):
    root = image_folder(tmp_path / "imgs")
    return ["--dataset", "folder", "--data", str(root), "--image_size", "8", "--cache", str(tmp_path / "cache")]


def npz_flags(tmp_path, classes=4):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (32, 8, 8), dtype=np.uint8), y=np.arange(32) % classes)
    return ["--dataset", "npz", "--data", str(tmp_path / "d.npz"), "--test_fraction", "0.25"]


def test_cli_search_and_retrain_on_an_image_folder(tmp_path):
    search_and_retrain_cli(folder_flags(tmp_path), tmp_path)


def test_cli_search_and_retrain_on_an_npz_file(tmp_path):
    search_and_retrain_cli(npz_flags(tmp_path), tmp_path)


def test_cli_summaries_read_the_shape_of_own_data(tmp_path, capsys):
    import train_final
    import train_search
    for flags, shape in ((folder_flags(tmp_path), "folder input 3x8x8, 3 classes"),
                         (npz_flags(tmp_path), "npz input 1x8x8, 4 classes")):
        train_search.main([*flags, "--summary"])
        train_final.main([*flags, "--arch", "DARTS_V2", "--summary"])
        out = capsys.readouterr().out
        assert out.count(shape) == 2, out


def test_cli_searches_and_retrains_with_a_new_operation(tmp_path):
    import train_search
    plugin = tmp_path / "my_ops.py"
    plugin.write_text("import torch.nn as nn\nfrom darts.ops import register_op\n\n"
                      "@register_op('test_cli_conv_3x3')\n"
                      "def conv(C, stride, affine):\n"
                      "    return nn.Sequential(nn.ReLU(), nn.Conv2d(C, C, 3, stride, 1, bias=False),\n"
                      "                         nn.BatchNorm2d(C, affine=affine))\n")
    flags = [*npz_flags(tmp_path, classes=2), "--ops_module", str(plugin)]
    try:
        train_search.main([*flags, "--primitives", "none,skip_connect,test_cli_conv_3x3", *TINY_SEARCH_CLI,
                           "--save", str(tmp_path / "s0")])
        alphas = [json.loads(line) for line in (tmp_path / "s0" / "alphas.jsonl").read_text().splitlines()]
        assert alphas[-1]["primitives"] == ["none", "skip_connect", "test_cli_conv_3x3"]
        assert len(alphas[-1]["normal"][0]) == 3
        # a genotype that uses the new operation trains, resumes and evaluates from the command line
        genotype = {"normal": [["test_cli_conv_3x3", 0], ["skip_connect", 1]] * 4, "normal_concat": [2, 3, 4, 5],
                    "reduce": [["test_cli_conv_3x3", 0], ["test_cli_conv_3x3", 1]] * 4, "reduce_concat": [2, 3, 4, 5]}
        (tmp_path / "s").mkdir()
        (tmp_path / "s" / "genotype.json").write_text(json.dumps(genotype))
        import train_final
        train_final.main(["--arch", str(tmp_path / "s" / "genotype.json"), *flags, *TINY_CLI,
                          "--save", str(tmp_path / "f")])
        spec = torch.load(tmp_path / "f" / "weights.pt", weights_only=False)["network"]
        assert spec["genotype"]["reduce"][0] == ["test_cli_conv_3x3", 0]
        metrics = train_final.main(["--eval_only", "--model_path", str(tmp_path / "f"), *flags,
                                    "--batch_size", "4", "--device", "cpu"])
        assert 0 <= metrics["acc"] <= 100
    finally:
        OPS.pop("test_cli_conv_3x3", None)


def test_cli_cache_flag():
    from darts.cli.search import settings_from_argv
    from darts.modalities import own_data_options

    def options(argv):
        settings = settings_from_argv(argv)[1]
        return own_data_options(settings["dataset"], settings)
    assert options(["--dataset", "folder", "--data", "d"])["cache"] is None  # default
    assert options(["--dataset", "folder", "--data", "d", "--cache", "none"])["cache"] is False
    assert options(["--dataset", "npz", "--data", "d.npz"]) == {"test_fraction": 0.2}


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "cifar10", "--image_size", "16"], "--image_size do(es) not apply to --dataset cifar10"),
    (["--dataset", "npz", "--data", "x.npz", "--strict"], "only --test_fraction does"),
    (["--dataset", "folder"], "--dataset folder needs --data"),
    (["--dataset", "digits", "--primitives", "none,nope"], "unknown operation"),
    (["--dataset", "ptb", "--primitives", "none,skip_connect"], "--primitives belongs to space darts"),
    (["--dataset", "digits", "--ops_module", "missing_ops.py"], "no such file"),
])
def test_cli_errors(tmp_path, capsys, monkeypatch, argv, message):
    import train_search
    from darts.runs import run_cli
    monkeypatch.chdir(tmp_path)
    assert run_cli(train_search.main, [*argv, "--summary"]) == 2
    assert message in capsys.readouterr().err
