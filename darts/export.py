"""A trained final network written as files that run without this package: ONNX, TorchScript, a standalone
PyTorch file (darts.standalone) with its weights, and, when asked, torch.export's program (.pt2).

Each file is checked before anything is written: loaded back (the ONNX file by onnxruntime, the TorchScript file by
torch.jit.load, the standalone file as a fresh module, the .pt2 by torch.export.load) and run on a batch of random
inputs of another batch size than the one it was made with; its logits must equal the network's within a relative
1e-4 (of the largest logit). The files hold the evaluation-mode network (batch norm with its running statistics,
no drop path, no auxiliary head) and return the logits; inputs are images normalised as in training, of the
trained height and width.

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
TOLERANCE = 1e-4  # largest difference of a logit, relative to the largest logit
TRACE_BATCH = 2  # the batch the files are made with; the check runs another
INSTALL = "pip install 'darts-nas[export]' (or: pip install onnx onnxruntime)"
FILES = {"onnx": ("network.onnx",), "torchscript": ("network_torchscript.pt",),
         "standalone": ("network.py", "network_weights.pt"), "torch_export": ("network.pt2",)}


@dataclass
class ExportedFormat:
    """One format's files and how they compared with the network."""
    format: str
    files: list[Path]
    checked_with: str
    batch: int
    error: float  # the largest difference of a logit, relative to the largest logit

    def line(self) -> str:
        return (f"{self.format}: {', '.join(map(str, self.files))} ({self.checked_with} on {self.batch} inputs: "
                f"logits within {self.error:.1e} of torch's, relative)")


class Logits(nn.Module):
    """The network's logits alone (final networks of cell spaces return (logits, auxiliary logits))."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.network(x)
        return out[0] if isinstance(out, tuple) else out


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
    """(channels, height, width) of the network's inputs: from its saved description, else as given."""
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


def onnxruntime_module():
    """onnxruntime, or a one-line error saying how to install it."""
    try:
        importlib.import_module("onnx")  # torch's exporter writes the file with it
        return importlib.import_module("onnxruntime")
    except ImportError as e:
        raise UserError(f"the ONNX export needs the optional package {e.name or 'onnxruntime'}: {INSTALL}") from None


def _relative_error(out, expected: torch.Tensor) -> float:
    out = torch.as_tensor(out, dtype=expected.dtype)
    if out.shape != expected.shape:
        return float("inf")
    return float((out - expected).abs().max() / expected.abs().max().clamp_min(1e-12))


# Each exporter: (the files' contents, the loaded file's logits on check_x, what loaded it).
def _onnx(model: nn.Module, trace_x: torch.Tensor, check_x: torch.Tensor, recording: Recording):
    ort = onnxruntime_module()
    buf = io.BytesIO()
    options = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(model, (trace_x,), buf, input_names=["images"], output_names=["logits"],
                      dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, **options)
    session = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    return [buf.getvalue()], session.run(None, {"images": check_x.numpy()})[0], "onnxruntime"


def _torchscript(model: nn.Module, trace_x: torch.Tensor, check_x: torch.Tensor, recording: Recording):
    buf = io.BytesIO()
    torch.jit.save(torch.jit.trace(model, (trace_x,), check_trace=False), buf)
    loaded = torch.jit.load(io.BytesIO(buf.getvalue()), map_location="cpu")
    return [buf.getvalue()], loaded(check_x), "torch.jit.load"


def _standalone(model: nn.Module, trace_x: torch.Tensor, check_x: torch.Tensor, recording: Recording):
    source, name = network_source(recording), FILES["standalone"][0]
    buf = io.BytesIO()
    torch.save(recorded_weights(recording), buf)
    module = types.ModuleType(Path(name).stem)
    exec(compile(source, name, "exec"), module.__dict__)  # the file just generated from the recording
    net = module.Network()
    net.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))
    return [source.encode("utf-8"), buf.getvalue()], net.eval()(check_x), "its own Network"


def _torch_export(model: nn.Module, trace_x: torch.Tensor, check_x: torch.Tensor, recording: Recording):
    program = torch.export.export(model, (trace_x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    buf = io.BytesIO()
    torch.export.save(program, buf)
    return [buf.getvalue()], torch.export.load(io.BytesIO(buf.getvalue())).module()(check_x), "torch.export.load"


EXPORTERS = {"onnx": _onnx, "torchscript": _torchscript, "standalone": _standalone, "torch_export": _torch_export}


def _title(spec) -> str:
    if spec is None:
        return "A network exported by darts-export as plain PyTorch."
    return (f"{spec.arch}: a {spec.space} final network ({spec.dataset}, {spec.in_channels}-channel images, "
            f"{spec.num_classes} classes) exported by darts-export as plain PyTorch; it returns the logits of "
            f"images normalised as in training.")


def _check_space(spec) -> None:
    if spec is not None and get_space(spec.space).modality != "image":
        raise UserError(f"{spec.arch} is a {spec.space} language model: export writes image networks only (a "
                        f"recurrent network's loop over the text would be fixed to one window length)")


def export_network(network: nn.Module, out_dir: str | Path, formats: Sequence[str] | str = DEFAULT_FORMATS,
                   batch: int = 8, image_size: int | None = None,
                   in_channels: int | None = None) -> list[ExportedFormat]:
    """Write `network` (its `network_spec`, as api.build_network and api.load_network attach, gives the input
    shape; else `in_channels` and `image_size`) into OUT_DIR in each format, every file checked first on
    `batch` random inputs. Also writes export.json (the input shape and the checks)."""
    formats = check_request(formats, batch)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir} is a file; give a folder for the exported network")
    spec = getattr(network, "network_spec", None)
    _check_space(spec)
    shape = input_shape(spec, image_size, in_channels)
    if "onnx" in formats:
        onnxruntime_module()
    network = copy.deepcopy(network).cpu().eval()  # the caller's network keeps its device and mode
    model = Logits(network).eval()
    generator = torch.Generator().manual_seed(0)
    trace_x = torch.randn((TRACE_BATCH, *shape), generator=generator)
    check_x = torch.randn((int(batch) + (int(batch) == TRACE_BATCH), *shape), generator=generator)
    recording = record(network, model, (trace_x,), _title(spec))  # an operation outside torch fails here
    with torch.no_grad():
        expected = model(check_x)
    written, reports = {}, []
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings: the checks below are what tells
        for fmt in formats:
            contents, out, checked_with = _run_exporter(fmt, model, trace_x, check_x, recording)
            error = _relative_error(out, expected)
            if not error <= TOLERANCE:
                raise UserError(f"the {fmt} export does not reproduce the network: its logits differ by {error:.2g} "
                                f"(relative) on {len(check_x)} inputs; nothing was written")
            paths = [out_dir / name for name in FILES[fmt]]
            written.update(zip(paths, contents))
            reports.append(ExportedFormat(fmt, paths, checked_with, len(check_x), error))
    _write(out_dir, written, spec, shape, reports)
    return reports


def _run_exporter(fmt: str, *args):
    try:
        return EXPORTERS[fmt](*args)
    except UserError:
        raise
    except Exception as e:  # the exporters' own errors: an operator they lack, a shape they cannot follow
        first = (str(e).strip().splitlines() or [""])[0]
        raise UserError(f"the network cannot be exported as {fmt}: {type(e).__name__}: {first}") from None


def _write(out_dir: Path, files: dict, spec, shape: tuple, reports: list[ExportedFormat]) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {out_dir}: {e.strerror or e}") from None
    for path, data in files.items():
        atomic_write_bytes(path, data)
    atomic_write_json(out_dir / "export.json", {
        "arch": getattr(spec, "arch", None), "space": getattr(spec, "space", None),
        "dataset": getattr(spec, "dataset", None), "input_shape": ["batch", *shape], "output": "logits",
        "tolerance": TOLERANCE,
        "formats": {r.format: {"files": [p.name for p in r.files], "checked_with": r.checked_with,
                               "batch": r.batch, "relative_error": r.error} for r in reports}})
