"""Settings, whichever the deploy path: deploy/env.example documents every one, and secrets stay
out of git and the image."""

import re
import subprocess

from tests.deploy.conftest import DEPLOY, GUNICORN_CONF, ROOT


def test_secrets_stay_out_of_git_and_the_image():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, timeout=30)
    assert ignored.returncode == 0, ".env must be git-ignored"
    kept = subprocess.run(["git", "check-ignore", "-q", "deploy/env.example"], cwd=ROOT,
                          timeout=30)
    assert kept.returncode == 1, "deploy/env.example must be committed"
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".git", ".venv", "instance"):
        assert entry in dockerignore


def env_example():
    """{name: value} for every variable deploy/env.example shows, commented out or not."""
    pairs = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=(.*)$", (DEPLOY / "env.example").read_text(),
                       re.MULTILINE)
    return dict(pairs)


def test_env_example_documents_every_setting_with_safe_placeholders():
    example = env_example()
    read = set(re.findall(r"""(?:environ\.get|env_int|env_bool)\(\s*["']([A-Z0-9_]+)["']""",
                          (ROOT / "board" / "config.py").read_text()))
    read |= set(re.findall(r"""environ\.get\(\s*["']([A-Z0-9_]+)["']""", GUNICORN_CONF.read_text()))
    read |= set(re.findall(r"\$\{(\w+)", (ROOT / "compose.yaml").read_text()))
    read |= {"FLASK_CONFIG"}
    assert read <= set(example), f"undocumented: {sorted(read - set(example))}"
    # Empty, so that an unedited copy refuses to start rather than run with a known secret.
    assert example["SECRET_KEY"] == "" and example["POSTGRES_PASSWORD"] == ""
