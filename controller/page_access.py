"""Which role may open which page and use which button: the one table the page routes, the menu
and the page templates all read, so a menu never offers a page that answers 403 and a page never
shows a button whose request the API refuses. Pure data; the API's own role checks stay in the
routers (the buttons' roles here are theirs, and a test holds the two together)."""
from __future__ import annotations

from dataclasses import dataclass

from controller.i18n import N_

ADMIN, OFFICER, INSPECTOR, CUSTOMER, ANNOTATOR = "admin", "officer", "inspector", "customer", "annotator"
ALL_ROLES = (ADMIN, OFFICER, INSPECTOR, CUSTOMER, ANNOTATOR)


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # the menu's link; the page's sub-pages (e.g. /cameras/{site}/{camera}) share its roles
    label: str  # msgid of its menu entry
    roles: frozenset[str]


def _page(name: str, path: str, label: str, *roles: str) -> Page:
    return Page(name, path, label, frozenset(roles))


# In menu order. The overview ("/") is every role's home: each role's own (a customer's seats,
# alarms, VLANs and changes; an annotator's projects).
PAGES: tuple[Page, ...] = (
    _page("overview", "/", N_("Overview"), ADMIN, OFFICER, INSPECTOR, CUSTOMER),
    _page("cameras", "/cameras", N_("Cameras"), ADMIN, OFFICER, INSPECTOR),
    _page("floorplan", "/floorplan", N_("Floor plan"), ADMIN, OFFICER, INSPECTOR),
    _page("gates", "/gates", N_("Gates"), ADMIN, OFFICER, INSPECTOR),
    _page("seats", "/seats", N_("Seats"), ADMIN, OFFICER, INSPECTOR, CUSTOMER),
    _page("network", "/network", N_("Network"), ADMIN, OFFICER, INSPECTOR, CUSTOMER),
    _page("vpn", "/vpn", N_("Remote work"), ADMIN, OFFICER, INSPECTOR, CUSTOMER),
    _page("quality", "/quality", N_("Quality"), ADMIN, OFFICER, CUSTOMER),
    _page("work", "/work", N_("My projects"), ANNOTATOR),
    _page("people", "/people", N_("People"), ADMIN, OFFICER),
    _page("users", "/users", N_("Users"), ADMIN),
    _page("ledger", "/ledger", N_("Ledger"), ADMIN, INSPECTOR),
    _page("audit", "/audit", N_("Retention audit"), ADMIN, OFFICER, INSPECTOR),
    _page("reports", "/reports", N_("Daily reports"), ADMIN, OFFICER, INSPECTOR),
    _page("drills", "/drills", N_("Drills"), ADMIN, OFFICER, INSPECTOR),
)
BY_NAME = {p.name: p for p in PAGES}

# Buttons and forms that change something, by the API call they make: the roles the API allows.
ACTIONS: dict[str, frozenset[str]] = {
    "passback.reset": frozenset({ADMIN, OFFICER}),  # POST /api/sites/{id}/passback/reset
    "seat.calibrate": frozenset({ADMIN, OFFICER}),  # PUT /api/sites/{id}/seats/{seat}/views/{camera}
    "camera.calibrate": frozenset({ADMIN, OFFICER}),  # POST /api/sites/{id}/cameras/{cam}/calibrations
    "seat.policy_check": frozenset({ADMIN, OFFICER, INSPECTOR}),  # GET .../policy?person= (people are staff's)
    "network.request": frozenset({ADMIN, OFFICER, CUSTOMER}),  # POST /api/sites/{id}/network/changes
    "network.approve": frozenset({CUSTOMER}),  # POST /api/network/changes/{id}/approve|reject
    "network.apply": frozenset({ADMIN, OFFICER}),  # POST /api/network/changes/{id}/apply
    "network.drift_check": frozenset({ADMIN, OFFICER}),  # POST /api/sites/{id}/network/drift-check
    "vpn.request": frozenset({ADMIN, OFFICER, CUSTOMER}),  # POST /api/sites/{id}/vpn/peers, .../remote-rules
    "vpn.revoke": frozenset({ADMIN, OFFICER}),  # POST /api/vpn/peers/{id}/revoke
    "training.record": frozenset({ADMIN, OFFICER}),  # POST /api/people/{pk}/training
    "users.manage": frozenset({ADMIN}),  # POST/PATCH /api/users, password, sessions
    "ledger.export": frozenset({ADMIN, INSPECTOR}),  # GET /api/ledger/export
    "recordings.audit": frozenset({ADMIN, OFFICER, INSPECTOR}),  # GET /api/sites/{id}/recordings/audit
    "reports.generate": frozenset({ADMIN, OFFICER, INSPECTOR}),  # POST /api/sites/{id}/reports
    "audit.bundle": frozenset({ADMIN, OFFICER, INSPECTOR}),  # POST /api/sites/{id}/audit-bundles
    "drill.run": frozenset({ADMIN, OFFICER}),  # POST /api/sites/{id}/drills, /api/drills/{id}/...
    "plan.edit": frozenset({ADMIN, OFFICER}),  # POST /api/sites/{id}/plans
}


def may_open(role: str | None, page: str) -> bool:
    return role is not None and role in BY_NAME[page].roles


def may(role: str | None, action: str) -> bool:
    return role is not None and role in ACTIONS[action]


def menu(role: str | None) -> list[Page]:
    """The menu entries of ``role``: exactly the pages it may open."""
    return [p for p in PAGES if role is not None and role in p.roles]


def home(role: str | None) -> str:
    """Where ``role`` lands after login: its overview, or its first page if it has none."""
    pages = menu(role)
    return pages[0].path if pages else "/"
