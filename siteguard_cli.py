"""The `siteguard` command: controller, edge agent, demo site and offline tools."""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

DEMO_SITE = "simulators/sites/demo.yaml"
DEMO_USERS = [  # username, role, customer slug; the annotators' logins come from the site file's people
    ("admin", "admin", None), ("officer", "officer", None), ("inspector", "inspector", None),
    ("acme", "customer", "acme"), ("borealis", "customer", "borealis"),
]
# The demo's browser runs beside the controller: this annotator's first seat gets its address as
# its workstation, so the labelling page works from this machine once the gates put her inside.
DEMO_BROWSER_USER, DEMO_BROWSER_ADDRESS = "annotator", "127.0.0.1"
DEMO_REVIEWER = "zhouna"  # an annotator of both customers who also reviews their projects

# What the demo site's password_env names hold; a service manager would set these on a real site.
DEMO_SECRETS = {"SITEGUARD_DEMO_CAMERA_PASSWORD": "demo-camera", "SITEGUARD_DEMO_SWITCH_PASSWORD": "demo-switch"}


def demo_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``environ`` with the demo site's passwords set, unless already given."""
    return {**DEMO_SECRETS, **environ}


def demo_site_file() -> Path:
    return Path(str(resources.files("simulators") / "sites" / "demo.yaml"))


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _t(message: str, **values) -> str:
    """An error or report line in the language of LC_ALL / LC_MESSAGES / LANG (English unless
    Chinese is asked for)."""
    from controller.i18n import cli_locale, translate

    return translate(cli_locale(), message, **values)


def _load_site(path: str):
    from controller.i18n import cli_locale, format_site_error
    from edge_agent.wire.site import SiteFileError, load_site_file

    try:
        return load_site_file(path)
    except SiteFileError as exc:
        print(format_site_error(exc, cli_locale()), file=sys.stderr)
        raise SystemExit(2) from None


# --- controller side --------------------------------------------------------------------------

def _settings(args):
    from controller.settings import Settings

    s = Settings()
    if getattr(args, "data", None):
        s.data_dir = Path(args.data)
        if not os.environ.get("SITEGUARD_DATABASE_URL"):
            s.database_url = f"sqlite:///{s.data_dir / 'controller.db'}"
    return s


def register_sites(core, files: list[str]) -> None:
    from controller.services.drills import ensure_default_plans
    from controller.sites import apply_site_config

    for f in files:
        config = _load_site(f)
        with core.sessions() as s:
            site, changed = apply_site_config(s, config)
            if changed:
                core.ledger.record(s, "site.config_changed", {"site": site.slug, "version": site.version,
                                                              "config_hash": site.config_hash, "by": "cli"})
            ensure_default_plans(s, core.ledger, site.id)  # a site's first emergency plans
            s.commit()
        if changed:
            print(f"site {site.slug}: config version {site.version} ({site.config_hash[:12]})")


def cmd_controller(args) -> int:
    import uvicorn

    from controller.app import create_app, open_core

    settings = _settings(args)
    if args.port:
        settings.http_port = args.port
    role, workers = args.role, args.workers
    if workers > 1 and settings.database_url.startswith("sqlite"):
        print(_t("--workers above 1 needs PostgreSQL (SITEGUARD_DATABASE_URL): SQLite serves one worker"),
              file=sys.stderr)
        return 2
    if args.site and role in ("all", "http"):
        register_sites(open_core(settings), args.site)
    if role == "link":
        from controller.roles import run_link
        run_link(settings)
        return 0
    if role == "sequencer":
        from controller.roles import run_sequencer
        run_sequencer(settings)
        return 0
    if role == "http" or workers > 1:
        # The stateless HTTP workers; with role "all", the link and the sequencer as supervised
        # processes beside them.
        settings.prepare()
        os.environ.update({"SITEGUARD_DATA_DIR": str(settings.data_dir.resolve()),
                           "SITEGUARD_DATABASE_URL": settings.database_url, **worker_pool_env(workers)})
        children = _Supervised([["controller", "--role", "link"], ["controller", "--role", "sequencer"]]
                               if role == "all" else [])
        try:
            # uvicorn picks uvloop and httptools (dependencies) for its loop and parser. A worker
            # that does not answer its supervisor's ping is killed and replaced: 30 s, not the
            # default 5, so a worker still importing on a loaded machine is not killed in a loop.
            uvicorn.run("controller.app:http_worker_app", factory=True, host=settings.http_host,
                        port=settings.http_port, workers=workers, log_level="info",
                        timeout_worker_healthcheck=30)
        finally:
            children.stop()
        return 0
    app = create_app(settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level="info")
    return 0


def worker_pool_env(workers: int, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Each HTTP worker's share of SITEGUARD_DB_CONNECTIONS (default 64, under PostgreSQL's
    usual 100 with room for the link, the sequencer and the tools): three quarters kept, a
    quarter overflow. Sizes set explicitly in the environment are left alone."""
    if "SITEGUARD_DB_POOL_SIZE" in environ:
        return {}
    share = max(4, int(environ.get("SITEGUARD_DB_CONNECTIONS", "64")) // max(1, workers))
    return {"SITEGUARD_DB_POOL_SIZE": str(share - share // 4), "SITEGUARD_DB_MAX_OVERFLOW": str(share // 4)}


class _Supervised:
    """Child processes of `siteguard controller`, restarted when they die."""

    def __init__(self, commands: list[list[str]]) -> None:
        import threading

        self.commands = commands
        self.procs = [self._start(c) for c in commands]
        self._halt = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="supervisor").start()

    @staticmethod
    def _start(command: list[str]):
        from functools import partial

        from controller.parent_death import die_with_parent

        return subprocess.Popen([sys.executable, "-m", "siteguard_cli", *command],
                                preexec_fn=partial(die_with_parent, os.getpid()))

    def _watch(self) -> None:
        while not self._halt.wait(1.0):
            for i, p in enumerate(self.procs):
                if p.poll() is not None and not self._halt.is_set():
                    print(f"siteguard {' '.join(self.commands[i])} exited ({p.returncode}); restarting",
                          file=sys.stderr, flush=True)
                    self.procs[i] = self._start(self.commands[i])

    def stop(self) -> None:
        self._halt.set()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def cmd_create_user(args) -> int:
    from sqlalchemy import select

    from controller.app import open_core
    from controller.domain_errors import DomainError
    from controller.models import Customer, Role
    from controller.services.users import create_user

    core = open_core(_settings(args))
    password = args.password or os.environ.get("SITEGUARD_NEW_PASSWORD")
    if not password:
        print(_t("give --password or set SITEGUARD_NEW_PASSWORD"), file=sys.stderr)
        return 2
    with core.sessions() as s:
        cid = None
        if args.customer:
            cid = s.scalar(select(Customer.id).where(Customer.slug == args.customer))
            if cid is None:
                print(_t("no customer {customer}", customer=repr(args.customer)), file=sys.stderr)
                return 2
        try:
            create_user(s, core.ledger, args.username, password, Role(args.role), cid, "cli")
        except (DomainError, ValueError) as exc:
            print(exc, file=sys.stderr)
            return 1
    print(f"user {args.username} ({args.role}) created")
    return 0


def cmd_lift_lockout(args) -> int:
    """For an operator at the appliance when every admin's address is locked out."""
    from controller.app import open_core
    from controller.services.auth import lift_lockouts

    if not args.username and not args.address:
        print(_t("give --username, --address or both"), file=sys.stderr)
        return 2
    core = open_core(_settings(args))
    with core.sessions() as s:
        lifted = lift_lockouts(s, core.ledger, args.username, args.address, "cli")
    print("\n".join(lifted) if lifted else "nothing was locked")
    return 0


def cmd_enroll_agent(args) -> int:
    from controller.app import open_core
    from controller.domain_errors import DomainError
    from controller.services.agents import enroll
    from edge_agent.wire.keys import KeyFileError, load_public_key

    core = open_core(_settings(args))
    try:
        key = load_public_key(args.public_key).decode()
    except KeyFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    with core.sessions() as s:
        try:
            agent = enroll(s, core.ledger, args.name, args.site, key, "cli")
        except DomainError as exc:
            print(exc, file=sys.stderr)
            return 1
    print(f"agent {agent.name} enrolled (id {agent.id})")
    return 0


def cmd_export_ledger(args) -> int:
    from controller.app import open_core

    core = open_core(_settings(args))
    Path(args.out).write_bytes(core.ledger.export())
    print(f"ledger of {core.ledger.size} entries written to {args.out}; "
          f"public key {core.ledger.public_key.hex()}")
    return 0


def cmd_verify_ledger(args) -> int:
    from retention.ledger import verify_export

    try:
        raw = Path(args.export).read_bytes()
    except OSError as exc:
        print(_t("cannot read {path}: {error}", path=args.export, error=exc), file=sys.stderr)
        return 2
    key = None
    if args.key:
        text = Path(args.key).read_text().strip() if os.path.exists(args.key) else args.key
        try:
            key = bytes.fromhex(text)
        except ValueError:
            print(_t("--key must be the ledger's Ed25519 public key in hex, or a file holding it"),
                  file=sys.stderr)
            return 2
    report = verify_export(raw, trusted_public_key=key)
    for w in report.warnings:
        print(f"warning: {w}")
    for p in report.problems:
        print(f"FAIL: {p}")
    if report.ok:
        print(f"OK: {report.entries} entries, {report.checkpoints} checkpoints, "
              f"size {report.size}, root {report.root_hex}")
        return 0
    print(f"ledger export {args.export} does NOT verify ({len(report.problems)} problem(s))")
    return 1


def cmd_verify_export(args) -> int:
    """An annotation export checked offline: no server, no database."""
    from annotation.export_bundle import verify_export_bundle

    try:
        raw = Path(args.export).read_bytes()
    except OSError as exc:
        print(_t("cannot read {path}: {error}", path=args.export, error=exc), file=sys.stderr)
        return 2
    try:
        text = Path(args.key).read_text().strip() if os.path.exists(args.key) else args.key.strip()
        key = bytes.fromhex(text)
        if len(key) != 32:
            raise ValueError
    except (OSError, UnicodeDecodeError, ValueError):
        print(_t("--key must be the ledger's Ed25519 public key in hex, or a file holding it"), file=sys.stderr)
        return 2
    report = verify_export_bundle(raw, key, progress=lambda stage: print(f"... {stage}"))
    if report.problems and report.problems[0].startswith("zip: unreadable"):
        print(_t("{path} is not a readable export: {problem}", path=args.export, problem=report.problems[0]),
              file=sys.stderr)
        return 2
    for w in report.warnings:
        print(f"warning: {w}")
    for p in report.problems:
        print(f"FAIL: {p}")
    c = report.counts
    if report.ok:
        print(_t("OK: {format} export of project {project}: {versions} versions in {chains} chains, {exported} "
                 "exported with their labels, {items} items, checkpoint size {size}",
                 format=report.format, project=report.project, versions=c.get("versions", 0),
                 chains=c.get("chains", 0), exported=c.get("exported", 0), items=c.get("items", 0),
                 size=report.checkpoint_size))
        return 0
    print(_t("export {path} does NOT verify ({n} problem(s))", path=args.export, n=len(report.problems)))
    return 1


def cmd_daily_report(args) -> int:
    """A site's daily security report made now: kept, its PDF's hash ledgered and signed; the
    PDF written to --out and its signed note beside it (<out>.sig)."""
    import datetime as dt

    from sqlalchemy import select

    from controller.app import open_core
    from controller.credentials import site_today
    from controller.models import Site
    from controller.services import daily_report

    core = open_core(_settings(args))
    with core.sessions() as s:
        site = s.scalar(select(Site).where(Site.slug == args.site))
        if site is None:
            print(_t("no such site: {site}", site=args.site), file=sys.stderr)
            return 2
        try:
            day = dt.date.fromisoformat(args.date) if args.date else site_today(site) - dt.timedelta(days=1)
        except ValueError:
            print(_t("--date must be a day such as 2026-01-31"), file=sys.stderr)
            return 2
        row = daily_report.generate(s, core.ledger, site.id, day, args.lang, "cli")
        out = Path(args.out)
        out.write_bytes(row.pdf)
        Path(f"{out}.sig").write_text(row.signature)
        if args.html:
            Path(args.html).write_text(row.html, encoding="utf-8")
        print(f"report {row.id}: {site.slug} {day.isoformat()} {args.lang} -> {out} "
              f"({len(row.pdf)} bytes, sha256 {row.sha256}); signed note {out}.sig; "
              f"ledger public key {core.ledger.public_key.hex()}")
    core.ledger.integrate_all()
    core.ledger.checkpoint()
    return 0


def cmd_verify_report(args) -> int:
    """A daily report's PDF against its signed note and the ledger's public key, offline."""
    from controller.daily_report import verify_report

    try:
        pdf = Path(args.pdf).read_bytes()
        note = Path(args.note or f"{args.pdf}.sig").read_text()
        text = Path(args.key).read_text().strip() if os.path.exists(args.key) else args.key
        key = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        print(_t("cannot read the report, its note or the key: {error}", error=exc), file=sys.stderr)
        return 2
    result = verify_report(pdf, note, key)
    for p in result["problems"]:
        print(f"FAIL: {p}")
    if result["ok"]:
        f = result["fields"]
        print(f"OK: {f.get('site')} {f.get('day')} {f.get('lang')} sha256 {f.get('sha256')}")
        return 0
    return 1


def cmd_audit_bundle(args) -> int:
    """A site's recordings and their evidence for a period, as one tar an inspector verifies offline."""
    import datetime as dt
    import getpass

    from sqlalchemy import or_, select

    from controller.app import open_core
    from controller.domain_errors import DomainError
    from controller.models import Site
    from controller.services.audit_bundle import BundleRequest, LocalRecordings, build

    core = open_core(_settings(args))
    with core.sessions() as s:
        site = s.scalar(select(Site).where(or_(Site.slug == args.site,
                                               Site.id == (int(args.site) if args.site.isdigit() else -1))))
    if site is None:
        print(_t("no such site: {site}", site=args.site), file=sys.stderr)
        return 2
    try:
        start, end = (dt.datetime.fromisoformat(t) for t in (getattr(args, "from"), args.to))
    except ValueError:
        print(_t("--from and --to must be ISO 8601 times"), file=sys.stderr)
        return 2
    start, end = (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc) for t in (start, end))
    source = None if args.manifests_only or not args.recordings else LocalRecordings(args.recordings)
    if source is None and not args.manifests_only:
        print(_t("--recordings (the site's recordings folder) is needed unless --manifests-only"), file=sys.stderr)
        return 2
    req = BundleRequest(site.id, start, end, by=args.by or getpass.getuser(), reason=args.reason,
                        cameras=args.camera or None, manifests_only=args.manifests_only)

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "segments" and total:
            print(f"... segments {done / 1e6:.1f} / {total / 1e6:.1f} MB", flush=True)
        elif stage != "segments":
            print(f"... {stage}", flush=True)

    try:
        with open(args.out, "wb") as out:
            summary = build(core.sessions, core.ledger, req, out, source, progress)
    except DomainError as exc:
        Path(args.out).unlink(missing_ok=True)
        print(str(exc), file=sys.stderr)
        return 2
    for missing in summary.missing:
        print(_t("warning: {segment} is not in the recordings folder", segment=missing))
    print(_t("bundle {path}: {segments} segments, {files} files, ledger entry {index}; verify with: "
             "siteguard verify-bundle {path} --key {key}", path=args.out, segments=summary.segments,
             files=summary.files, index=summary.creation_index, key=core.ledger.public_key.hex()))
    return 0


def cmd_verify_bundle(args) -> int:
    """An audit bundle checked offline: no server, no database."""
    from retention.audit_bundle import verify_bundle

    try:
        text = Path(args.key).read_text().strip() if os.path.exists(args.key) else args.key.strip()
        key = bytes.fromhex(text)
        if len(key) != 32:
            raise ValueError
    except (OSError, UnicodeDecodeError, ValueError):
        print(_t("--key must be the ledger's Ed25519 public key in hex, or a file holding it"), file=sys.stderr)
        return 2
    if not os.path.isfile(args.bundle):
        print(_t("cannot read {path}: {error}", path=args.bundle, error="no such file"), file=sys.stderr)
        return 2
    report = verify_bundle(args.bundle, key, progress=lambda stage: print(f"... {stage}", flush=True))
    for w in report.warnings:
        print(f"warning: {w}")
    for p in report.problems:
        print(f"FAIL: {p}")
    hours = ", ".join(f"{c} {h:.2f} h" for c, h in report.hours().items()) or "-"
    print(_t("site {site}: {segments} segments ({files} files, {mb} MB re-hashed), hours per camera: {hours}; "
             "{gaps} gaps, {deletions} deletions, {access} access events, {network} network changes; "
             "checkpoint size {size}", site=report.site, segments=report.segments, files=report.files_hashed,
             mb=f"{report.bytes_hashed / 1e6:.1f}", hours=hours, gaps=report.gaps, deletions=report.deletions,
             access=report.access_events, network=report.network_changes, size=report.checkpoint_size))
    if report.ok:
        print(_t("OK: audit bundle {path} verifies", path=args.bundle))
        return 0
    print(_t("audit bundle {path} does NOT verify ({n} problem(s))", path=args.bundle, n=len(report.problems)))
    return 1


def cmd_check_site(args) -> int:
    config = _load_site(args.site)
    print(_t("{path}: site {site} is valid (config {hash}): {cameras} cameras, {seats} seats, {gates} gates, "
             "{switches} switches, {customers} customers, {people} people",
             path=args.site, site=config.site.id, hash=config.config_hash()[:12], cameras=len(config.cameras),
             seats=len(config.seats), gates=len(config.gates), switches=len(config.switches),
             customers=len(config.customers), people=len(config.people)))
    return 0


# --- edge side --------------------------------------------------------------------------------

def cmd_edge(args) -> int:
    from edge_agent.agent import AgentOptions, EdgeAgent
    from edge_agent.wire.keys import KeyFileError

    config = _load_site(args.site)
    data = Path(args.data)
    key_file = Path(args.controller_key or config.controller.public_key_file or data / "controller.key")
    try:
        agent = EdgeAgent(config, AgentOptions(data_dir=data, controller_key_file=key_file,
                                               endpoint=args.endpoint, video=not args.no_video,
                                               gates=not args.no_gates, network=not args.no_network,
                                               site_dir=Path(args.site).resolve().parent,
                                               osdp_keys_dir=Path(args.osdp_keys) if args.osdp_keys else None))
    except KeyFileError as exc:
        print(_t("controller public key: {error}", error=exc), file=sys.stderr)
        return 2
    if args.print_key:
        print(agent.public_key.decode(), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    try:
        agent.run()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_agent_key(args) -> int:
    from edge_agent.wire.keys import ensure_keypair

    public, _ = ensure_keypair(Path(args.data) / "keys", "agent")
    print(public.decode())
    return 0


# --- the demo ---------------------------------------------------------------------------------

def write_approval_key(out: Path):
    """A new Ed25519 approval key written to ``out`` (readable by its owner only); None when
    ``out`` already exists."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if out.exists():
        return None
    key = Ed25519PrivateKey.generate()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return key


def cmd_approval_key(args) -> int:
    """A customer's approval key pair: the private key to a file only its owner reads, the
    public key printed for the site file (customers[].approval_public_key)."""
    from network_policy.approval import public_key_text

    out = Path(args.out)
    key = write_approval_key(out)
    if key is None:
        print(_t("{path} exists; not overwriting a key", path=out), file=sys.stderr)
        return 2
    print(public_key_text(key.public_key()))
    return 0


def cmd_sign_change(args) -> int:
    """Sign a change offline: recompute what is signed from the change's own lines (the JSON of
    GET /api/network/changes/{id}), refuse if it differs from the digest the controller shows,
    print what the change does, then the signature."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from network_policy.approval import digest

    try:
        doc = json.loads(Path(args.change).read_text())
        commands = {d: p["commands"] for d, p in doc["device_plans"].items()}
        change_id, expires = doc["id"], doc["expires"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(_t("{path}: not a change document ({error})", path=args.change, error=exc), file=sys.stderr)
        return 2
    mine = digest(change_id, args.customer, commands, expires)
    shown = next((x["digest"] for x in doc.get("signing", []) if x.get("customer") == args.customer), None)
    if shown is not None and shown != mine:
        print(_t("the digest the controller shows ({shown}) is not the digest of these lines ({mine}); not signing",
                 shown=shown, mine=mine), file=sys.stderr)
        return 1
    if args.customer not in doc.get("customers", []):
        print(_t("change {change} does not concern {customer}; not signing", change=change_id, customer=args.customer),
              file=sys.stderr)
        return 1
    key = serialization.load_pem_private_key(Path(args.key).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        print(_t("{path} is not an Ed25519 private key", path=args.key), file=sys.stderr)
        return 2
    print(f"change {change_id}: {doc.get('title', '')}", file=sys.stderr)
    for device, lines in sorted(commands.items()):
        print(f"  {device}: {len(lines)} line(s)", file=sys.stderr)
        for line in lines:
            print(f"    {line}", file=sys.stderr)
    for label, key_ in (("newly permitted", "newly_permitted"), ("newly denied", "newly_denied")):
        flows = doc.get("analysis", {}).get(key_, [])
        print(f"  {label}: {len(flows)}" + "".join(f"\n    {f}" for f in flows[:20]), file=sys.stderr)
    print(f"  signing sha256 {mine} as {args.customer}, valid until {expires}", file=sys.stderr)
    print(base64.b64encode(key.sign(bytes.fromhex(mine))).decode())
    return 0


def seat_the_browser(doc: dict, user: str, address: str) -> str:
    """Give ``user``'s customer's first seat ``address`` as its workstation, and that customer a
    VLAN holding the address (a /24 with a VLAN id no one uses); returns the seat's id."""
    import ipaddress

    person = next(p for p in doc["people"] if p.get("user") == user)
    customer = next(c for c in doc["customers"] if c["id"] == person["customers"][0])
    seat = next(s for s in doc["seats"] if s["customer"] == customer["id"])
    seat["workstation"] = address
    used = {v["id"] for c in doc["customers"] for v in c.get("vlans", [])}
    used |= {doc.get("network", {}).get("platform_vlan", {}).get("id")}
    net = ipaddress.ip_network(f"{address}/24", strict=False)
    customer.setdefault("vlans", []).append({
        "id": next(i for i in range(max(v for v in used if v) + 1, 4095) if i not in used),
        "name": f"{customer['id']}-demo-browser", "subnet": str(net), "gateway": str(net[254])})
    return seat["id"]


# The simulated cameras encode H.264 at about a tenth of a bit per pixel and frame, 10 frames/s
# on their main stream (simulators/camera/encoder.py), which the edge records.
DEMO_CAMERA_FPS = 10
DEMO_BITS_PER_PIXEL = 0.1
# The edge raises its critical disk alarm when the disk reaches its reserve within this many days
# (retention.capacity.disk_pressure).
DISK_CRITICAL_DAYS = 7.0


def demo_disk_note(free_bytes: int, total_bytes: int, reserve_percent: float,
                   resolutions: Mapping[str, tuple[int, int]]) -> str | None:
    """One plain line when the demo's disk cannot hold a week of its recordings: the edge's first
    alarm will then be a true 'recording disk nearly full', and the newcomer should know why."""
    from retention.capacity import forecast, format_bytes

    rates = {cam: w * h * DEMO_CAMERA_FPS * DEMO_BITS_PER_PIXEL for cam, (w, h) in resolutions.items()}
    fc = forecast(free_bytes, int(total_bytes * reserve_percent / 100), rates)
    if fc.days_left >= DISK_CRITICAL_DAYS:
        return None
    return (f"  disk: the demo's {len(rates)} cameras record about {format_bytes(fc.bytes_per_day)} a day and this "
            f"disk has {format_bytes(free_bytes)} free, so it reaches its reserve in {fc.days_left:.1f} days. "
            f"The critical alarm 'Recording disk nearly full' the pages show is true of this disk: recordings "
            f"are kept for the whole minimum retention, so nothing may be deleted to make room. Give the demo "
            f"a bigger disk (--data) or stop it within that time.")


def demo_runtime_site(base: Path) -> tuple[Path, Path, str]:
    """The demo site file with approval keys for its customers (made on first start) and the
    browser's seat (``seat_the_browser``), the folder holding the customers' private keys, as
    each customer would keep its own, and the browser's seat."""
    import yaml
    from cryptography.hazmat.primitives import serialization

    from network_policy.approval import public_key_text

    keys_dir = base / "customer-keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    doc = yaml.safe_load(demo_site_file().read_text())
    for c in doc["customers"]:
        path = keys_dir / f"{c['id']}.pem"
        if write_approval_key(path) is not None:  # first start: say what the new key is for
            print(f"customer {c['id']}: new approval key (signs its network changes) in {path}")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        c["approval_public_key"] = public_key_text(key.public_key())
    seat = seat_the_browser(doc, DEMO_BROWSER_USER, DEMO_BROWSER_ADDRESS)
    site = base / "site.yaml"
    site.write_text("# Generated by `siteguard demo` from simulators/sites/demo.yaml plus the customers'\n"
                    f"# approval keys and seat {seat} at the browser's address {DEMO_BROWSER_ADDRESS};\n"
                    "# edit the original, not this copy.\n" + yaml.safe_dump(doc, sort_keys=False))
    return site, keys_dir, seat


def seed_demo_annotation(core, config, base: Path, espeak: str = "espeak-ng", **counts: int):
    """The demo's annotation projects and annotator logins (``controller.demo_seed``), with
    content from ``simulators.annotation_content`` (``counts``: its ``demo_projects`` item
    counts); without a working espeak-ng the speech projects are left out, and it says so."""
    import shutil

    from controller.demo_seed import DemoProject, seed_demo
    from simulators import annotation_content as content

    problem = content.espeak_problem(espeak)
    if problem:
        print(f"  speech projects skipped: {problem}", flush=True)
    plans = [DemoProject(**p) for p in content.demo_projects([c.id for c in config.customers],
                                                             speech=problem is None, **counts)]

    def write(plan, folder: Path, note) -> Path:
        return content.write_project(plan.customer, plan.slug, plan.modality, plan.count, folder,
                                     espeak=espeak, note=note)

    work = base / "demo-content"
    try:
        report = seed_demo(core, config, plans, write, work, reviewer=DEMO_REVIEWER)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for line in report.problems:
        print(f"  demo projects: {line}", file=sys.stderr, flush=True)
    if problem:
        report.problems.insert(0, f"speech projects skipped: {problem}")
    return report


def cmd_demo(args) -> int:
    import urllib.error
    import urllib.request

    from sqlalchemy import select

    from controller.app import open_core, server_public_key_file
    from controller.models import Agent, User
    from edge_agent.wire.keys import ensure_keypair

    base = Path(args.data)
    settings = _settings(argparse.Namespace(data=str(base / "controller")))
    settings.http_port = args.port
    base.mkdir(parents=True, exist_ok=True)
    runtime_site, customer_keys, browser_seat = demo_runtime_site(base)
    site_file = str(runtime_site)
    core = open_core(settings)
    register_sites(core, [site_file])
    config = _load_site(site_file)
    ensure_keypair(settings.keys_dir, "controller")
    edge_data = base / "edge"
    agent_public, _ = ensure_keypair(edge_data / "keys", "agent")
    from controller.models import Role
    from controller.services.agents import enroll
    from controller.services.users import create_user

    with core.sessions() as s:
        if s.scalar(select(Agent).where(Agent.public_key == agent_public.decode())) is None:
            enroll(s, core.ledger, "edge-demo", "demo-floor3", agent_public.decode(), "demo")
        from controller.models import Customer

        for username, role, customer in DEMO_USERS:
            if s.scalar(select(User).where(User.username == username)) is None:
                cid = s.scalar(select(Customer.id).where(Customer.slug == customer)) if customer else None
                create_user(s, core.ledger, username, f"{username}-demo", Role(role), cid, "demo")
    annotation = seed_demo_annotation(core, config, base)
    core.engine.dispose()

    # OpenCV's own "Stream timeout triggered" warnings (a sub-stream read that waited 5 s, common
    # on a busy demo machine) stay quiet: the edge reports a stream it loses as the camera's state.
    env = {"OPENCV_LOG_LEVEL": "ERROR", **demo_environment(), "SITEGUARD_DATA_DIR": str(settings.data_dir),
           "SITEGUARD_DATABASE_URL": settings.database_url,
           "SITEGUARD_HTTP_PORT": str(args.port), "SITEGUARD_HTTP_HOST": args.host}
    procs = [subprocess.Popen([sys.executable, "-m", "siteguard_cli", "controller"], env=env)]
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '') else args.host}:{args.port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:  # the base package has no httpx
                if r.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if procs[0].poll() is not None:
            print(_t("controller failed to start"), file=sys.stderr)
            return 1
        time.sleep(0.2)
    # The site's hardware: 9 simulated ONVIF cameras (RTSP on ONVIF port + 10000), 8 over the
    # seats and one over gate-main's lane.
    procs.append(subprocess.Popen([sys.executable, "-m", "simulators.camera", "--site", site_file,
                                   "--control-port", str(args.camera_control_port)], env=env))
    # 2 simulated gates as OSDP peripheral devices; the edge reads the same secure channel keys.
    osdp_keys = base / "osdp-keys"
    procs.append(subprocess.Popen([sys.executable, "-m", "simulators.turnstile", "--site", site_file,
                                   "--keys", str(osdp_keys), "--control-port", str(args.gate_control_port)],
                                  env=env))
    # 2 simulated switches (SSH: sw-core Cisco IOS on 2201, sw-floor Huawei VRP on 2202).
    procs.append(subprocess.Popen([sys.executable, "-m", "simulators.switch", "--site", site_file,
                                   "--state-dir", str(base / "switches"),
                                   "--control-port", str(args.switch_control_port)], env=env))
    for _ in range(100):  # the simulator writes the keys on its first start
        if all((osdp_keys / f"{g}.scbk").exists() for g in ("gate-main", "gate-side")):
            break
        time.sleep(0.1)
    procs.append(subprocess.Popen([
        sys.executable, "-m", "siteguard_cli", "edge", "--site", site_file, "--data", str(edge_data),
        "--controller-key", str(server_public_key_file(settings)), "--osdp-keys", str(osdp_keys)], env=env))
    print("\nSiteGuard demo is running.")
    print(f"  open {url}/  (API docs at {url}/docs)")
    print(f"  camera simulators: fault control at http://127.0.0.1:{args.camera_control_port}/cameras"
          " (POST /cameras/cam-01/fault {\"fault\": \"blackout\"})")
    print(f"  gate simulators: people flows at http://127.0.0.1:{args.gate_control_port}/gates"
          " (POST /gates/gate-main/enter {\"person\": \"p-003\"})")
    print(f"  people in gate-main's lane on cam-09: POST http://127.0.0.1:{args.camera_control_port}"
          "/cameras/cam-09/walkers {\"count\": 2} (two on one grant: tailgating from the camera)")
    print(f"  switch simulators: command logs and faults at http://127.0.0.1:{args.switch_control_port}/switches")
    print(f"  customers' approval keys: {customer_keys}/<customer>.pem (import on the Network page)")
    print("  logins (username / password):")
    for username, role, customer in DEMO_USERS:
        print(f"    {username:10} / {username}-demo   ({role}{' of ' + customer if customer else ''})")
    for a in annotation.annotators:
        at = " - sits at the browser's seat " + browser_seat if a.username == DEMO_BROWSER_USER else ""
        print(f"    {a.username:10} / {a.username}-demo   (annotator of {', '.join(a.customers)}"
              f"{', reviewer' if a.reviewer else ''}: {a.person} {a.name}{at})")
    projects = [f"{p.customer}/{p.slug} ({p.modality})" for p in [*annotation.kept, *(p for p, _ in annotation.made)]]
    print(f"  annotation projects: {', '.join(projects) or 'none'}")
    person = next((a.person for a in annotation.annotators if a.username == DEMO_BROWSER_USER), "?")
    camera = next((s.views[0].camera for s in config.seats if s.id == browser_seat and s.views), "?")
    print(f"  labelling: {url}/work as {DEMO_BROWSER_USER}, once she is inside (POST http://127.0.0.1:"
          f"{args.gate_control_port}/gates/gate-main/enter {{\"person\": \"{person}\"}}); covering her seat's "
          f"camera (POST .../cameras/{camera}/fault {{\"fault\": \"lens_covered\"}}) hides the work")
    du = shutil.disk_usage(base)  # the edge records under the demo's data folder
    note = demo_disk_note(du.free, du.total, config.retention.reserve_percent,
                          {c.id: tuple(c.resolution) for c in config.cameras})
    if note:
        print(note)
    print(f"  the demo's data (databases, keys, recordings, imported content): {base.resolve()}")
    print("  press Ctrl-C to stop\n", flush=True)

    def stop_on_term(signum, frame):  # a service manager's stop takes the whole site down too
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="siteguard", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("controller", help="run the central controller (API, pages, edge link)")
    c.add_argument("--site", action="append", default=[], help="site file to register (repeatable)")
    c.add_argument("--data", help="data directory (default $SITEGUARD_DATA_DIR or var/controller)")
    c.add_argument("--port", type=int, default=0)
    c.add_argument("--role", choices=["all", "http", "link", "sequencer"], default="all",
                   help="all: every part (with --workers 1, in one process); or one part alone")
    c.add_argument("--workers", type=int, default=1, help="HTTP worker processes (above 1: PostgreSQL)")
    c.set_defaults(func=cmd_controller)

    e = sub.add_parser("edge", help="run the edge agent of one site")
    e.add_argument("--site", required=True, help="the site file")
    e.add_argument("--data", default="var/edge", help="agent data directory")
    e.add_argument("--controller-key", help="controller's CurveZMQ public key file")
    e.add_argument("--endpoint", help="override the site file's controller.endpoint")
    e.add_argument("--print-key", action="store_true", help="print this agent's public key first")
    e.add_argument("--no-video", action="store_true", help="run without cameras and recording")
    e.add_argument("--no-gates", action="store_true", help="run without the OSDP gates")
    e.add_argument("--no-network", action="store_true",
                   help="run without switch changes and drift checks")
    e.add_argument("--osdp-keys", help="folder of <gate>.scbk secure channel keys (default <data>/osdp-keys)")
    e.set_defaults(func=cmd_edge)

    k = sub.add_parser("agent-key", help="print (creating if needed) the edge agent's public key")
    k.add_argument("--data", default="var/edge")
    k.set_defaults(func=cmd_agent_key)

    d = sub.add_parser("demo", help="run a whole simulated site on embedded defaults")
    d.add_argument("--data", default="var/demo")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument("--camera-control-port", type=int, default=8790)
    d.add_argument("--gate-control-port", type=int, default=8795)
    d.add_argument("--switch-control-port", type=int, default=8797)
    d.set_defaults(func=cmd_demo)

    u = sub.add_parser("create-user", help="create a user in the controller database")
    u.add_argument("username")
    u.add_argument("--role", required=True, choices=["admin", "officer", "customer", "inspector", "annotator"])
    u.add_argument("--customer", help="customer slug (role customer only)")
    u.add_argument("--password")
    u.add_argument("--data")
    u.set_defaults(func=cmd_create_user)

    lo = sub.add_parser("lift-lockout", help="lift login lock-outs of an account and/or an address")
    lo.add_argument("--username")
    lo.add_argument("--address")
    lo.add_argument("--data")
    lo.set_defaults(func=cmd_lift_lockout)

    a = sub.add_parser("enroll-agent", help="allow an edge agent's key to connect")
    a.add_argument("--name", required=True)
    a.add_argument("--site", required=True, help="site id")
    a.add_argument("--public-key", required=True, help="the agent's public key file")
    a.add_argument("--data")
    a.set_defaults(func=cmd_enroll_agent)

    x = sub.add_parser("export-ledger", help="write the evidence ledger export")
    x.add_argument("out")
    x.add_argument("--data")
    x.set_defaults(func=cmd_export_ledger)

    v = sub.add_parser("verify-ledger", help="verify a ledger export offline")
    v.add_argument("export")
    v.add_argument("--key", help="pinned ledger public key (hex, or a file holding it)")
    v.set_defaults(func=cmd_verify_ledger)

    ve = sub.add_parser("verify-export", help="verify an annotation export offline")
    ve.add_argument("export")
    ve.add_argument("--key", required=True, help="the ledger's Ed25519 public key (hex, or a file holding it)")
    ve.set_defaults(func=cmd_verify_export)

    ab = sub.add_parser("audit-bundle", help="write a site's audit bundle for a period (verify-bundle checks it)")
    ab.add_argument("--site", required=True, help="site slug or id")
    ab.add_argument("--camera", action="append", default=[], help="camera id (repeatable; default all)")
    ab.add_argument("--from", required=True, help="period start, ISO 8601 (UTC unless an offset is given)")
    ab.add_argument("--to", required=True, help="period end, ISO 8601")
    ab.add_argument("--out", required=True, help="the bundle file to write (tar)")
    ab.add_argument("--manifests-only", action="store_true", help="metadata only, no segment files")
    ab.add_argument("--recordings", help="the site's recordings folder (the edge's retention storage_path)")
    ab.add_argument("--reason", default="", help="why the bundle is made (ledgered)")
    ab.add_argument("--by", help="who makes it (ledgered; default the login name)")
    ab.add_argument("--data")
    ab.set_defaults(func=cmd_audit_bundle)

    vb = sub.add_parser("verify-bundle", help="verify an audit bundle offline")
    vb.add_argument("bundle")
    vb.add_argument("--key", required=True, help="the ledger's Ed25519 public key (hex, or a file holding it)")
    vb.set_defaults(func=cmd_verify_bundle)

    ak = sub.add_parser("approval-key", help="make a customer's Ed25519 approval key; prints the public key")
    ak.add_argument("--out", required=True, help="private key file to create (PKCS#8 PEM, mode 0600)")
    ak.set_defaults(func=cmd_approval_key)

    sc = sub.add_parser("sign-change", help="sign a network change offline with a customer's key")
    sc.add_argument("--key", required=True, help="the customer's private key (PEM)")
    sc.add_argument("--change", required=True, help="the change as JSON (GET /api/network/changes/{id})")
    sc.add_argument("--customer", required=True, help="the customer slug signing")
    sc.set_defaults(func=cmd_sign_change)

    dr = sub.add_parser("daily-report", help="make a site's daily security report now (PDF, ledgered and signed)")
    dr.add_argument("--site", required=True, help="the site's slug")
    dr.add_argument("--date", help="the site's calendar day (YYYY-MM-DD); the day before today by default")
    dr.add_argument("--lang", choices=("zh_CN", "en"), default="zh_CN")
    dr.add_argument("--out", required=True, help="the PDF to write; its signed note goes to <out>.sig")
    dr.add_argument("--html", help="also write the report's HTML here")
    dr.add_argument("--data")
    dr.set_defaults(func=cmd_daily_report)

    vr = sub.add_parser("verify-report", help="check a daily report's PDF against its signed note, offline")
    vr.add_argument("pdf")
    vr.add_argument("--note", help="the signed note (default: <pdf>.sig)")
    vr.add_argument("--key", required=True, help="the ledger's Ed25519 public key (hex, or a file holding it)")
    vr.set_defaults(func=cmd_verify_report)

    s = sub.add_parser("check-site", help="validate a site file")
    s.add_argument("site")
    s.set_defaults(func=cmd_check_site)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
