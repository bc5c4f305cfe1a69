"""Prometheus metrics of the controller."""
from prometheus_client import Counter, Gauge, Histogram

EVENTS_INGESTED = Counter("siteguard_events_ingested_total", "Events stored (first delivery only)")
EVENTS_DUPLICATE = Counter("siteguard_events_duplicate_total", "Events received again and ignored")
WIRE_REJECTED = Counter(
    "siteguard_wire_rejected_total", "Wire messages refused", ["reason"]
)
AGENTS_REFUSED = Counter("siteguard_agents_refused_total", "Connections refused: key not enrolled")
AGENTS_ONLINE = Gauge("siteguard_agents_online", "Agents heard from within the offline window")
ALARMS_ACTIVE = Gauge("siteguard_alarms_active", "Alarms not cleared")
INGEST_SECONDS = Histogram("siteguard_ingest_batch_seconds", "Time to store one event batch")
HTTP_REQUESTS = Counter("siteguard_http_requests_total", "HTTP requests", ["method", "status"])
