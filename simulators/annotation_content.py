"""Customer content for the demo site's annotation projects, made on the spot instead of shipped:
short sentences in Simplified Chinese and English, speech read from such sentences by espeak-ng,
and street scenes of simple objects drawn with Pillow.

The generators are pure and seeded (one seed, one result): ``sentences`` and ``scenes`` return
values, ``render_scene`` returns PNG bytes. Writing files and running espeak-ng are the only I/O,
in the ``write_*`` functions and ``espeak_problem``."""
from __future__ import annotations

import io
import json
import random
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# --- sentences --------------------------------------------------------------------------------

MOODS = ("positive", "negative", "question")
ENTITY_LABELS = ("PERSON", "ORG", "PRODUCT", "PLACE")
_SLOT_LABEL = {"person": "PERSON", "org": "ORG", "product": "PRODUCT", "place": "PLACE"}

_EN = {
    "person": ("Alice Chen", "Bob Smith", "Carol Jones", "David Li", "Emma Brown", "Frank Miller", "Grace Wang",
               "Henry Zhou"),
    "org": ("Northwind", "Contoso", "Globex", "Initech", "Umbrella Logistics", "Blue Harbor"),
    "product": ("camera", "robot arm", "drone", "scanner", "battery pack", "sensor"),
    "place": ("Shanghai", "Beijing", "Shenzhen", "Berlin", "London", "Toronto"),
}
_ZH = {
    "person": ("王芳", "李雷", "张伟", "刘洋", "陈静", "赵敏", "孙丽", "周娜"),
    "org": ("星河科技", "蓝海电子", "远航机器人", "华东物流", "北辰制造", "青松仪器"),
    "product": ("相机", "机械臂", "无人机", "扫描仪", "电池组", "传感器"),
    "place": ("上海", "北京", "深圳", "杭州", "成都", "武汉"),
}
_TEMPLATES = {
    "en": {
        "positive": ("{person} says the {product} from {org} works well in {place}.",
                     "The {product} {org} sent to {place} impressed {person}."),
        "negative": ("{person} reports that the {product} from {org} broke down in {place}.",
                     "The {product} {org} delivered to {place} arrived damaged, says {person}."),
        "question": ("{person} asks whether {org} can ship the {product} to {place} by Friday.",
                     "Can {org} repair the {product} {person} bought in {place}?"),
    },
    "zh": {
        "positive": ("{person}说{org}的{product}在{place}用得很好。", "{org}送到{place}的{product}让{person}很满意。"),
        "negative": ("{person}反映{org}的{product}在{place}坏了。", "{person}说{org}发到{place}的{product}到货时已经损坏。"),
        "question": ("{person}询问{org}能否在周五前把{product}送到{place}。", "{org}能修好{person}在{place}买的{product}吗？"),
    },
}
_SLOT = re.compile(r"\{(person|org|product|place)\}")


@dataclass(frozen=True)
class Entity:
    start: int  # in characters (code points) of the text
    end: int
    label: str


@dataclass(frozen=True)
class Sentence:
    id: str
    lang: str  # "zh" or "en"
    text: str
    mood: str
    entities: tuple[Entity, ...]


def _fill(template: str, words: dict[str, str]) -> tuple[str, tuple[Entity, ...]]:
    out, entities, at = [], [], 0
    for m in _SLOT.finditer(template):
        out.append(template[at:m.start()])
        start = sum(map(len, out))
        word = words[m.group(1)]
        out.append(word)
        entities.append(Entity(start, start + len(word), _SLOT_LABEL[m.group(1)]))
        at = m.end()
    out.append(template[at:])
    text = "".join(out)
    return text[0].upper() + text[1:], tuple(entities)


def sentences(count: int, seed: int, prefix: str = "s") -> list[Sentence]:
    """``count`` distinct short sentences, Chinese and English alternating, each with its mood
    and its named entities (people, organisations, products, places)."""
    rng = random.Random(seed)
    out: list[Sentence] = []
    seen: set[str] = set()
    while len(out) < count:
        lang = ("zh", "en")[len(out) % 2]
        pools = _ZH if lang == "zh" else _EN
        mood = rng.choice(MOODS)
        template = rng.choice(_TEMPLATES[lang][mood])
        text, entities = _fill(template, {k: rng.choice(v) for k, v in pools.items()})
        if text in seen:
            continue
        seen.add(text)
        out.append(Sentence(f"{prefix}{len(out) + 1:04d}", lang, text, mood, entities))
    return out


# --- scenes -----------------------------------------------------------------------------------

OBJECT_LABELS = ("car", "person", "tree", "house")
_SIZE = {"car": (90, 40), "person": (24, 64), "tree": (50, 90), "house": (100, 90)}  # width, height at scale 1


@dataclass(frozen=True)
class Shape:
    label: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1 and y1 exclusive
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    id: str
    width: int
    height: int
    sky: tuple[int, int, int]
    ground: tuple[int, int, int]
    horizon: int
    shapes: tuple[Shape, ...]


def scenes(count: int, seed: int, width: int = 480, height: int = 320, prefix: str = "scene") -> list[Scene]:
    """``count`` street scenes: sky, ground and two to six objects standing on the ground, not
    overlapping, each with its true box."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        horizon = rng.randrange(height // 3, height // 2)
        shapes: list[Shape] = []
        for _ in range(rng.randint(2, 6) * 3):  # a few tries for each object
            if len(shapes) >= 6:
                break
            label = rng.choice(OBJECT_LABELS)
            w0, h0 = _SIZE[label]
            scale = rng.uniform(0.7, 1.4)
            w, h = max(8, int(w0 * scale)), max(8, int(h0 * scale))
            foot = rng.randrange(horizon + h // 4, height - 2)
            top = foot - h
            if top < 0:
                continue
            x0 = rng.randrange(0, width - w)
            box = (x0, top, x0 + w, foot)
            if any(box[0] < s.box[2] and s.box[0] < box[2] and box[1] < s.box[3] and s.box[1] < box[3]
                   for s in shapes):
                continue
            shapes.append(Shape(label, box, (rng.randrange(30, 230), rng.randrange(30, 230), rng.randrange(30, 230))))
        sky = (rng.randrange(120, 200), rng.randrange(170, 220), rng.randrange(220, 256))
        ground = (rng.randrange(80, 140), rng.randrange(120, 170), rng.randrange(60, 110))
        out.append(Scene(f"{prefix}-{n + 1:04d}", width, height, sky, ground, horizon,
                         tuple(sorted(shapes, key=lambda s: s.box[3]))))
    return out


def render_scene(scene: Scene) -> bytes:
    """The scene as PNG bytes; every object is drawn inside its box (far ones first)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (scene.width, scene.height), scene.sky)
    d = ImageDraw.Draw(img)
    d.rectangle((0, scene.horizon, scene.width, scene.height), fill=scene.ground)
    for s in scene.shapes:
        x0, y0, x1, y1 = s.box
        x1, y1 = x1 - 1, y1 - 1
        w, h = x1 - x0, y1 - y0
        if s.label == "car":
            r = max(3, h // 4)
            d.rectangle((x0, y0 + h // 3, x1, y1 - r), fill=s.colour)
            d.rectangle((x0 + w // 5, y0, x1 - w // 5, y0 + h // 3), fill=s.colour)
            d.rectangle((x0 + w // 4, y0 + 2, x1 - w // 4, y0 + h // 3 - 1), fill=(200, 230, 250))
            for cx in (x0 + w // 4, x1 - w // 4):
                d.ellipse((cx - r, y1 - 2 * r, cx + r, y1), fill=(30, 30, 30))
        elif s.label == "person":
            head = max(3, w // 2)
            cx = x0 + w // 2
            d.ellipse((cx - head // 2 - 1, y0, cx + head // 2 + 1, y0 + head), fill=(235, 200, 170))
            d.rectangle((x0, y0 + head, x1, y0 + h * 3 // 5), fill=s.colour)
            d.rectangle((x0 + 1, y0 + h * 3 // 5, x1 - 1, y1), fill=(40, 40, 90))
        elif s.label == "tree":
            d.rectangle((x0 + w * 2 // 5, y0 + h * 3 // 5, x1 - w * 2 // 5, y1), fill=(110, 70, 40))
            d.ellipse((x0, y0, x1, y0 + h * 2 // 3), fill=(30, 110 + s.colour[1] // 4, 40))
        else:  # house
            d.polygon([(x0, y0 + h * 2 // 5), (x0 + w // 2, y0), (x1, y0 + h * 2 // 5)], fill=(150, 50, 40))
            d.rectangle((x0 + w // 10, y0 + h * 2 // 5, x1 - w // 10, y1), fill=s.colour)
            d.rectangle((x0 + w * 2 // 5, y0 + h * 3 // 5, x1 - w * 2 // 5, y1), fill=(90, 60, 30))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


# --- writing files and speaking -----------------------------------------------------------------

ESPEAK = "espeak-ng"
VOICES = {"zh": "cmn", "en": "en"}


def write_sentences_jsonl(items: Sequence[Sentence], path: Path) -> Path:
    """One JSON object per line, ``{"id", "text"}``: the shape the platform's import reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for s in items:
            f.write(json.dumps({"id": s.id, "text": s.text}, ensure_ascii=False) + "\n")
    return path


def write_scenes(items: Sequence[Scene], folder: Path, workers: int = 2) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)

    def one(scene: Scene) -> Path:
        path = folder / f"{scene.id}.png"
        path.write_bytes(render_scene(scene))
        return path

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, items))


def espeak_problem(espeak: str = ESPEAK, timeout_s: float = 20.0) -> str | None:
    """Why espeak-ng cannot speak the demo's two languages here, or None when it can."""
    exe = shutil.which(espeak)
    if exe is None:
        return f"{espeak} is not installed (Debian package espeak-ng; scripts/setup.sh installs it)"
    for lang, voice in VOICES.items():
        try:
            run = subprocess.run([exe, "-v", voice, "--stdout", "ok"], capture_output=True, timeout=timeout_s,
                                 check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{exe} did not run: {exc}"
        if run.returncode != 0 or not run.stdout.startswith(b"RIFF"):
            why = run.stderr.decode(errors="replace").strip()[:200] or f"exit status {run.returncode}"
            return f"{exe} cannot speak {lang} with voice {voice}: {why}"
    return None


def write_speech(items: Sequence[Sentence], folder: Path, espeak: str = ESPEAK, workers: int = 4,
                 on_done: Callable[[int], None] | None = None) -> list[Path]:
    """Each sentence read by espeak-ng (Mandarin voice ``cmn`` for Chinese) into ``<id>.wav``;
    raises RuntimeError naming the sentence if espeak-ng fails on one."""
    folder.mkdir(parents=True, exist_ok=True)
    done, lock = 0, threading.Lock()

    def one(s: Sentence) -> Path:
        nonlocal done
        path = folder / f"{s.id}-{s.lang}.wav"
        run = subprocess.run([espeak, "-v", VOICES[s.lang], "-s", "150", "-w", str(path), s.text],
                             capture_output=True, timeout=60, check=False)
        if run.returncode != 0 or not path.is_file() or path.stat().st_size <= 44:
            raise RuntimeError(f"{espeak} failed on {s.id}: {run.stderr.decode(errors='replace').strip()[:200]}")
        with lock:
            done += 1
            if on_done:
                on_done(done)
        return path

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, items))


# --- the demo site's projects -------------------------------------------------------------------

TEXTS, SPEECHES, IMAGES = 300, 60, 200  # items per customer and modality


def demo_projects(customers: Sequence[str], speech: bool = True, texts: int = TEXTS, speeches: int = SPEECHES,
                  images: int = IMAGES) -> list[dict]:
    """Per customer: a text project (sentences whose mood is classified, or, every second
    customer, whose entities are marked), a speech project to transcribe (unless ``speech`` is
    false) and an image project of scenes whose objects are boxed."""
    out = []
    for n, customer in enumerate(customers):
        schema = ({"kind": "spans", "labels": list(ENTITY_LABELS)} if n % 2 else
                  {"kind": "classification", "labels": list(MOODS)})
        out.append({"customer": customer, "slug": "texts", "modality": "text", "label_schema": schema,
                    "name": "Customer messages: " + ("entities" if n % 2 else "mood"), "count": texts})
        if speech:
            out.append({"customer": customer, "slug": "speech", "modality": "audio", "count": speeches,
                        "name": "Spoken messages: transcripts",
                        "label_schema": {"kind": "transcript", "labels": ["narrator"]}})
        out.append({"customer": customer, "slug": "scenes", "modality": "image", "count": images,
                    "name": "Street scenes: objects",
                    "label_schema": {"kind": "boxes", "labels": list(OBJECT_LABELS)}})
    return out


def content_seed(customer: str, slug: str) -> int:
    """A seed of its own for each project, the same on every machine."""
    return sum((i + 1) * b for i, b in enumerate(f"{customer}/{slug}".encode()))


def write_project(customer: str, slug: str, modality: str, count: int, folder: Path, espeak: str = ESPEAK,
                  note: Callable[[str], None] | None = None) -> Path:
    """Write a project's content under ``folder``; returns what to import (a file or the folder)."""
    seed = content_seed(customer, slug)
    if modality == "text":
        return write_sentences_jsonl(sentences(count, seed, prefix=f"{customer}-"), folder / "messages.jsonl")
    if modality == "audio":
        write_speech(sentences(count, seed, prefix=f"{customer}-"), folder, espeak=espeak,
                     on_done=(lambda n: note(f"{n}") if note and n % 20 == 0 else None))
        return folder
    if modality == "image":
        write_scenes(scenes(count, seed, prefix=f"{customer}-scene"), folder)
        return folder
    raise ValueError(f"no demo content for modality {modality!r}")
