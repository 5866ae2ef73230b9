"""A whole convolutional network as Zoph & Le (2017) sample it: a list of layers, each with its kernel
(height, width), filters, stride and the earlier layers it reads (the skip connections)."""
from __future__ import annotations

from dataclasses import dataclass

from darts.genotype import GenotypeError

LAYER_KEYS = ("kernel_h", "kernel_w", "filters", "stride", "inputs")


@dataclass(frozen=True)
class ConvLayer:
    kernel_h: int
    kernel_w: int
    filters: int
    stride: int = 1
    inputs: tuple[int, ...] = ()   # earlier layers read (none: the image)


@dataclass(frozen=True)
class ConvNetGenotype:
    layers: tuple[ConvLayer, ...]

    def sinks(self) -> list[int]:
        """Layers no other layer reads: their outputs are concatenated into the classifier."""
        used = {j for layer in self.layers for j in layer.inputs}
        return [i for i in range(len(self.layers)) if i not in used]

    def to_dict(self) -> dict:
        return {"layers": [{"kernel_h": l.kernel_h, "kernel_w": l.kernel_w, "filters": l.filters,
                            "stride": l.stride, "inputs": list(l.inputs)} for l in self.layers]}


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GenotypeError(f"{what} must be a positive whole number, got {value!r}")
    return value


def _layer(i: int, data) -> ConvLayer:
    if not isinstance(data, dict) or set(data) != set(LAYER_KEYS):
        raise GenotypeError(f"layer {i} must be an object with keys {', '.join(LAYER_KEYS)}, got {data!r}")
    h, w = (_positive_int(data[k], f"layer {i} {k}") for k in ("kernel_h", "kernel_w"))
    if h % 2 == 0 or w % 2 == 0:
        raise GenotypeError(f"layer {i} kernel {h}x{w}: kernel sizes must be odd (the output keeps its size)")
    inputs = data["inputs"]
    if not isinstance(inputs, list) or any(isinstance(j, bool) or not isinstance(j, int) for j in inputs):
        raise GenotypeError(f"layer {i} inputs must be a list of layer numbers, got {inputs!r}")
    if sorted(set(inputs)) != inputs or any(not 0 <= j < i for j in inputs):
        raise GenotypeError(f"layer {i} inputs {inputs} must be distinct earlier layers (0..{i - 1}) in order")
    return ConvLayer(h, w, _positive_int(data["filters"], f"layer {i} filters"),
                     _positive_int(data["stride"], f"layer {i} stride"), tuple(inputs))


def genotype_from_dict(data: dict) -> ConvNetGenotype:
    """A validated genotype from {"layers": [{"kernel_h", "kernel_w", "filters", "stride", "inputs"}, ...]}."""
    if not isinstance(data, dict) or set(data) != {"layers"} or not isinstance(data["layers"], list):
        raise GenotypeError('a nasrl_cnn genotype is {"space": "nasrl_cnn", "layers": [{"kernel_h": 3, '
                            '"kernel_w": 3, "filters": 36, "stride": 1, "inputs": []}, ...]}')
    if not data["layers"]:
        raise GenotypeError("a nasrl_cnn genotype needs at least one layer")
    return ConvNetGenotype(tuple(_layer(i, layer) for i, layer in enumerate(data["layers"])))
