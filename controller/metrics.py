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
LOGINS = Counter("siteguard_logins_total", "Login attempts by outcome", ["outcome"])  # ok, failed, locked
LINK_UP = Gauge("siteguard_link_up", "1 while the edge link's loop is running and recent")
LINK_ERRORS = Counter("siteguard_link_errors_total", "Exceptions the edge link survived", ["where"])
LINK_RESTARTS = Counter("siteguard_link_restarts_total", "Times the edge link was restarted after dying")
AGENTS_REFUSED_SOURCES = Gauge("siteguard_agents_refused_sources", "Sources with refused keys in the open window")
