"""The site config as people see it: every credential the schema holds is masked."""
from __future__ import annotations

import json

from pydantic import BaseModel

from edge_agent.wire.redact import MASK, SECRET_NAME, redact, redact_site_config, secret_marker
from edge_agent.wire.site import SiteConfig, _unwrap_model, load_site_file
from tests.conftest import DEMO_SITE

# Fields whose names look like a credential but are not one.
NOT_SECRET = {("Customer", "approval_public_key")}


def schema_models(model: type[BaseModel] = SiteConfig, seen: set | None = None) -> list[type[BaseModel]]:
    seen = set() if seen is None else seen
    if model in seen:
        return []
    seen.add(model)
    found = [model]
    for field in model.model_fields.values():
        inner = _unwrap_model(field.annotation)
        if inner is not None:
            found += schema_models(inner, seen)
    return found


def test_every_field_named_like_a_credential_is_marked_secret():
    models = schema_models()
    assert {"Camera", "Switch", "Badge", "OsdpLink"} <= {m.__name__ for m in models}  # the walk reaches them
    unmarked = [f"{m.__name__}.{name}" for m in models for name in m.model_fields
                if SECRET_NAME.search(name) and not name.endswith(("_env", "_file"))
                and (m.__name__, name) not in NOT_SECRET and secret_marker(m, name) is None]
    assert unmarked == []


def full_config_doc() -> dict:
    """The demo site with a value in every secret field the schema marks."""
    doc = load_site_file(DEMO_SITE).model_dump(mode="json")
    doc["cameras"][0].update(password="cam-pw-inline-1", password_env=None, password_file=None)
    doc["cameras"][1].update(password=None, password_env="CAM_PW", password_file=None)
    doc["cameras"][2].update(password=None, password_env=None, password_file="secrets/cam-03")
    doc["switches"][0].update(password="sw-pw-inline-1", password_env=None, password_file=None,
                              secret="enable-inline-1")
    doc["people"][0]["badges"] = [{"format": "raw", "number": "4815162342"}]
    return SiteConfig.model_validate(doc).model_dump(mode="json")  # still a valid config


def secret_values(model: type[BaseModel], doc) -> list[str]:
    """Every value held in a Secret field of ``doc``, found by walking the schema."""
    if isinstance(doc, list):
        return [v for item in doc for v in secret_values(model, item)]
    out = []
    for name, value in doc.items():
        if secret_marker(model, name) is not None and value is not None:
            out.append(value)
        inner = _unwrap_model(model.model_fields[name].annotation)
        if inner is not None and value is not None:
            out += secret_values(inner, value)
    return out


def test_no_secret_value_survives_redaction():
    doc = full_config_doc()
    values = secret_values(SiteConfig, doc)
    assert {"cam-pw-inline-1", "sw-pw-inline-1", "enable-inline-1", "4815162342"} <= set(values)
    text = json.dumps(redact_site_config(doc))
    assert [v for v in values if v in text] == []


def test_sources_stay_visible_and_the_shape_is_kept():
    doc = full_config_doc()
    out = redact_site_config(doc)
    cams, sw = out["cameras"], out["switches"][0]
    assert (cams[0]["password"], cams[1]["password"], cams[1]["password_env"]) == (MASK, None, "CAM_PW")
    assert cams[2]["password_file"] == "secrets/cam-03"
    assert (sw["password"], sw["secret"], sw["secret_env"]) == (MASK, MASK, None)
    assert out["people"][0]["badges"][0]["number"] == MASK + "42"  # enough to tell cards apart
    assert out["seats"] == doc["seats"] and out["site"] == doc["site"]
    assert doc["cameras"][0]["password"] == "cam-pw-inline-1"  # the input is not changed


def test_badge_numbers_can_be_shown_and_short_ones_are_masked_whole():
    doc = full_config_doc()
    assert redact_site_config(doc, show_badge_numbers=True)["people"][0]["badges"][0]["number"] == "4815162342"
    assert redact_site_config(doc, show_badge_numbers=True)["cameras"][0]["password"] == MASK
    doc["people"][0]["badges"][0]["number"] = "0042"
    assert redact_site_config(doc)["people"][0]["badges"][0]["number"] == MASK


def test_keys_the_schema_does_not_know_are_masked_by_their_name():
    doc = {"cameras": [{"id": "c", "admin_password": "x1", "rtsp": {"token": "x2", "port": 554}}],
           "legacy": {"api_secret": "x3", "secret_env": "VAR"}}
    out = redact(SiteConfig, doc)
    assert out == {"cameras": [{"id": "c", "admin_password": MASK, "rtsp": {"token": MASK, "port": 554}}],
                   "legacy": {"api_secret": MASK, "secret_env": "VAR"}}
