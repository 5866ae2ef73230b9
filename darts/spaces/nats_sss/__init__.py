"""The NATS-Bench size space (layer widths around NAS-Bench-201's best cell) and a reader of NATS-Bench records."""
from darts.spaces.common.nats_benchmark import NatsTableEvaluator
from darts.spaces.common.nats_records import NatsRecords, NatsResult, load_pickle, read_records
from darts.spaces.nats_sss.arch import CHANNEL_CHOICES, NUM_ARCHS, TOPOLOGY, SizeArch, SizeArchError
from darts.spaces.nats_sss.network import NatsSizeNetwork
from darts.spaces.nats_sss.sampling import NatsSizeArchSpace

__all__ = ["CHANNEL_CHOICES", "NUM_ARCHS", "TOPOLOGY", "NatsRecords", "NatsResult", "NatsSizeArchSpace",
           "NatsSizeNetwork", "NatsTableEvaluator", "SizeArch", "SizeArchError", "load_pickle", "read_records"]
