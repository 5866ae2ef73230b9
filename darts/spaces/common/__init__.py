"""Pieces several search spaces share, owned by none of them (a space package never imports another):

cell_network    drop-path and the auxiliary CIFAR head of networks stacked from cells (DARTS, NASNet)
language_model  the language model around any recurrent cell, and its dropouts (DARTS RNN, NAS-RL RNN)
nb201_*         NAS-Bench-201's cell: architecture strings, operations, cell, network skeleton, diagram
                (NAS-Bench-201, NATS-Bench size; NASNet reuses its convolutions)
nats_*          NATS-Bench's record files and table look-ups (NAS-Bench-201, NATS-Bench size, NAS-Bench-101)
"""
