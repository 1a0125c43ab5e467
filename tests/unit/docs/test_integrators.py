"""docs/integrators.md shows each verification snippet as it is in its folder, so what a
reader copies is what tests/integration/notifier/test_verification_snippets.py ran."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "integrators.md"
SNIPPETS = ROOT / "docs" / "integrators" / "webhook-verification"
SHOWN = [
    "python/receiver.py",
    "python/requirements.txt",
    "node/receiver.js",
    "node/package.json",
    "go/main.go",
    "go/go.mod",
    "java/src/main/java/example/WebhookReceiver.java",
    "java/pom.xml",
    "csharp/Program.cs",
    "csharp/WebhookReceiver.csproj",
    "php/receiver.php",
    "php/composer.json",
]


def _code_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```$", markdown, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("snippet", SHOWN)
def test_the_page_shows_the_snippet_as_it_is(snippet: str) -> None:
    assert (SNIPPETS / snippet).read_text() in _code_blocks(PAGE.read_text()), (
        f"docs/integrators.md shows another {snippet} than the folder holds"
    )


def test_every_language_folder_is_shown() -> None:
    folders = {path.name for path in SNIPPETS.iterdir() if path.is_dir()}
    assert folders == {snippet.split("/")[0] for snippet in SHOWN}


def test_the_readme_links_the_page() -> None:
    assert "(docs/integrators.md)" in (ROOT / "README.md").read_text()


def test_the_python_snippet_pins_the_library_it_is_tested_with() -> None:
    """The integration test runs the Python snippet on this environment's library."""
    pinned = (SNIPPETS / "python" / "requirements.txt").read_text().strip()
    assert pinned == f"standardwebhooks=={version('standardwebhooks')}"
