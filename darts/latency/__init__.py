"""Latency and cost of a final network on the user's device: parameters, multiply-adds and peak activation
memory (costs), whole-network timing (measure), and a per-operation lookup table built on one machine and used
to predict on another (table). It measures torch modules and knows no search space.

    from darts.latency import LatencyTable, measure_latency, network_costs
    table = LatencyTable.build(networks, (3, 32, 32), batches=(1, 64), device="cpu:1")
    table.save("table.json")
    LatencyTable.load("table.json").predict(network, (3, 32, 32), batch=1)   # milliseconds
"""
from darts.latency.costs import network_costs
from darts.latency.measure import DeviceSpec, machine_description, measure_latency, parse_device
from darts.latency.table import LatencyTable

__all__ = ["DeviceSpec", "LatencyTable", "machine_description", "measure_latency", "network_costs", "parse_device"]
