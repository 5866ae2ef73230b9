"""A trained final network written as files that run without this package: ONNX, TorchScript, a standalone
PyTorch file (darts.standalone) with its weights, and, when asked, torch.export's program (.pt2).

Each file is checked before anything is written: loaded back (the ONNX file by onnxruntime, the TorchScript file by
torch.jit.load, the standalone file as a fresh module, the .pt2 by torch.export.load) and run on random inputs
other than those it was made with; its outputs must equal the network's within a relative 1e-4 (of the largest
value of each output). The files hold the network in evaluation mode (batch norm with its running statistics, no
dropout, no drop path, no auxiliary head).

An image network takes images normalised as in training, of the trained height and width, any batch size (the
check runs a batch size other than the one the file was made with), and returns the logits. A language model
takes a window of token ids (T, B) and the recurrent state (B, H), and returns the next-word logits (T, B, tokens)
and the state after the window; its loop over the window is unrolled, so its files take that window length and
batch only.

ONNX needs the optional packages onnx and onnxruntime (pip install 'darts-nas[export]').
"""
from __future__ import annotations

import copy
import importlib
import inspect
import io
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn

from darts.checkpoint import atomic_write_bytes, atomic_write_json
from darts.data.images import INPUT_SHAPES
from darts.errors import UserError
from darts.spaces.registry import get_space
from darts.standalone import Recording, network_source, record, recorded_weights

FORMATS = ("onnx", "torchscript", "standalone", "torch_export")
DEFAULT_FORMATS = FORMATS[:3]  # torch_export (torch.export's .pt2, TorchScript's successor) when asked: slower to make
TOLERANCE = 1e-4  # largest difference of an output, relative to the output's largest value
TRACE_BATCH = 2  # the batch an image network's files are made with; the check runs another
WINDOW = 35  # a language model's window (the training's bptt)
INSTALL = "pip install 'darts-nas[export]' (or: pip install onnx onnxruntime)"
FILES = {"onnx": ("network.onnx",), "torchscript": ("network_torchscript.pt",),
         "standalone": ("network.py", "network_weights.pt"), "torch_export": ("network.pt2",)}


@dataclass
class ExportedFormat:
    """One format's files and how they compared with the network."""
    format: str
    files: list[Path]
    checked_with: str
    inputs: str  # what the check ran, e.g. "8 images"
    error: float  # the largest difference of an output, relative to the output's largest value

    def line(self) -> str:
        return (f"{self.format}: {', '.join(map(str, self.files))} ({self.checked_with} on {self.inputs}: "
                f"outputs within {self.error:.1e} of torch's, relative)")


class Logits(nn.Module):
    """An image network's logits alone (final networks of cell spaces return (logits, auxiliary logits))."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.network(x)
        return out[0] if isinstance(out, tuple) else out


class NextWord(nn.Module):
    """A language model's (next-word logits, state after the window) of (token ids, state before it)."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.network(tokens, hidden)
        return out.logits, out.hidden


@dataclass
class Example:
    """The module the files hold, the inputs they are made with and checked on, and how to describe them."""
    model: nn.Module
    trace: tuple
    check: tuple
    input_names: list[str]
    output_names: list[str]
    shapes: dict  # input name -> shape ("batch" where any size is taken)
    description: str  # of the check's inputs
    usage: str  # how the standalone file is called
    dynamic_batch: bool


def check_request(formats: Sequence[str] | str, batch: int) -> list[str]:
    """The formats asked for, each once, or a one-line error for an unknown one or an empty check batch."""
    formats = [formats] if isinstance(formats, str) else list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UserError(f"unknown export format {', '.join(map(repr, unknown)) or '(none given)'}; choose from "
                        f"{', '.join(FORMATS)}")
    if int(batch) < 1:
        raise UserError(f"the check batch must hold at least 1 input, got {batch}")
    return list(dict.fromkeys(formats))


def input_shape(spec, image_size: int | None = None, in_channels: int | None = None) -> tuple[int, int, int]:
    """(channels, height, width) of an image network's inputs: from its saved description, else as given."""
    channels = spec.in_channels if spec is not None else in_channels
    if channels is None:
        raise UserError("a network without its description (api.build_network / load_network make one) needs "
                        "in_channels and image_size")
    if image_size is None and spec is not None:
        image_size = 224 if spec.kind == "imagenet" else INPUT_SHAPES.get(spec.dataset, (0, None))[1]
    if image_size is None:
        dataset = f"{spec.dataset} " if spec is not None else ""
        raise UserError(f"the size of the network's {dataset}images is not recorded: give it (--image_size N)")
    if int(image_size) < 1:
        raise UserError(f"image size must be at least 1, got {image_size}")
    return int(channels), int(image_size), int(image_size)


def image_example(network: nn.Module, shape: tuple[int, int, int], batch: int) -> Example:
    generator = torch.Generator().manual_seed(0)
    trace = torch.randn((TRACE_BATCH, *shape), generator=generator)
    check = torch.randn((batch + (batch == TRACE_BATCH), *shape), generator=generator)
    return Example(Logits(network).eval(), (trace,), (check,), ["images"], ["logits"],
                   {"images": ["batch", *shape]}, f"{len(check)} images", "logits = net(images)", True)


def text_example(network: nn.Module, ntokens: int, window: int, batch: int) -> Example:
    if int(window) < 1:
        raise UserError(f"the window must hold at least 1 token, got {window}")
    generator = torch.Generator().manual_seed(0)
    tokens = [torch.randint(0, ntokens, (window, batch), generator=generator) for _ in range(2)]
    with torch.no_grad():
        state = network(tokens[0]).hidden  # the state's shape: (batch, the cell's state size)
    hidden = [torch.randn(state.shape, generator=generator) for _ in range(2)]
    return Example(NextWord(network).eval(), (tokens[0], hidden[0]), (tokens[1], hidden[1]), ["tokens", "hidden"],
                   ["logits", "hidden_after"], {"tokens": list(tokens[0].shape), "hidden": list(state.shape)},
                   f"{window} tokens x {batch} sequences", "logits, hidden = net(tokens, hidden)", False)


def onnxruntime_module():
    """onnxruntime, or a one-line error saying how to install it."""
    try:
        importlib.import_module("onnx")  # torch's exporter writes the file with it
        return importlib.import_module("onnxruntime")
    except ImportError as e:
        raise UserError(f"the ONNX export needs the optional package {e.name or 'onnxruntime'}: {INSTALL}") from None


def _relative_error(outputs, expected: tuple) -> float:
    """The largest difference over the outputs, each relative to its own largest value."""
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    if len(outputs) != len(expected):
        return float("inf")
    worst = 0.0
    for out, want in zip(outputs, expected):
        out = torch.as_tensor(out, dtype=want.dtype)
        if out.shape != want.shape:
            return float("inf")
        worst = max(worst, float((out - want).abs().max() / want.abs().max().clamp_min(1e-12)))
    return worst


# Each exporter: (the files' contents, the loaded file's outputs on the check inputs, what loaded it).
def _onnx(ex: Example, recording: Recording):
    ort = onnxruntime_module()
    buf = io.BytesIO()
    options = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    axes = {"dynamic_axes": {ex.input_names[0]: {0: "batch"}, ex.output_names[0]: {0: "batch"}}} \
        if ex.dynamic_batch else {}
    torch.onnx.export(ex.model, ex.trace, buf, input_names=ex.input_names, output_names=ex.output_names,
                      **axes, **options)
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    feed = {name: x.numpy() for name, x in zip(ex.input_names, ex.check)}
    return [buf.getvalue()], session.run(None, feed), "onnxruntime"


def _torchscript(ex: Example, recording: Recording):
    buf = io.BytesIO()
    torch.jit.save(torch.jit.trace(ex.model, ex.trace, check_trace=False), buf)
    loaded = torch.jit.load(io.BytesIO(buf.getvalue()), map_location="cpu")
    return [buf.getvalue()], loaded(*ex.check), "torch.jit.load"


def _standalone(ex: Example, recording: Recording):
    source, name = network_source(recording), FILES["standalone"][0]
    buf = io.BytesIO()
    torch.save(recorded_weights(recording), buf)
    module = types.ModuleType(Path(name).stem)
    exec(compile(source, name, "exec"), module.__dict__)  # the file just generated from the recording
    net = module.Network()
    net.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    return [source.encode("utf-8"), buf.getvalue()], net.eval()(*ex.check), "its own Network"


def _torch_export(ex: Example, recording: Recording):
    dynamic = {"dynamic_shapes": ({0: torch.export.Dim("batch")},)} if ex.dynamic_batch else {}
    buf = io.BytesIO()
    torch.export.save(torch.export.export(ex.model, ex.trace, **dynamic), buf)
    return [buf.getvalue()], torch.export.load(io.BytesIO(buf.getvalue())).module()(*ex.check), "torch.export.load"


EXPORTERS = {"onnx": _onnx, "torchscript": _torchscript, "standalone": _standalone, "torch_export": _torch_export}


def _title(spec, ex: Example) -> str:
    what = "a network" if spec is None else f"{spec.arch}: a {spec.space} final network"
    return (f"{what} exported by darts-export as plain PyTorch; inputs {ex.shapes}, outputs "
            f"{', '.join(ex.output_names)}.\n\nNeeds only torch:  from network import load;  net = load();  "
            f"{ex.usage}")


def example(network: nn.Module, spec, batch: int, image_size: int | None, in_channels: int | None,
            window: int | None) -> Example:
    """The inputs the files are made with and checked on, after the request is checked."""
    if spec is not None and get_space(spec.space).modality == "text":
        if not hasattr(spec, "ntokens"):
            raise UserError(f"{spec.arch} is a {spec.space} language model without its vocabulary size: load it "
                            f"from its train_final.py --save folder (best.pt)")
        return text_example(network, spec.ntokens, WINDOW if window is None else int(window), int(batch))
    return image_example(network, input_shape(spec, image_size, in_channels), int(batch))


def export_network(network: nn.Module, out_dir: str | Path, formats: Sequence[str] | str = DEFAULT_FORMATS,
                   batch: int = 8, image_size: int | None = None, in_channels: int | None = None,
                   window: int | None = None) -> list[ExportedFormat]:
    """Write `network` into OUT_DIR in each format, every file checked first (see the module docstring), and
    export.json (its inputs, outputs and checks). Its `network_spec` (attached by api.build_network,
    api.load_network, api.train) tells its inputs; a network without one needs `in_channels` and `image_size`.
    `batch`: the image check's batch, or a language model's batch (with `window` tokens, default 35)."""
    formats = check_request(formats, batch)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} is a file; give a folder for the exported network")
    if "onnx" in formats:
        onnxruntime_module()
    spec = getattr(network, "network_spec", None)
    network = copy.deepcopy(network).cpu().eval()  # the caller's network keeps its device and mode
    ex = example(network, spec, batch, image_size, in_channels, window)
    recording = record(network, ex.model, ex.trace, _title(spec, ex), ex.input_names)  # fails on a non-torch op
    with torch.no_grad():
        expected = ex.model(*ex.check)
    expected = expected if isinstance(expected, tuple) else (expected,)
    written, reports = {}, []
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings: the checks below are what tells
        for fmt in formats:
            contents, out, checked_with = _run_exporter(fmt, ex, recording)
            error = _relative_error(out, expected)
            if not error <= TOLERANCE:
                raise UserError(f"the {fmt} export does not reproduce the network: its outputs differ by "
                                f"{error:.2g} (relative) on {ex.description}; nothing was written")
            paths = [out_dir / name for name in FILES[fmt]]
            written.update(zip(paths, contents))
            reports.append(ExportedFormat(fmt, paths, checked_with, ex.description, error))
    _write(out_dir, written, spec, ex, reports)
    return reports


def _run_exporter(fmt: str, *args):
    try:
        return EXPORTERS[fmt](*args)
    except UserError:
        raise
    except Exception as e:  # the exporters' own errors: an operator they lack, a shape they cannot follow
        first = (str(e).strip().splitlines() or [""])[0]
        raise UserError(f"the network cannot be exported as {fmt}: {type(e).__name__}: {first}") from None


def _write(out_dir: Path, files: dict, spec, ex: Example, reports: list[ExportedFormat]) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out_dir}: {e.strerror or e}") from None
    for path, data in files.items():
        atomic_write_bytes(path, data)
    atomic_write_json(out_dir / "export.json", {
        "arch": getattr(spec, "arch", None), "space": getattr(spec, "space", None),
        "dataset": getattr(spec, "dataset", None), "inputs": ex.shapes, "outputs": ex.output_names,
        "tolerance": TOLERANCE,
        "formats": {r.format: {"files": [p.name for p in r.files], "checked_with": r.checked_with,
                               "checked_on": r.inputs, "relative_error": r.error} for r in reports}})
