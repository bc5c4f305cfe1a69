"""Simulated access switches: SSH servers speaking Cisco IOS, Huawei VRP or H3C Comware.

Each switch of the site file listens for SSH (paramiko) and runs a stateful CLI close enough to
the real one that netmiko's cisco_ios, huawei and hp_comware drivers work unchanged. See
ssh_server.py for the terminal, ios.py / vrp.py / comware.py for the command lines, state.py for
the configuration model, faults.py and control.py for what a test can do to a switch, nft.py for
the ACL export.
"""
from .device import SwitchSimulator
from .fleet import SwitchFleet
from .site_view import SwitchSpec

__all__ = ["SwitchFleet", "SwitchSimulator", "SwitchSpec"]
