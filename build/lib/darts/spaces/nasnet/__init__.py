"""The NASNet search space (Zoph et al., CVPR 2018), registered as "nasnet": normal and reduction cells of
B blocks, each block two hidden states, an operation on each and a combination (add or concatenate)."""
