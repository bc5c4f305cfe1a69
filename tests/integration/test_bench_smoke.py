"""Every benchmark runs at a tiny size, so a change that breaks one is seen in the suite, not on
the day someone reproduces a README figure. The figures themselves are not judged here."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.lab import vpn_lab
from tests.lab.conftest import cannot_run

# One run per bench/ script, at its smallest meaningful size (the defaults stay the README's).
SMOKE = {
    "annotation_load": ["--n", "5", "--seconds", "2"],
    "audit": ["--cameras", "2", "--days", "1", "--files", "1", "--file-mb", "2"],
    "blindspots": ["--cameras", "40", "--repeat", "2"],
    "coverage": ["--images", "4"],
    "gate": ["--reads", "4", "--seconds", "2"],
    "ledger": ["--writers", "1", "--facts", "50"],
    "login": ["--flooders", "2", "--seconds", "2"],
    "network": ["--switches", "2", "--parallel", "2"],
    "quality": ["--annotations", "2000", "--annotators", "5", "--seconds", "2", "--workers", "2"],
    "recording": ["--seconds", "4", "--segment-seconds", "2"],
    "vpn": ["--seconds", "0.5", "--rounds", "1", "--pings", "5"],
    "wire": ["--events", "200"],
}
FIGURES = re.compile(r"^(?P<name>[a-z_]+): (?:[a-z0-9_]+=\S+ ?)+$")


def test_every_bench_script_has_a_smoke_run():
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py") if p.stem != "__init__"}
    assert scripts == set(SMOKE), "give each bench/ script a tiny run in SMOKE"


@pytest.mark.slow
@pytest.mark.parametrize("bench", sorted(SMOKE))
def test_bench_runs_and_prints_its_figures(bench):
    if bench == "vpn" and (reason := vpn_lab.blocker()):
        cannot_run(reason)  # namespaces and wireguard-go, as for the lab tests
    res = subprocess.run([sys.executable, "-m", f"bench.{bench}", *SMOKE[bench]], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"bench.{bench} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    last = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
    m = FIGURES.match(last)
    assert m and m["name"] == bench, f"bench.{bench}'s last line is not its figures: {last!r}"
