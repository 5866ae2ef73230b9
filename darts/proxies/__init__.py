"""Zero-cost proxies: scores of an untrained network on one minibatch that stand in for its trained accuracy
(synflow, snip, grasp, fisher, grad_norm, jacob_cov, NASWOT, ZiCo) beside the two baselines every proxy is
held against (#params and FLOPs). Each is a registered `Proxy` that says what it needs (gradients, labels,
the images themselves, double precision) and the batch its paper scores with; `score` is the library call,
darts.evaluators.proxy.ProxyEvaluator the reward for the sample-based strategies. See docs/proxies.md."""
from darts.proxies.base import Proxy
from darts.proxies.registry import get_proxy, proxies, register_proxy
from darts.proxies.score import minibatch, network_of, score

__all__ = ["Proxy", "get_proxy", "proxies", "register_proxy", "score", "minibatch", "network_of"]
