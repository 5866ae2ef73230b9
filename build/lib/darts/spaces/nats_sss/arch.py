"""An architecture of the NATS-Bench size search space (Dong et al., TPAMI 2021, section 3.2).

The topology is fixed to the best NAS-Bench-201 cell; what is searched is the width of each of the five
layers of the benchmark's network (cell, residual reduction, cell, residual reduction, cell), each one of
8, 16, ..., 64 channels: 8^5 = 32,768 candidates. The benchmark writes one as "64:32:48:8:64".

Index. The benchmark enumerates the candidates with the last layer varying fastest ("8:8:8:8:8" is 0,
"8:8:8:8:16" is 1); `index` and `from_index` follow that order (checked against its meta file).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from darts.errors import UserError

CHANNEL_CHOICES = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
NUM_ARCHS = len(CHANNEL_CHOICES) ** NUM_LAYERS  # 32,768
# The cell every candidate uses: NAS-Bench-201's best topology on CIFAR-10.
TOPOLOGY = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


class SizeArchError(UserError):
    """Channels that are not a NATS-Bench size-space candidate."""


@dataclass(frozen=True)
class SizeArch:
    """Channels of the five layers, in network order."""

    channels: tuple[int, ...]

    def __post_init__(self):
        try:
            channels = tuple(int(c) for c in self.channels)
        except (TypeError, ValueError):
            raise SizeArchError(f"NATS-Bench size-space channels are {NUM_LAYERS} integers, "
                                f"got {self.channels!r}") from None
        if len(channels) != NUM_LAYERS or any(c not in CHANNEL_CHOICES for c in channels):
            raise SizeArchError(f"a NATS-Bench size-space candidate has {NUM_LAYERS} layers, each one of "
                                f"{', '.join(map(str, CHANNEL_CHOICES))} channels; got {list(channels)}")
        object.__setattr__(self, "channels", channels)

    @classmethod
    def from_string(cls, text: str) -> "SizeArch":
        """Parse the benchmark's "64:32:48:8:64"."""
        if not isinstance(text, str):
            raise SizeArchError(f"a NATS-Bench size-space string is text like '64:32:48:8:64', got {text!r}")
        try:
            return cls(tuple(int(c) for c in text.strip().split(":")))
        except ValueError:
            raise SizeArchError(f"{text!r} is not a size-space string like '64:32:48:8:64'") from None

    def to_string(self) -> str:
        return ":".join(map(str, self.channels))

    def __str__(self) -> str:
        return self.to_string()

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(CHANNEL_CHOICES.index(c) for c in self.channels)

    @classmethod
    def from_codes(cls, codes: Sequence[int]) -> "SizeArch":
        codes = [int(c) for c in codes]
        if len(codes) != NUM_LAYERS or any(not 0 <= c < len(CHANNEL_CHOICES) for c in codes):
            raise SizeArchError(f"size-space codes are {NUM_LAYERS} integers in 0..{len(CHANNEL_CHOICES) - 1}, "
                                f"got {codes}")
        return cls(tuple(CHANNEL_CHOICES[c] for c in codes))

    @property
    def index(self) -> int:
        """Row of this candidate in the benchmark (its meta file's order)."""
        index = 0
        for c in self.codes:
            index = index * len(CHANNEL_CHOICES) + c
        return index

    @classmethod
    def from_index(cls, index: int) -> "SizeArch":
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < NUM_ARCHS:
            raise SizeArchError(f"a size-space index is an integer in 0..{NUM_ARCHS - 1}, got {index!r}")
        codes = []
        for _ in range(NUM_LAYERS):
            index, c = divmod(index, len(CHANNEL_CHOICES))
            codes.append(c)
        return cls.from_codes(codes[::-1])
