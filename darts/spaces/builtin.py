"""The one place that names the built-in search spaces, in the order the registry lists them (the first
image and the first text space are the defaults)."""
from darts.spaces.darts_cnn.chain_space import SPACE as DARTS_CHAIN
from darts.spaces.darts_cnn.space import SPACE as DARTS_CNN
from darts.spaces.darts_rnn.space import SPACE as DARTS_RNN
from darts.spaces.nasnet.space import SPACE as NASNET
from darts.spaces.nasrl_cnn.space import SPACE as NASRL_CNN
from darts.spaces.nasrl_rnn.space import SPACE as NASRL_RNN
from darts.spaces.nats_sss.space import SPACE as NATS_SSS
from darts.spaces.nb101.space import SPACE as NB101
from darts.spaces.nb201.space import SPACE as NB201

BUILTIN_SPACES = (DARTS_CNN, DARTS_RNN, NB201, NASRL_CNN, NASRL_RNN, NASNET, NB101, NATS_SSS, DARTS_CHAIN)
