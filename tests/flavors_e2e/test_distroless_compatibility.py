"""Programs written for Google's distroless images run unchanged (amd64, in Docker):
Java sees UTF-8 and draws text, Python has distutils and /usr/bin/python, and node
answers at /nodejs/bin/node."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

DockerCLI = Callable[..., subprocess.CompletedProcess[str]]
LoadImage = Callable[..., str]
BuildImage = Callable[..., object]

pytestmark = [pytest.mark.docker, pytest.mark.mirror]

RELEASES = ("bookworm", "trixie")
JAVA_RELEASE = "17"
"""The class-file level of the test programs: the host's javac and both images run it."""

DRAW_TEXT = r"""
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
public class Main {
    public static void main(String[] args) {
        BufferedImage image = new BufferedImage(200, 40, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 24));
        g.drawString("distill", 5, 30);
        g.dispose();
        int lit = 0;
        for (int y = 0; y < image.getHeight(); y++)
            for (int x = 0; x < image.getWidth(); x++)
                if ((image.getRGB(x, y) & 0xffffff) != 0) lit++;
        int families = GraphicsEnvironment.getLocalGraphicsEnvironment()
            .getAvailableFontFamilyNames().length;
        System.out.println("lit=" + lit + " families=" + families);
    }
}
"""


def _run(docker_cli: DockerCLI, image: str, entrypoint: str, *args: str,
         mounts: tuple[Path, ...] = ()) -> subprocess.CompletedProcess[str]:
    command = ["run", "--rm", "--network=none", "--entrypoint", entrypoint]
    for path in mounts:
        command += ["-v", f"{path}:{path}:ro"]
    return docker_cli(*command, image, *args)


def _properties(text: str) -> dict[str, str]:
    """``name = value`` lines of ``java -XshowSettings:properties``."""
    found = re.findall(r"^\s+([\w.]+) = (.*)$", text, flags=re.MULTILINE)
    return {name: value.strip() for name, value in found}


def _jar(source: str, folder: Path, require_tool: Callable[[str], Path]) -> Path:
    javac, jar = require_tool("javac"), require_tool("jar")
    (folder / "Main.java").write_text(source, encoding="utf-8")
    subprocess.run([str(javac), "--release", JAVA_RELEASE, "-d", str(folder / "classes"),
                    str(folder / "Main.java")], check=True, capture_output=True)
    output = folder / "app.jar"
    subprocess.run([str(jar), "--create", "--file", str(output), "--main-class", "Main",
                    "-C", str(folder / "classes"), "."], check=True, capture_output=True)
    return output


@pytest.mark.parametrize("release", RELEASES)
def test_java_sees_utf8_for_file_names_and_contents(
    flavor_image: LoadImage, docker_cli: DockerCLI, release: str
) -> None:
    image = flavor_image("java", "nonroot", release=release)
    result = _run(docker_cli, image, "/usr/bin/java", "-XshowSettings:properties", "-version")
    properties = _properties(result.stderr)
    assert properties["sun.jnu.encoding"] == "UTF-8"
    assert properties["file.encoding"] == "UTF-8"
    assert properties["native.encoding"] == "UTF-8"


@pytest.mark.parametrize("release", RELEASES)
def test_java_version_is_the_jre_version(
    build_flavor: BuildImage, flavor_image: LoadImage, docker_cli: DockerCLI, release: str
) -> None:
    config = json.loads(build_flavor("java", "nonroot", release=release)
                        .images[0].config_bytes)  # type: ignore[attr-defined]
    env = dict(item.partition("=")[::2] for item in config["config"]["Env"])
    result = _run(docker_cli, flavor_image("java", "nonroot", release=release),
                  "/usr/bin/java", "-XshowSettings:properties", "-version")
    assert env["JAVA_VERSION"] == _properties(result.stderr)["java.version"]


@pytest.mark.parametrize("release", RELEASES)
def test_java_draws_text(
    flavor_image: LoadImage, docker_cli: DockerCLI, tmp_path: Path,
    require_tool: Callable[[str], Path], release: str,
) -> None:
    jar = _jar(DRAW_TEXT, tmp_path, require_tool)
    out = _run(docker_cli, flavor_image("java", "nonroot", release=release), "/usr/bin/java",
               "-jar", str(jar), mounts=(jar,)).stdout
    lit, families = (int(part.partition("=")[2]) for part in out.split())
    assert lit > 100 and families >= 3  # the logical families, at least


def test_bookworm_python_has_all_of_distutils(
    flavor_image: LoadImage, docker_cli: DockerCLI
) -> None:
    script = ("import distutils.dist, distutils.sysconfig, distutils.command.build_ext; "
              "print(distutils.sysconfig.get_python_inc())")
    out = _run(docker_cli, flavor_image("python3", "nonroot"), "/usr/bin/python3", "-c",
               script).stdout
    assert out.strip() == "/usr/include/python3.11"


@pytest.mark.parametrize("release", RELEASES)
def test_python_answers_at_usr_bin_python(
    flavor_image: LoadImage, docker_cli: DockerCLI, release: str
) -> None:
    out = _run(docker_cli, flavor_image("python3", "nonroot", release=release),
               "/usr/bin/python", "-c", "import sys; print(sys.version_info[0])").stdout
    assert out.strip() == "3"


@pytest.mark.parametrize("release", RELEASES)
def test_node_answers_at_the_distroless_path(
    flavor_image: LoadImage, docker_cli: DockerCLI, release: str
) -> None:
    out = _run(docker_cli, flavor_image("nodejs", "nonroot", release=release),
               "/nodejs/bin/node", "-e", "console.log(process.execPath, 6 * 7)").stdout
    assert out.strip() == "/usr/bin/node 42"
