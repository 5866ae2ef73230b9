"""The operations of one forward pass, each with the key a latency table files it under.

An operation is a leaf module (a module with no children: its forward runs as one unit) or a torch function
called outside any leaf module (the additions, concatenations and reshapes a cell's own forward does). Its key is
its type, its configuration and the shapes of its tensor inputs (batch included), e.g.
`nn.Conv2d(16, 16, kernel_size=(3, 3), ...) <- f32[64,16,32,32]`. The pass that lists them runs at batch 1 and
states the keys at the batch asked (the activations' first dimension; weights keep their shapes), so listing the
operations of a network costs about two batch-1 passes whatever the batch. (The meta device would compute
nothing, but its Python kernels made a NAS-Bench-201 pass ten times slower than a real one at batch 1.)
A number argument that is the batch (`x.view(x.size(0), -1)`) stays 1 in the key; such a reshape costs the same.

The tracer also follows which tensors the pass keeps alive, for the peak activation memory (darts.latency.costs).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

# torch functions that return a tensor without computing one (attribute access through properties)
_NOT_OPS = frozenset({"__get__", "__set__"})


@dataclass(frozen=True)
class TensorSpec:
    """A tensor argument reduced to what its cost depends on; `batched`: an activation, whose first dimension
    is the batch (weights and constants are not)."""
    shape: tuple[int, ...]
    dtype: torch.dtype
    batched: bool = False

    def __str__(self) -> str:
        name = str(self.dtype).replace("torch.", "").replace("float", "f").replace("int", "i")
        return f"{name}[{','.join(map(str, self.shape))}]"

    def make(self, device: torch.device) -> torch.Tensor:
        if self.dtype.is_floating_point:
            return torch.randn(self.shape, dtype=self.dtype, device=device)
        return torch.zeros(self.shape, dtype=self.dtype, device=device)


def _map(obj: Any, leaf: type, fn: Callable) -> Any:
    """`obj` with every `leaf` inside it (lists, tuples and dicts walked) replaced by fn(leaf)."""
    if isinstance(obj, leaf):
        return fn(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map(o, leaf, fn) for o in obj)
    if isinstance(obj, dict):
        return {k: _map(v, leaf, fn) for k, v in obj.items()}
    return obj


def _leaves(obj: Any, leaf: type):
    if isinstance(obj, leaf):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _leaves(o, leaf)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _leaves(o, leaf)


def materialize(obj: Any, device: torch.device) -> Any:
    """Random tensors of the recorded shapes on `device` in place of the TensorSpecs in `obj`."""
    return _map(obj, TensorSpec, lambda s: s.make(device))


def module_config(module: nn.Module) -> str:
    """The hyperparameters that set a module's cost: its extra_repr, else its plain public attributes."""
    text = module.extra_repr()
    if text:
        return text
    plain = {k: v for k, v in vars(module).items()
             if not k.startswith("_") and k != "training" and isinstance(v, (int, float, bool, str, tuple))}
    return ", ".join(f"{k}={v!r}" for k, v in sorted(plain.items()))


def type_name(cls: type) -> str:
    module = cls.__module__
    return f"nn.{cls.__qualname__}" if module.startswith("torch.nn") else f"{module}.{cls.__qualname__}"


def function_name(func: Callable) -> str:
    owner = getattr(func, "__qualname__", "").rpartition(".")[0]
    name = getattr(func, "__name__", None) or repr(func)
    if owner in ("TensorBase", "_TensorBase", "Tensor"):
        return f"Tensor.{name}"
    module = getattr(func, "__module__", None) or "torch"
    return f"{'torch' if owner == '_VariableFunctionsClass' else module}.{name}"


@dataclass
class OpCall:
    """One operation of a traced pass: its key, a short name, and what to call alone to time it."""
    key: str
    name: str
    target: nn.Module | Callable
    args: tuple
    kwargs: dict = field(default_factory=dict)

    @property
    def inputs(self) -> str:
        return ", ".join(str(s) for s in _leaves((self.args, self.kwargs), TensorSpec))

    def run_alone(self, device: torch.device) -> Callable[[], Any]:
        """A call of this operation alone on random inputs of its shapes on `device`."""
        args, kwargs = materialize((self.args, self.kwargs), device)
        target = self.target
        return lambda: target(*args, **kwargs)


def make_call(name: str, target, args: tuple, kwargs: dict, config: str | None = None) -> OpCall:
    text = ", ".join(str(a) if isinstance(a, TensorSpec) else repr(a) for a in args)
    text += "".join(f", {k}={v}" for k, v in kwargs.items())
    if isinstance(target, nn.Module):
        key = f"{name}({module_config(target) if config is None else config}) <- {text}"
    else:
        key = f"{name}({text})"
    return OpCall(key, name, target, args, kwargs)


class LiveMemory:
    """Bytes of the distinct tensor storages the pass holds: a storage counts from the first tensor of it the
    pass makes until the last such tensor is freed (CPython frees a tensor when its last reference goes)."""

    def __init__(self):
        self.live: dict[int, list[int]] = {}   # storage address -> [bytes, tensors alive]
        self.current = 0
        self.peak = 0

    def add(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        ptr, nbytes = storage.data_ptr(), storage.nbytes()
        if nbytes == 0 or tensor.device.type == "meta":
            return
        if ptr in self.live:
            self.live[ptr][1] += 1
        else:
            self.live[ptr] = [nbytes, 1]
            self.current += nbytes
        weakref.finalize(tensor, self._release, ptr)

    def _release(self, ptr: int) -> None:
        entry = self.live.get(ptr)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= entry[0]
            del self.live[ptr]

    def mark(self) -> None:
        self.peak = max(self.peak, self.current)


class _Functions(TorchFunctionMode):
    """Hands the tracer every torch function called while the pass is outside a leaf module."""

    def __init__(self, tracer: "Tracer"):
        super().__init__()
        self.tracer = tracer

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        t = self.tracer
        if (t.active and t.depth == 0 and isinstance(out, torch.Tensor)
                and getattr(func, "__name__", "") not in _NOT_OPS):
            t.record(function_name(func), func, args, kwargs, out)
        return out


class Tracer:
    """Lists the operations of `network`'s forward passes (and, with `memory`, the live activation bytes).
    Activations (the pass's input and every operation's output) are told apart from weights and constants,
    so an operation's key can be restated for another batch."""

    def __init__(self, network: nn.Module, memory: LiveMemory | None = None, batch: int | None = None):
        self.network, self.memory, self.batch = network, memory, batch   # batch: the keys' batch (None: the pass's)
        self.calls: list[OpCall] = []
        self.depth, self.active = 0, False
        self._activations: dict[int, weakref.ref] = {}
        self._configs: dict[int, str] = {}

    def activation(self, tensor: torch.Tensor) -> None:
        self._activations[id(tensor)] = weakref.ref(tensor)
        if self.memory is not None:
            self.memory.add(tensor)

    def _spec(self, t: torch.Tensor) -> TensorSpec:
        ref = self._activations.get(id(t))
        batched = ref is not None and ref() is t
        shape = tuple(t.shape)
        if batched and self.batch is not None and shape:
            shape = (self.batch, *shape[1:])
        return TensorSpec(shape, t.dtype, batched)

    def record(self, name: str, target, args: tuple, kwargs: dict, out: Any) -> None:
        with torch._C.DisableTorchFunction():  # reading shapes and dtypes is no operation of the pass
            self._record(name, target, args, kwargs, out)

    def _record(self, name: str, target, args: tuple, kwargs: dict, out: Any) -> None:
        if not kwargs and all(isinstance(a, torch.Tensor) for a in args):  # the usual case, quickly
            specs = (tuple(self._spec(a) for a in args), {})
        else:
            specs = _map((tuple(args), dict(kwargs)), torch.Tensor, self._spec)
        config = None
        if isinstance(target, nn.Module):
            config = self._configs.get(id(target))
            if config is None:
                config = self._configs[id(target)] = module_config(target)
        self.calls.append(make_call(name, target, *specs, config=config))
        for t in _leaves(out, torch.Tensor):
            self.activation(t)
        if self.memory is not None:
            self.memory.mark()

    def _pre(self, module, args, kwargs):
        self.depth += 1

    def _post(self, module, args, kwargs, out):
        self.depth -= 1
        if self.active and self.depth == 0:
            self.record(type_name(type(module)), module, args, kwargs, out)

    def run(self, network_input: torch.Tensor) -> list[OpCall]:
        """One pass of the network on `network_input`, hooks on every leaf module; its operations in order."""
        leaves = [m for m in self.network.modules() if next(m.children(), None) is None]
        hooks = [m.register_forward_pre_hook(self._pre, with_kwargs=True) for m in leaves]
        hooks += [m.register_forward_hook(self._post, with_kwargs=True) for m in leaves]
        self.activation(network_input)
        if self.memory is not None:
            self.memory.mark()
        self.active = True
        try:
            with _Functions(self):
                self.network(network_input)
        finally:
            self.active = False
            for h in hooks:
                h.remove()
        return self.calls


def trace_ops(network: nn.Module, input_shape: tuple[int, ...], batch: int = 1) -> list[OpCall]:
    """The operations of an eval-mode forward pass of `network` on a (batch, *input_shape) float input. The pass
    runs at batch 1 (on the device of the network's weights; a few milliseconds for a CIFAR cell network) and
    the keys are restated for `batch`: an operation's cost depends on its input shapes, not on their values."""
    was_training = network.training
    if was_training:
        network.eval()
    try:
        device = next((p.device for p in network.parameters()), torch.device("cpu"))
        with torch.inference_mode():
            return Tracer(network, batch=batch).run(torch.randn((1, *input_shape), device=device))
    finally:
        if was_training:
            network.train()
