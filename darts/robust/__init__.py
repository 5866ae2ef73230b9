"""Robust differentiable search (issue 20): plug-ins around the DARTS loop, all off by default.

relaxations   GDAS's hard Gumbel-softmax and DrNAS's Dirichlet samples, registered as relaxations
eigen         the dominant eigenvalue of the validation loss's Hessian w.r.t. the alphas (RobustDARTS)
early_stop    DARTS-ES: stop when that eigenvalue grows too fast, keep the genotype from before
beta          beta-DARTS's Beta-Decay regulariser of the alphas
"""
