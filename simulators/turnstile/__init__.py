"""Simulated turnstiles and speed gates: OSDP peripheral devices (libosdp) with a mechanism.

Each gate of the site file listens on its `osdp.channel` (tcp://host:port, standing in for the
RS-485 line) as OSDP address `osdp.address`, secure channel enforced with its own SCBK. See
device.py for what goes over the wire, mechanism.py for how the gate behaves, actions.py and
scenarios.py for what can be done to it, control.py for the HTTP endpoint.
"""
from .fleet import TurnstileFleet

__all__ = ["TurnstileFleet"]
