"""Issue 10's measurement: an OpenCV app whose system libraries distill finds itself,
against the same app on python3 with the packages users add by hand.

The app depends on ``opencv-python`` (its manylinux wheel leaves libGL and glib
to the system) and decodes, resizes and re-encodes an image. ``distill python``
reads every ELF file of the wheels and adds the Debian packages of the libraries
they link. The by-hand images are the same project built by ``distill build``
with the usual advice in ``packages:`` (the answers to "ImportError: libGL.so.1"):
``libgl1 libglib2.0-0``, and the longer ``+ ffmpeg libsm6 libxext6``. All three
images are run; sizes are the engine's (uncompressed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import engine
import sizes
from common import Context, Section, Table, Target, need_tools, run, size

NAME = "native-libraries"
TITLE = ("Native libraries (issue 10): an OpenCV app by distill python against python3 "
         "with the packages users add by hand")
USUAL = ("libgl1", "libglib2.0-0")
LONGER = (*USUAL, "ffmpeg", "libsm6", "libxext6")
MAIN = """\
import cv2
import numpy

image = numpy.zeros((480, 640, 3), dtype=numpy.uint8)
image[:, :320] = (0, 0, 255)
ok, png = cv2.imencode(".png", image)
small = cv2.resize(cv2.imdecode(png, cv2.IMREAD_COLOR), (64, 48))
print(cv2.__version__, ok, small.shape)
"""


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[project]\nname = "opencv-app"\nversion = "1.0"\n',
                                           encoding="utf-8")
    (folder / "requirements.txt").write_text("opencv-python\n", encoding="utf-8")
    (folder / "main.py").write_text(MAIN, encoding="utf-8")
    return folder


def _by_hand(project: Path, name: str, packages: tuple[str, ...]) -> Path:
    config = project / f"{name}.yaml"
    config.write_text(json.dumps({
        "name": name, "base": "python3", "variant": "nonroot", "packages": list(packages),
        "app": {"type": "python", "path": ".", "script": "main.py"},
    }), encoding="utf-8")
    return config


def _env(ctx: Context) -> dict[str, str]:
    # The wheel is ~95 MB: a warm DISTILL_CACHE (the caller's) is used when there is one;
    # sizes do not depend on it.
    return {"DISTILL_CACHE": os.environ.get("DISTILL_CACHE", str(ctx.work / "cache"))}


def _runs(tag: str) -> str:
    return run(["docker", "run", "--rm", "--network", "none", tag]).strip()


def measure(ctx: Context) -> Section:
    """Build the three images, run each, compare their sizes."""
    need_tools("docker")
    engine.clear_namespace()
    project = _project(ctx.work / "opencv-app")
    tags = {"auto": engine.PREFIX + "opencv:distill", "usual": engine.PREFIX + "opencv:usual",
            "longer": engine.PREFIX + "opencv:longer"}
    ctx.log("distill python (packages found from the wheels' ELF files)")
    report = run([*ctx.distill, "python", str(project), "--script", "main.py",
                  "-o", f"docker-daemon:{tags['auto']}"], env=_env(ctx))
    added = [line for line in report.splitlines() if line.startswith("added ")]
    for key, packages in (("usual", USUAL), ("longer", LONGER)):
        ctx.log(f"distill build with packages: {' '.join(packages)}")
        config = _by_hand(project, f"opencv-{key}", packages)
        run([*ctx.distill, "-q", "build", "-f", str(config), "-o",
             f"docker-daemon:{tags[key]}"], env=_env(ctx))
    outputs = {key: _runs(tag) for key, tag in tags.items()}
    found = {key: sizes.engine_size(tag) for key, tag in tags.items()}
    engine.clear_namespace()
    auto, usual, longer = found["auto"], found["usual"], found["longer"]
    table = Table(
        title="opencv-python on python3, bookworm amd64, nonroot (engine size, uncompressed)",
        headers=("image", "packages added", "size", "vs distill python"),
        rows=(
            ("distill python (found from the ELF files)", f"{len(added)} (see below)",
             size(auto), "1.00x"),
            ("python3 + the usual advice", " ".join(USUAL), size(usual),
             f"{usual / auto:.2f}x"),
            ("python3 + the longer advice", " ".join(LONGER), size(longer),
             f"{longer / auto:.2f}x"),
        ),
        notes=(
            "Every image ran the app (decode, resize) without a network: "
            + json.dumps(outputs),
            "distill python said: " + "; ".join(added),
            "The by-hand images are built by distill build with the advice in packages:, so "
            "they also carry what distill finds; the usual advice adds nothing beyond it, the "
            "longer one adds ffmpeg's libraries and programs, which opencv-python bundles "
            "itself (opencv_python.libs/libavcodec...).",
            "Without the closure (distill before issue 10, or python3 with nothing added) the "
            "app stops at `import cv2` with an ImportError (opencv-python 5.0.0 on distill "
            "before this change: `ImportError: libxcb.so.1`, measured once by hand).",
        ),
    )
    ran = all(output.split()[1:2] == ["True"] for output in outputs.values())
    targets = (
        Target(goal="the OpenCV app runs with no package added by hand",
               measured="yes" if ran else "no", met=ran),
        Target(goal="no larger than python3 + the longer advice",
               measured=f"{longer / auto:.2f}x smaller", met=auto <= longer),
    )
    raw = {"size": found, "added": added, "outputs": outputs}
    return Section(name=NAME, title=TITLE, tables=(table,), targets=targets, raw=raw)
