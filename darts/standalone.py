"""A network written out as a Python file that needs only torch, so it runs where this package is not installed.

The network runs once on an example input while every call is recorded: the calls of torch.nn layers
(convolutions, batch norms, pools, linear maps; written as those layers, with their settings) and, between them,
the tensor operations the package's own modules make (additions, concatenations, slices). The file holds a
`Network` module with those layers and a straight-line `forward` replaying the operations, and `load()`, which
reads the weights saved beside it. Python control flow that depends on sizes (padding odd inputs, a recurrent
loop over the window) is resolved by the recording, as in torch.jit.trace: sizes the network read become
constants (an image network's height and width; a language model's window and batch), the others stay free (an
image network's batch). An operation the file cannot express (a call outside torch, a tensor made outside torch
operations) is a one-line error naming the module it ran in.
"""
from __future__ import annotations

import inspect
import math
import textwrap
from dataclasses import dataclass, field

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from darts.errors import UserError

_OPERATORS = {"__add__": "{0} + {1}", "__radd__": "{1} + {0}", "__sub__": "{0} - {1}", "__rsub__": "{1} - {0}",
              "__mul__": "{0} * {1}", "__rmul__": "{1} * {0}", "__truediv__": "{0} / {1}", "__matmul__": "{0} @ {1}",
              "__neg__": "-{0}", "__getitem__": "{0}[{1}]"}
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict)


def is_layer(module: nn.Module) -> bool:
    """A torch.nn layer written as itself (its own forward is not recorded)."""
    return (type(module).__module__.startswith("torch.nn.") and not isinstance(module, _CONTAINERS)
            and next(module.children(), None) is None)


def _flat(path: str) -> str:
    return "_".join(path.split(".")) or "root"


def value_code(value, names: dict) -> str:
    """Python source for an argument: a recorded tensor's name, or a constant."""
    if isinstance(value, torch.Tensor):
        if id(value) not in names:
            raise LookupError("a tensor that no recorded torch operation made (a constant or an attribute that "
                              "is not a registered parameter or buffer)")
        return names[id(value)]
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if value is None or isinstance(value, (bool, int, str, torch.dtype, torch.memory_format)):
        return repr(value)
    if value is Ellipsis:
        return "..."
    if isinstance(value, torch.device):
        return f"torch.device({str(value)!r})"
    if isinstance(value, slice):
        return f"slice({', '.join(value_code(v, names) for v in (value.start, value.stop, value.step))})"
    if isinstance(value, (list, tuple)):  # torch.Size included: a tuple of ints
        inner = ", ".join(value_code(v, names) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {value_code(v, names)}" for k, v in value.items()) + "}"
    raise LookupError(f"a {type(value).__name__} argument, which only torch operations on tensors can replace")


def function_code(func) -> tuple[str, str]:
    """("method" | "attribute" | "function", name or dotted path) of a torch function the recording saw."""
    name = getattr(func, "__name__", "")
    if name and getattr(torch.Tensor, name, None) is func:
        return "method", name
    owner = getattr(func, "__self__", None)  # a property's getter, e.g. Tensor.T
    if name == "__get__" and getattr(torch.Tensor, getattr(owner, "__name__", ""), None) is owner:
        return "attribute", owner.__name__
    module = getattr(func, "__module__", None) or ""
    for path in (f"torch.nn.functional.{name}", f"torch.{name}", f"{module}.{name}"):
        if path.startswith("torch.") and _resolve(path) is func:
            return "function", path
    raise LookupError(f"{getattr(func, '__qualname__', func)!r} (from {module or 'outside torch'}), which is "
                      f"not a public torch function")


def _resolve(path: str):
    obj = torch
    for part in path.split(".")[1:]:
        obj = getattr(obj, part, None)
    return obj


def call_code(func, args: tuple, kwargs: dict, names: dict) -> str:
    kind, name = function_code(func)
    argv = [value_code(a, names) for a in args]
    if kind == "attribute":
        return f"{argv[0]}.{name}"
    if kind == "method" and name in _OPERATORS and not kwargs:
        return _OPERATORS[name].format(*argv)
    rest = argv[1:] if kind == "method" else argv
    rest += [f"{k}={value_code(v, names)}" for k, v in kwargs.items()]
    return f"{argv[0]}.{name}({', '.join(rest)})" if kind == "method" else f"{name}({', '.join(rest)})"


def layer_code(layer: nn.Module) -> str:
    """`nn.Kind(settings)` that builds a layer like `layer` (the settings that differ from their defaults, so
    that other torch versions read it too), checked by building it: a layer whose settings its attributes do not
    tell is a one-line error."""
    kind = type(layer).__name__
    settings = []
    for p in list(inspect.signature(type(layer).__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in ("device", "dtype") or p.name.startswith("_"):
            continue
        if not hasattr(layer, p.name):
            if p.default is p.empty:
                raise UserError(f"the layer {kind} cannot be written as a standalone file: its setting {p.name!r} "
                                f"is not an attribute")
            continue
        value = getattr(layer, p.name)
        value = value is not None if p.name == "bias" else value
        if type(value) is type(p.default) and value == p.default:
            continue
        try:
            settings.append(f"{p.name}={value_code(value, {})}")
        except LookupError as e:
            raise UserError(f"the layer {kind} cannot be written as a standalone file: its setting {p.name!r} is "
                            f"{e}") from None
    code = f"nn.{kind}({', '.join(settings)})"
    rebuilt = eval(code, {"nn": nn, "torch": torch})  # the source is ours: constants and a torch.nn class
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    if {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()} != shapes or _settings(rebuilt) != _settings(layer):
        raise UserError(f"the layer {kind} cannot be written as a standalone file: rebuilt from its settings "
                        f"it differs from the network's")
    return code


def _settings(layer: nn.Module) -> dict:
    return {k: v for k, v in vars(layer).items() if not k.startswith("_") and k != "training"
            and not isinstance(v, torch.Tensor)}


@dataclass
class Recording:
    """What a recorded run left: the layers called, the parameters used directly, the forward's lines."""
    inputs: list[str]
    title: str = ""  # the file's docstring
    layers: dict = field(default_factory=dict)      # attribute name -> layer
    tensors: dict = field(default_factory=dict)     # attribute name -> parameter or buffer used directly
    lines: list = field(default_factory=list)
    output: str = ""


class _Recorder(TorchFunctionMode):
    """Records the torch calls of one run of `network`: a torch.nn layer's as one call, the others one by one."""

    def __init__(self, network: nn.Module, recording: Recording):
        super().__init__()
        self.rec, self.names, self.keep, self.depth, self.where = recording, {}, [], 0, []
        named = [*network.named_parameters(remove_duplicate=False), *network.named_buffers(remove_duplicate=False)]
        self.owned = {id(t): path for path, t in named}
        self.modules = dict(network.named_modules())
        self.handles = []
        for path, module in self.modules.items():
            self.handles.append(module.register_forward_pre_hook(self._enter_hook(path)))
            self.handles.append(module.register_forward_hook(self._leave_hook(path), with_kwargs=True))

    def close(self) -> None:
        for h in self.handles:
            h.remove()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.depth == 0:
            name = getattr(func, "__name__", "")
            in_place = name == "__setitem__" or (name.endswith("_") and not name.startswith("__"))
            self.emit(lambda: call_code(func, args, kwargs, self.names), (args, kwargs), out, statement=in_place)
        return out

    def _enter_hook(self, path: str):
        def hook(module, args):
            self.where.append(path)
            self.depth += is_layer(module)
        return hook

    def _leave_hook(self, path: str):
        def hook(module, args, kwargs, out):
            self.where.pop()
            if self.depth == 0 and not is_layer(module):
                self._check_made_by_torch(module, path, out)
            if is_layer(module):
                self.depth -= 1
                if self.depth == 0:
                    attr = _flat(path)
                    self.rec.layers[attr] = module
                    call = lambda: f"self.{attr}({', '.join(self._arguments(args, kwargs))})"  # noqa: E731
                    self.emit(call, (args, kwargs), out)
        return hook

    def _check_made_by_torch(self, module: nn.Module, path: str, out) -> None:
        for t in torch.utils._pytree.tree_leaves(out):
            if isinstance(t, torch.Tensor) and id(t) not in self.names and id(t) not in self.owned:
                raise UserError(f"the operation {type(module).__name__} ({path or 'the network'}) cannot be "
                                f"exported: it returns a tensor made outside torch operations (through numpy or "
                                f"Python numbers)")

    def _arguments(self, args: tuple, kwargs: dict) -> list[str]:
        return [value_code(a, self.names) for a in args] + [f"{k}={value_code(v, self.names)}"
                                                               for k, v in kwargs.items()]

    def bind(self, value, code: str) -> None:
        if isinstance(value, torch.Tensor):
            self.names[id(value)] = code
            self.keep.append(value)  # alive, so that no other tensor takes its id
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                self.bind(v, f"{code}[{i}]")

    def emit(self, code, inputs, out, statement: bool = False) -> None:
        """Append the line computing `out` (`code()` writes its right-hand side); results that hold no
        tensor (sizes, flags) are constants of the recording."""
        for t in torch.utils._pytree.tree_leaves(inputs):
            if isinstance(t, torch.Tensor) and id(t) not in self.names and id(t) in self.owned:
                self._declare(t)
        holds_tensor = any(isinstance(t, torch.Tensor) for t in torch.utils._pytree.tree_leaves(out))
        if not holds_tensor and not statement:
            return
        try:
            text = code()
        except LookupError as e:
            path = self.where[-1] if self.where else ""
            module = self.modules.get(path)
            raise UserError(f"the operation {type(module).__name__} ({path or 'the network'}) cannot be exported: "
                            f"it uses {e}") from None
        if holds_tensor:
            name = f"t{len(self.rec.lines)}"
            self.rec.lines.append(f"{name} = {text}")
            self.bind(out, name)
        else:
            self.rec.lines.append(text)

    def _declare(self, tensor: torch.Tensor) -> None:
        """A parameter or buffer used directly: through its layer when it has one, else as an attribute."""
        path = self.owned[id(tensor)]
        owner, _, leaf = path.rpartition(".")
        if owner in self.modules and is_layer(self.modules[owner]):
            self.rec.layers[_flat(owner)] = self.modules[owner]
            self.names[id(tensor)] = f"self.{_flat(owner)}.{leaf}"
        else:
            self.rec.tensors[_flat(path)] = tensor
            self.names[id(tensor)] = f"self.{_flat(path)}"


def record(network: nn.Module, run: nn.Module, inputs: tuple, title: str = "",
           names: list[str] | None = None) -> Recording:
    """The calls of `run(*inputs)` (a module that runs `network`, in evaluation mode, without gradients);
    `names`: the forward's arguments (default x0, x1, ...)."""
    recording = Recording(list(names or [f"x{i}" for i in range(len(inputs))]), title)
    recorder = _Recorder(network, recording)
    try:
        for name, x in zip(recording.inputs, inputs):
            recorder.bind(x, name)
        with torch.no_grad(), recorder:
            out = run(*inputs)
        recording.output = value_code(out, recorder.names)
    except LookupError as e:
        raise UserError(f"the network's output cannot be exported: it is {e}") from None
    finally:
        recorder.close()
    return recording


def network_source(recording: Recording) -> str:
    """The Python file: `Network` (the layers and the recorded forward) and `load(weights)`."""
    title = "\n\n".join(textwrap.fill(p, 116) for p in recording.title.replace('"""', "'''").split("\n\n"))
    lines = [f'"""{title}\n"""',
             "from pathlib import Path", "", "import torch", "from torch import nn", "", "",
             "class Network(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    lines += [f"        self.{attr} = {layer_code(layer)}" for attr, layer in recording.layers.items()]
    for attr, t in recording.tensors.items():
        empty = f"torch.empty({tuple(t.shape)!r}, dtype={t.dtype!r})"
        lines.append(f"        self.register_parameter({attr!r}, nn.Parameter({empty}))" if isinstance(t, nn.Parameter)
                     else f"        self.register_buffer({attr!r}, {empty})")
    lines += ["", f"    def forward(self, {', '.join(recording.inputs)}):"]
    lines += [f"        {line}" for line in recording.lines] + [f"        return {recording.output}", "", ""]
    lines += ["def load(weights=None) -> Network:",
              '    """The network with its weights (default: the .pt file beside this one), in evaluation mode."""',
              "    net = Network()",
              "    if weights is None:",
              "        weights = Path(__file__).with_name(Path(__file__).stem + '_weights.pt')",
              "    net.load_state_dict(torch.load(weights, map_location='cpu', weights_only=True))",
              "    return net.eval()", ""]
    return "\n".join(lines)


def recorded_weights(recording: Recording) -> dict:
    """The state dict of the file's `Network`."""
    weights = {f"{attr}.{k}": v.detach().clone() for attr, layer in recording.layers.items()
               for k, v in layer.state_dict().items()}
    weights.update({attr: t.detach().clone() for attr, t in recording.tensors.items()})
    return weights
