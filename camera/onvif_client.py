"""Asking an ONVIF camera what it streams: onvif-zeep's client flow, errors made plain.

Flow (as most NVRs do it): clock first without auth (WS-UsernameToken digests depend on it),
capabilities to learn the service addresses, media profiles, then a stream URI per profile and
the snapshot URI. The highest-resolution profile is recorded, the lowest analysed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


class CameraError(Exception):
    """Why a camera cannot be used; `kind` is one of unreachable, unauthorized, malformed, unsupported."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class StreamProfile:
    token: str
    name: str
    width: int
    height: int
    fps: float
    encoding: str
    uri: str  # without credentials


@dataclass(frozen=True)
class CameraEndpoints:
    manufacturer: str
    model: str
    firmware: str
    serial: str
    clock_offset_s: float
    main: StreamProfile
    sub: StreamProfile
    snapshot_uri: str | None


def wsdl_dir() -> str:
    import onvif

    # onvif-zeep installs its WSDLs beside the package, under site-packages/wsdl
    return str(Path(onvif.__file__).resolve().parent.parent / "wsdl")


def with_credentials(uri: str, username: str, password: str) -> str:
    """The URI with user:password inserted, as ffmpeg and OpenCV take them."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _classify(exc: BaseException) -> CameraError:
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    if any(w in low for w in ("notauthorized", "not authorized", "unauthorized", "401",
                              "authentication", "username or password", "password is not valid")):
        return CameraError("unauthorized", f"camera refused the credentials ({text[:200]})")
    if any(w in low for w in ("connection", "timed out", "timeout", "refused", "unreachable",
                              "max retries", "reset by peer")):
        return CameraError("unreachable", f"camera unreachable ({text[:200]})")
    if any(w in low for w in ("xml", "parse", "syntax", "unexpected", "envelope")):
        return CameraError("malformed", f"camera sent a malformed answer ({text[:200]})")
    if "actionnotsupported" in low or "not supported" in low:
        return CameraError("unsupported", f"camera lacks an ONVIF operation ({text[:200]})")
    return CameraError("malformed", f"camera answered unexpectedly ({text[:200]})")


def _profile(media, p) -> StreamProfile:
    enc = getattr(p, "VideoEncoderConfiguration", None)
    width = height = 0
    fps = 0.0
    encoding = ""
    if enc is not None:
        encoding = str(getattr(enc, "Encoding", "") or "")
        res = getattr(enc, "Resolution", None)
        if res is not None:
            width, height = int(res.Width), int(res.Height)
        rate = getattr(enc, "RateControl", None)
        if rate is not None and getattr(rate, "FrameRateLimit", None):
            fps = float(rate.FrameRateLimit)
    uri = media.GetStreamUri({"StreamSetup": STREAM_SETUP, "ProfileToken": p.token}).Uri
    return StreamProfile(str(p.token), str(getattr(p, "Name", p.token)), width, height, fps,
                         encoding, str(uri))


def probe_camera(host: str, port: int, username: str, password: str,
                 timeout: float = 5.0) -> CameraEndpoints:
    """Connect, authenticate and read the camera's streams; raises CameraError."""
    from onvif import ONVIFCamera
    from zeep.transports import Transport

    try:
        cam = ONVIFCamera(host, port, username, password, wsdl_dir(),
                          transport=Transport(timeout=timeout, operation_timeout=timeout))
        clock = cam.devicemgmt.GetSystemDateAndTime()
        info = cam.devicemgmt.GetDeviceInformation()
        media = cam.create_media_service()
        profiles = [_profile(media, p) for p in media.GetProfiles()]
        if not profiles:
            raise CameraError("unsupported", "camera has no media profile")
        h264 = [p for p in profiles if p.encoding.upper() in ("H264", "")] or profiles
        by_size = sorted(h264, key=lambda p: p.width * p.height)
        main, sub = by_size[-1], by_size[0]
        try:
            snapshot = str(media.GetSnapshotUri({"ProfileToken": main.token}).Uri)
        except Exception:  # snapshots are optional in ONVIF Profile S
            snapshot = None
    except CameraError:
        raise
    except Exception as exc:
        raise _classify(exc) from None
    return CameraEndpoints(
        manufacturer=str(info.Manufacturer), model=str(info.Model),
        firmware=str(info.FirmwareVersion), serial=str(info.SerialNumber),
        clock_offset_s=_clock_offset(clock), main=main, sub=sub, snapshot_uri=snapshot,
    )


def _clock_offset(clock) -> float:
    """Camera clock minus ours, in seconds (0 when the camera does not say)."""
    try:
        u = clock.UTCDateTime
        cam = dt.datetime(u.Date.Year, u.Date.Month, u.Date.Day, u.Time.Hour, u.Time.Minute,
                          u.Time.Second, tzinfo=dt.timezone.utc)
    except (AttributeError, TypeError, ValueError):
        return 0.0
    return (cam - dt.datetime.now(dt.timezone.utc)).total_seconds()
