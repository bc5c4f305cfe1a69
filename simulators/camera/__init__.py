"""Simulated IP cameras: a synthetic office scene, H.264 over RTSP, ONVIF SOAP and WS-Discovery.

Stand-ins for real cameras in tests and the demo. Like every simulator, this package imports
nothing of the project's own code: it reads the site file as plain YAML.
"""
