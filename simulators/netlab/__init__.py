"""Packet-level lab of a site's access network: customer VLANs as bridges in a routing
"switch" namespace, hosts as namespaces, the switch's ACLs as nftables rules. See README.md."""
from .lab import Lab
from .model import Host, LabError, Segment
from .probes import Listener
from .ruleset import RulesetError

__all__ = ["Host", "Lab", "LabError", "Listener", "RulesetError", "Segment"]
