"""Search add-ons (registry.py): plug-ins of the DARTS loop, one module each, listed in builtin.py."""
