"""Site file schema and loader: what loads, and where each kind of mistake is reported."""

from __future__ import annotations

import base64
import json
import pickle
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the tree is not installed as a package
    sys.path.insert(0, str(ROOT))

from edge_agent.wire.site import (  # noqa: E402
    SiteConfig,
    SiteFileError,
    SiteProblem,
    load_site_file,
    parse_site_text,
)

DEMO = ROOT / "simulators" / "sites" / "demo.yaml"
MINIMAL = ROOT / "tests" / "data" / "sites" / "minimal.yaml"

# A small valid site. Tests edit single lines in place so that the line
# numbers in this listing stay valid; they are asserted exactly.
BASE = textwrap.dedent(
    """\
    site:
      id: t-site
      name: Test site
      timezone: Asia/Shanghai
    controller:
      endpoint: tcp://127.0.0.1:7700
    areas:
      - {id: outside, name: Outside}
      - {id: floor3, name: Floor 3}
    customers:
      - id: acme
        name: Acme
        vlans: [{id: 110, name: acme, subnet: 10.110.0.0/24}]
      - id: borealis
        name: Borealis
        vlans: [{id: 120, name: borealis, subnet: 10.120.0.0/24}]
    cameras:
      - id: cam-01
        name: Camera 1
        host: 127.0.0.1
        username: admin
        password: pw
        resolution: [1280, 720]
      - id: cam-02
        name: Camera 2
        host: 127.0.0.2
        username: admin
        password_env: CAM_PASSWORD
    seats:
      - id: A1
        customer: acme
        position: {x: 1.0, y: 2.0}
        views:
          - camera: cam-01
            seat: [[10, 10], [600, 10], [600, 700], [10, 700]]
            screen: [[100, 100], [400, 100], [400, 300]]
      - id: B1
        customer: borealis
        position: {x: 2.5, y: 2.0}
        views:
          - camera: cam-02
            seat: [[10, 10], [600, 10], [600, 700], [10, 700]]
            screen: [[100, 100], [400, 100], [400, 300]]
    gates:
      - id: gate-main
        name: Main
        kind: full_height_turnstile
        area_in: floor3
        area_out: outside
        osdp: {address: 1, channel: "tcp://127.0.0.1:9701"}
    switches:
      - id: sw-core
        name: Core
        vendor: cisco_ios
        host: 127.0.0.1
        username: admin
        password_env: SWITCH_PASSWORD
        ports:
          - {name: Gi1/0/1, vlan: 110}
    people:
      - id: p-001
        name: Li Wei
        role: annotator
        customers: [acme]
        badges: [{number: "10001", facility: 12}]
        training: {completed: 2025-01-01, expires: 2026-01-01}
    """
)


def edit(line: int, new: str, text: str = BASE) -> str:
    """Replace one 1-based line (new may be blank to drop the content but keep numbering)."""
    lines = text.split("\n")
    lines[line - 1] = new
    return "\n".join(lines)


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[SiteProblem]:
    with pytest.raises(SiteFileError) as info:
        load_site_file(path)
    assert info.value.problems, "a SiteFileError must carry at least one problem"
    return info.value.problems


def only_problem(path: Path) -> SiteProblem:
    problems = problems_of(path)
    assert len(problems) == 1, "\n".join(map(str, problems))
    assert problems[0].file == str(path)
    return problems[0]


def assert_at(problem: SiteProblem, line: int, column: int, field: str, message: str) -> None:
    assert (problem.line, problem.column, problem.field) == (line, column, field), str(problem)
    assert message in problem.message, str(problem)


# --- valid files ---------------------------------------------------------------


def test_base_listing_matches_its_line_numbers():
    assert BASE.split("\n")[46] == "    kind: full_height_turnstile"  # line 47


def test_demo_site_loads():
    config = load_site_file(DEMO)
    assert config.site.id == "demo-floor3"
    assert config.site.timezone == "Asia/Shanghai"
    assert config.controller.endpoint == "tcp://127.0.0.1:7700"
    assert config.controller.address == ("127.0.0.1", 7700)
    assert [a.id for a in config.areas] == ["outside", "floor3"]
    assert {c.id: [(v.id, str(v.subnet)) for v in c.vlans] for c in config.customers} == {
        "acme": [(110, "10.110.0.0/24")],
        "borealis": [(120, "10.120.0.0/24")],
    }
    assert [c.id for c in config.cameras] == [f"cam-0{i}" for i in range(1, 10)]
    assert [c.onvif_port for c in config.cameras] == list(range(8081, 8090))
    assert {c.resolution for c in config.cameras} == {(1280, 720)}
    # No password in the demo file: the edge and the simulators read them from the environment.
    assert {(c.password, c.password_env) for c in config.cameras} == {(None, "SITEGUARD_DEMO_CAMERA_PASSWORD")}
    assert {(s.password, s.password_env) for s in config.switches} == {(None, "SITEGUARD_DEMO_SWITCH_PASSWORD")}
    assert [s.id for s in config.seats] == [f"A{i}" for i in range(1, 9)] + [f"B{i}" for i in range(1, 9)]
    assert {s.customer for s in config.seats if s.id.startswith("A")} == {"acme"}
    assert {s.customer for s in config.seats if s.id.startswith("B")} == {"borealis"}
    gates = {g.id: g for g in config.gates}
    assert gates["gate-main"].kind == "full_height_turnstile"
    assert (gates["gate-main"].area_out, gates["gate-main"].area_in) == ("outside", "floor3")
    assert gates["gate-side"].kind == "speed_gate"
    assert sorted(g.osdp.address for g in config.gates) == [1, 2]
    assert {(s.id, s.vendor, s.port) for s in config.switches} == {
        ("sw-core", "cisco_ios", 2201),
        ("sw-floor", "huawei", 2202),
    }
    assert len(config.people) >= 10


def test_demo_site_has_expired_training_and_expired_badge():
    import datetime as dt

    config = load_site_file(DEMO)
    today = dt.date(2026, 1, 1)
    expired_training = [p.id for p in config.people if p.training and p.training.expires < today]
    expired_badges = [p.id for p in config.people for b in p.badges if b.valid_until and b.valid_until < today]
    assert len(expired_training) == 1
    assert len(expired_badges) == 1
    assert expired_training != expired_badges


def test_minimal_data_file_loads_with_defaults():
    config = load_site_file(MINIMAL)
    assert config.cameras == () and config.people == ()
    assert config.retention.min_months == 6
    assert config.retention.segment_seconds == 60
    assert config.retention.storage_path == "recordings"
    assert config.retention.reserve_percent == 5


def test_base_text_loads_and_fills_defaults():
    config = parse_site_text(BASE)
    cam2 = config.cameras[1]
    assert cam2.onvif_port == 80 and cam2.resolution == (1920, 1080)
    assert cam2.tamper.defocus_ratio == 0.5
    assert config.gates[0].osdp.baud == 9600 and config.gates[0].fail_mode == "secure"
    assert config.switches[0].ports[0].mode == "access"
    assert config.people[0].badges[0].format == "wiegand26"


def test_config_is_frozen_and_hides_passwords():
    config = parse_site_text(BASE)
    with pytest.raises(ValidationError):
        config.site.name = "other"  # type: ignore[misc]
    assert "pw" not in repr(config.cameras[0])


# --- hash and wire form ------------------------------------------------------------


def test_config_hash_is_stable(tmp_path):
    a = load_site_file(DEMO)
    b = load_site_file(DEMO)
    assert a.config_hash() == b.config_hash()
    assert len(a.config_hash()) == 64 and int(a.config_hash(), 16) >= 0
    # Layout, comments and number spelling are not content.
    reformatted = "# a comment\n" + BASE.replace("{x: 1.0, y: 2.0}", "{y: 2, x: 1}")
    assert parse_site_text(reformatted).config_hash() == parse_site_text(BASE).config_hash()


def test_config_hash_changes_with_content():
    base = parse_site_text(BASE).config_hash()
    assert parse_site_text(edit(3, "  name: Test site 2")).config_hash() != base
    assert parse_site_text(edit(22, "    password: pw2")).config_hash() != base
    # Spelling out a default is the same config.
    assert parse_site_text(edit(28, "    password_env: CAM_PASSWORD\n    onvif_port: 80")).config_hash() == base


def test_canonical_json_is_sorted_compact_and_round_trips():
    config = load_site_file(DEMO)
    text = config.canonical_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    again = SiteConfig.model_validate_json(text)
    assert again == config
    assert again.canonical_json() == text
    assert again.config_hash() == config.config_hash()


def test_wire_validation_also_checks_references():
    data = json.loads(parse_site_text(BASE).canonical_json())
    data["seats"][0]["views"][0]["camera"] = "cam-99"
    with pytest.raises(ValidationError, match="unknown camera 'cam-99'"):
        SiteConfig.model_validate_json(json.dumps(data))


# --- error reporting ---------------------------------------------------------------


def test_problem_and_error_formatting(tmp_path):
    path = write(tmp_path, edit(23, "    onvif_port: eighty", edit(21, "")), name="demo.yaml")
    with pytest.raises(SiteFileError) as info:
        load_site_file(path)
    err = info.value
    lines = str(err).split("\n")
    assert lines[0] == f"site file {path} is invalid (2 problems):"
    assert lines[1] == f"{path}:18:5: cameras[0].username: Field required"
    assert lines[2] == f"{path}:23:5: cameras[0].onvif_port: Input should be a valid integer"
    assert str(SiteProblem("demo.yaml", 12, 5, "cameras[1].onvif.port", "Input should be a valid integer")) == (
        "demo.yaml:12:5: cameras[1].onvif.port: Input should be a valid integer"
    )
    copy = pickle.loads(pickle.dumps(err))
    assert copy.problems == err.problems and str(copy) == str(err)


def test_parse_site_text_uses_given_filename():
    with pytest.raises(SiteFileError) as info:
        parse_site_text(edit(47, "    kind: revolving_door"), filename="wire:site")
    assert str(info.value.problems[0]).startswith("wire:site:47:5: gates[0].kind:")


def test_yaml_syntax_error(tmp_path):
    problem = only_problem(write(tmp_path, edit(19, "    name: Camera: 1")))
    assert_at(problem, 19, 17, "", "mapping values are not allowed here")


def test_yaml_syntax_error_unclosed_flow_list(tmp_path):
    problem = only_problem(write(tmp_path, edit(23, "    resolution: [1280, 720")))
    assert problem.line == 24 and problem.field == ""
    assert "YAML syntax error" in problem.message and "line 23" in problem.message


def test_duplicate_key(tmp_path):
    problem = only_problem(write(tmp_path, edit(23, "    name: Camera one")))
    assert_at(problem, 23, 5, "cameras[0].name", "duplicate key 'name' (first at line 19)")


def test_duplicate_top_level_key_and_later_problems_point_into_the_kept_value(tmp_path):
    # PyYAML keeps the last value, so that is what the schema sees and reports on.
    problems = problems_of(write(tmp_path, BASE + "site:\n  id: again\n"))
    assert_at(problems[0], 67, 1, "site", "duplicate key 'site' (first at line 1)")
    assert [(p.line, p.field) for p in problems[1:]] == [(67, "site.name"), (67, "site.timezone")]


def test_unknown_key(tmp_path):
    problem = only_problem(write(tmp_path, edit(23, "    resolutoin: [1280, 720]")))
    assert_at(problem, 23, 5, "cameras[0].resolutoin", "unknown key 'resolutoin' (did you mean 'resolution'?)")


def test_unknown_key_lists_allowed_keys(tmp_path):
    problem = only_problem(write(tmp_path, edit(50, '    osdp: {address: 1, channel: "tcp://127.0.0.1:9701", zz: 1}')))
    assert_at(problem, 50, 57, "gates[0].osdp.zz", "allowed: address, channel, baud, scbk_env")


def test_wrong_type(tmp_path):
    problem = only_problem(write(tmp_path, edit(23, "    onvif_port: eighty")))
    assert_at(problem, 23, 5, "cameras[0].onvif_port", "Input should be a valid integer")


def test_quoted_number_is_a_wrong_type(tmp_path):
    problem = only_problem(write(tmp_path, edit(23, '    onvif_port: "8080"')))
    assert_at(problem, 23, 5, "cameras[0].onvif_port", "valid integer")


def test_wrong_type_in_list_item(tmp_path):
    problem = only_problem(write(tmp_path, edit(23, "    resolution: [1280, wide]")))
    assert_at(problem, 23, 24, "cameras[0].resolution[1]", "valid integer")


def test_missing_field_points_at_parent_mapping(tmp_path):
    problem = only_problem(write(tmp_path, edit(21, "    # username removed")))
    assert_at(problem, 18, 5, "cameras[0].username", "Field required")


def test_missing_top_level_section(tmp_path):
    text = edit(6, "", edit(5, "# no controller"))
    problem = only_problem(write(tmp_path, text))
    assert_at(problem, 1, 1, "controller", "Field required")


def test_bad_enum(tmp_path):
    problem = only_problem(write(tmp_path, edit(47, "    kind: revolving_door")))
    assert_at(problem, 47, 5, "gates[0].kind", "'full_height_turnstile' or 'speed_gate'")


def test_bad_enum_in_flow_mapping(tmp_path):
    line = '    osdp: {address: 1, channel: "tcp://127.0.0.1:9701", baud: 1200}'
    problem = only_problem(write(tmp_path, edit(50, line)))
    assert_at(problem, 50, 57, "gates[0].osdp.baud", "9600, 19200, 38400, 57600 or 115200")


def test_bad_subnet(tmp_path):
    line = "    vlans: [{id: 110, name: acme, subnet: 10.110.0.5/24}]"
    problem = only_problem(write(tmp_path, edit(13, line)))
    assert_at(problem, 13, 35, "customers[0].vlans[0].subnet", "has host bits set")


def test_overlapping_subnets(tmp_path):
    line = "    vlans: [{id: 120, name: borealis, subnet: 10.110.0.128/25}]"
    problem = only_problem(write(tmp_path, edit(16, line)))
    assert_at(
        problem, 16, 39, "customers[1].vlans[0].subnet", "overlaps 10.110.0.0/24 of VLAN 110 (customers[0].vlans[0])"
    )


def test_unknown_camera_in_seat_view(tmp_path):
    problem = only_problem(write(tmp_path, edit(41, "      - camera: cam-09")))
    assert_at(problem, 41, 9, "seats[1].views[0].camera", "unknown camera 'cam-09' (known: cam-01, cam-02)")


def test_duplicate_seat_id(tmp_path):
    problem = only_problem(write(tmp_path, edit(37, "  - id: A1")))
    assert_at(problem, 37, 5, "seats[1].id", "duplicate seat id 'A1' (already used at seats[0].id)")


def test_polygon_out_of_frame(tmp_path):
    line = "        seat: [[10, 10], [1300, 10], [600, 700], [10, 700]]"
    problem = only_problem(write(tmp_path, edit(35, line)))
    assert_at(problem, 35, 26, "seats[0].views[0].seat[1]", "point [1300, 10] is outside cam-01's 1280x720 frame")


def test_degenerate_polygon(tmp_path):
    problem = only_problem(write(tmp_path, edit(36, "        screen: [[1, 1], [2, 2], [3, 3]]")))
    assert_at(problem, 36, 9, "seats[0].views[0].screen", "no area")


def test_both_password_fields(tmp_path):
    problem = only_problem(write(tmp_path, edit(23, "    password_env: CAM_PASSWORD")))
    assert_at(problem, 23, 5, "cameras[0].password_env",
              "set only one of password, password_env, password_file (found password and password_env)")


def test_password_and_password_file(tmp_path):
    problem = only_problem(write(tmp_path, edit(23, "    password_file: secrets/cam-02")))
    assert_at(problem, 23, 5, "cameras[0].password_file", "found password and password_file")


def test_password_file_alone_is_enough_and_keeps_its_path():
    config = parse_site_text(edit(22, "    password_file: secrets/cam-01"))
    assert (config.cameras[0].password, config.cameras[0].password_file) == (None, "secrets/cam-01")


def test_switch_enable_secret_is_optional_and_single(tmp_path):
    assert parse_site_text(BASE).switches[0].secret_file is None
    config = parse_site_text(edit(57, "    password_env: SWITCH_PASSWORD\n    secret_file: enable.txt"))
    assert config.switches[0].secret_file == "enable.txt"
    problem = only_problem(write(tmp_path, edit(57, "    password_env: SWITCH_PASSWORD\n"
                                                    "    secret: x\n    secret_env: ENABLE")))
    assert_at(problem, 59, 5, "switches[0].secret_env", "set only one of secret, secret_env, secret_file")


def test_neither_password_field(tmp_path):
    problem = only_problem(write(tmp_path, edit(22, "")))
    assert_at(problem, 18, 5, "cameras[0].password", "one of password, password_env or password_file is required")


def test_switch_needs_a_password_too(tmp_path):
    problem = only_problem(write(tmp_path, edit(57, "")))
    assert_at(problem, 52, 5, "switches[0].password", "one of password, password_env or password_file is required")


def test_empty_file(tmp_path):
    path = write(tmp_path, "")
    assert_at(only_problem(path), 0, 0, "", "empty")
    assert str(only_problem(path)) == f"{path}:0:0: site file is empty"


def test_comments_only_file_is_empty(tmp_path):
    assert_at(only_problem(write(tmp_path, "# nothing yet\n\n")), 0, 0, "", "empty")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    problem = only_problem(path)
    assert_at(problem, 0, 0, "", "file not found")
    assert problem.file == str(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("site:\n  id: x\n  name: Caf\u00e9\n".encode("latin-1"))
    assert_at(only_problem(path), 3, 12, "", "not valid UTF-8")


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert load_site_file(path).site.id == "t-site"


def test_top_level_must_be_a_mapping(tmp_path):
    assert_at(only_problem(write(tmp_path, "- site\n- controller\n")), 1, 1, "", "top level must be a mapping")


def test_invalid_date_is_located(tmp_path):
    line = "    training: {completed: 2025-13-01, expires: 2026-01-01}"
    problem = only_problem(write(tmp_path, edit(66, line)))
    assert_at(problem, 66, 16, "people[0].training.completed", "invalid date '2025-13-01'")


def test_bad_item_does_not_also_report_list_too_short(tmp_path):
    # One bad point leaves two valid ones; only the bad point is the problem.
    problem = only_problem(write(tmp_path, edit(36, "        screen: [[100, 100], [400, x], [400, 300]]")))
    assert_at(problem, 36, 36, "seats[0].views[0].screen[1][1]", "valid integer")


def test_several_problems_are_reported_together_in_line_order(tmp_path):
    text = edit(47, "    kind: lift", edit(41, "      - camera: nope", edit(19, "    name: 5")))
    problems = problems_of(write(tmp_path, text))
    # Schema problems stop cross-reference checks (they need a valid model).
    assert [(p.line, p.field) for p in problems] == [(19, "cameras[0].name"), (47, "gates[0].kind")]


# One line changed in BASE -> exactly this one problem.
CASES = [
    # (line in BASE, its new text,
    #     problem line, column, field, message fragment)
    (2, "  id: Test_Site",
        2, 3, "site.id", "is not a slug"),
    (4, "  timezone: Mars/Olympus",
        4, 3, "site.timezone", "unknown time zone 'Mars/Olympus'"),
    (6, "  endpoint: http://controller",
        6, 3, "controller.endpoint", "tcp://host:port"),
    (6, "  endpoint: tcp://127.0.0.1:70000",
        6, 3, "controller.endpoint", "tcp://host:port"),
    (16, "    vlans: [{id: 110, name: b, subnet: 10.120.0.0/24}]",
        16, 14, "customers[1].vlans[0].id", "duplicate VLAN id 110"),
    (16, "    vlans: [{id: 4095, name: b, subnet: 10.120.0.0/24}]",
        16, 14, "customers[1].vlans[0].id", "less than or equal to 4094"),
    (16, "    vlans: [{id: 120, name: b, subnet: 10.120.0.0/24, gateway: 10.121.0.1}]",
        16, 55, "customers[1].vlans[0].gateway", "outside subnet"),
    (28, "    password_env: cam_password",
        28, 5, "cameras[1].password_env", "environment variable name"),
    (31, "    customer: acmee",
        31, 5, "seats[0].customer", "unknown customer 'acmee' (known: acme, borealis)"),
    (48, "    area_in: floor4",
        48, 5, "gates[0].area_in", "unknown area 'floor4'"),
    (49, "    area_out: floor3",
        49, 5, "gates[0].area_out", "must differ from area_in"),
    (59, "      - {name: Gi1/0/1, vlan: 130}",
        59, 25, "switches[0].ports[0].vlan", "unknown VLAN 130 (known: 110, 120)"),
    (54, "    vendor: juniper",
        54, 5, "switches[0].vendor", "'cisco_ios', 'huawei' or 'hp_comware'"),
    (63, "    role: manager",
        63, 5, "people[0].role", "'annotator', 'officer', 'visitor' or 'staff'"),
    (64, "    customers: [acme, zeta]",
        64, 23, "people[0].customers[1]", "unknown customer 'zeta'"),
    (65, "    badges: [{number: 10001, facility: 12}]",
        65, 15, "people[0].badges[0].number", 'must be quoted, e.g. "10001"'),
    (65, '    badges: [{number: "10001", facility: 300}]',
        65, 32, "people[0].badges[0].facility", "facility codes go up to 255"),
    (65, '    badges: [{number: "99999"}]',
        65, 15, "people[0].badges[0].number", "card numbers go up to 65535"),
    (65, '    badges: [{number: "1", format: raw, facility: 1}]',
        65, 41, "people[0].badges[0].facility", "no facility code"),
    (65, '    badges: [{number: "10001"}, {number: "010001"}]',
        65, 34, "people[0].badges[1].number", "duplicate badge number 10001"),
    (66, "    training: {completed: 2025-01-01, expires: 2024-01-01}",
        66, 39, "people[0].training.expires", "must be after completed"),
]


@pytest.mark.parametrize(("line", "new", "at_line", "at_column", "field", "message"), CASES, ids=[c[4] for c in CASES])
def test_single_line_mistakes(tmp_path, line, new, at_line, at_column, field, message):
    problem = only_problem(write(tmp_path, edit(line, new)))
    assert_at(problem, at_line, at_column, field, message)


def test_duplicate_ids_are_reported_with_their_knock_on_references(tmp_path):
    problems = problems_of(write(tmp_path, edit(24, "  - id: cam-01")))
    assert_at(problems[0], 24, 5, "cameras[1].id", "duplicate camera id 'cam-01' (already used at cameras[0].id)")
    assert_at(problems[1], 41, 9, "seats[1].views[0].camera", "unknown camera 'cam-02'")
    assert len(problems) == 2

    problems = problems_of(write(tmp_path, edit(14, "  - id: acme")))
    assert_at(problems[0], 14, 5, "customers[1].id", "duplicate customer id 'acme'")
    assert_at(problems[1], 38, 5, "seats[1].customer", "unknown customer 'borealis' (known: acme)")
    assert len(problems) == 2


def test_approval_public_key_must_be_32_bytes(tmp_path):
    key = "    approval_public_key: " + base64.b64encode(b"not-32-bytes").decode()
    problem = only_problem(write(tmp_path, edit(12, "    name: Acme\n" + key)))
    assert_at(problem, 13, 5, "customers[0].approval_public_key", "must decode to 32 bytes, got 12")

    key = "    approval_public_key: " + base64.b64encode(bytes(range(32))).decode()
    config = parse_site_text(edit(12, "    name: Acme\n" + key))
    assert base64.b64decode(config.customers[0].approval_public_key or "") == bytes(range(32))


def test_same_camera_address_twice(tmp_path):
    text = edit(26, "    host: 127.0.0.1", edit(28, "    password_env: CAM_PASSWORD\n    onvif_port: 80"))
    problem = only_problem(write(tmp_path, text))
    assert_at(problem, 29, 5, "cameras[1].onvif_port", "duplicate camera address")


def test_retention_max_below_min(tmp_path):
    text = BASE + "retention:\n  min_months: 6\n  max_months: 3\n"
    assert_at(only_problem(write(tmp_path, text)), 69, 3, "retention.max_months", "below min_months")


def test_anchors_and_merge_keys_are_supported():
    # Edit the later line first so the earlier line number stays valid.
    text = edit(18, "  - &cam\n    id: cam-01", edit(24, "  - <<: *cam\n    id: cam-02"))
    cam2 = "    name: Camera 2\n    host: 127.0.0.2\n    username: admin\n    password_env: CAM_PASSWORD\n"
    text = text.replace(cam2, "    host: 127.0.0.2\n")  # everything else comes from cam-01
    config = parse_site_text(text)
    assert [c.id for c in config.cameras] == ["cam-01", "cam-02"]
    assert (config.cameras[1].password, config.cameras[1].host) == ("pw", "127.0.0.2")

    # A mistake inside merged content is still located where it was written.
    with pytest.raises(SiteFileError) as info:
        parse_site_text(text.replace("[1280, 720]", "[1280, big]"))
    assert [(p.line, p.column, p.field) for p in info.value.problems] == [
        (24, 24, "cameras[0].resolution[1]"),  # the anchor added one line above
        (24, 24, "cameras[1].resolution[1]"),
    ]


# --- robustness: nothing but SiteConfig or SiteFileError ---------------------------

_BASE_LINES = BASE.split("\n")


@st.composite
def mangled_base(draw):
    lines = list(_BASE_LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "dup", "text", "indent", "cut"]))
        if action == "drop":
            lines.pop(i)
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "text":
            lines[i] = draw(st.text(max_size=30))
        elif action == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
        else:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    return "\n".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled_base() | st.text(max_size=200))
def test_any_text_gives_a_config_or_a_located_site_file_error(text):
    try:
        parse_site_text(text, filename="fuzz.yaml")
    except SiteFileError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file == "fuzz.yaml"
            assert 0 <= p.line <= text.count("\n") + 2 and p.column >= 0
            assert p.message


def test_a_gate_lane_must_fit_its_camera_and_needs_one(tmp_path):
    osdp = '    osdp: {address: 1, channel: "tcp://127.0.0.1:9701"}'
    outside = edit(50, osdp + "\n    camera: cam-01\n    lane: [[0, 0], [1300, 0], [10, 700]]")
    problem = only_problem(write(tmp_path, outside))
    assert (problem.line, problem.field) == (52, "gates[0].lane[1]"), str(problem)
    assert "point [1300, 0] is outside cam-01's 1280x720 frame" in problem.message
    no_camera = edit(50, osdp + "\n    lane: [[0, 0], [100, 0], [10, 700]]")
    problem = only_problem(write(tmp_path, no_camera))
    assert problem.field == "gates[0].lane" and "needs the camera" in problem.message
    fine = edit(50, osdp + "\n    camera: cam-01\n    lane: [[0, 0], [100, 0], [10, 700]]")
    assert load_site_file(write(tmp_path, fine)).gates[0].lane == ((0, 0), (100, 0), (10, 700))


def test_demo_workstations_sit_on_their_customers_vlan():
    config = load_site_file(DEMO)
    subnets = {c.id: [v.subnet for v in c.vlans] for c in config.customers}
    assert all(s.workstation is not None and any(s.workstation in n for n in subnets[s.customer]) for s in config.seats)
    assert len({s.workstation for s in config.seats}) == len(config.seats)


def test_workstation_addresses_and_platform_users_are_unique_and_valid():
    text = DEMO.read_text()
    with pytest.raises(SiteFileError) as exc:
        parse_site_text(text.replace("workstation: 10.110.0.12", "workstation: 10.110.0.11"))
    assert "duplicate workstation address '10.110.0.11'" in str(exc.value)
    with pytest.raises(SiteFileError) as exc:
        parse_site_text(text.replace("workstation: 10.110.0.12", "workstation: 10.110.0.300"))
    assert "seats[1].workstation" in str(exc.value)
    with pytest.raises(SiteFileError) as exc:
        parse_site_text(text.replace("    user: wangfang\n", "    user: annotator\n"))
    assert "duplicate platform user 'annotator'" in str(exc.value)
