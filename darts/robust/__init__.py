"""Robust differentiable search: the algorithms behind the search add-ons of darts/addons (all off by default)
and the sampled relaxations.
relaxations   GDAS's hard Gumbel-softmax and DrNAS's Dirichlet samples, registered as relaxations
eigen         the dominant eigenvalue of the validation loss's Hessian w.r.t. the alphas (RobustDARTS)
early_stop    DARTS-ES: stop when that eigenvalue grows too fast, keep the genotype from before
beta          beta-DARTS's Beta-Decay regulariser of the alphas
aux_skip      DARTS-'s auxiliary skip connections, decayed over the search
perturbation  DARTS-PT's perturbation-based selection
"""
