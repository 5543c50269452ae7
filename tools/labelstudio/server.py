"""A throwaway Label Studio server on 127.0.0.1 for tests and trials (standard library only).

The server runs from its own venv (tools/labelstudio/install.sh; `LABEL_STUDIO_VENV` moves it), in
a fresh data folder seeded from the migrated template database that install.sh keeps, with one
admin user and a legacy API token. No version check, no analytics, no signup without a link.

    from tools.labelstudio.server import LabelStudioServer, venv_status
    with LabelStudioServer(tmp_path) as ls:
        project = ls.api("POST", "/api/projects", {"title": "topic-stance", "label_config": xml})

    python -m tools.labelstudio.server [DATA_DIR]   # serve until Ctrl-C, print the URL and login
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSION = os.environ.get("LABEL_STUDIO_VERSION", "1.23.2")
USERNAME = "annotator@topic-stance.test"
PASSWORD = "topic-stance-test-only"
TOKEN = "topicstance0000000000000000000000000000"  # legacy token (40 chars, like Label Studio's own)


def venv_dir() -> Path:
    return Path(os.environ.get("LABEL_STUDIO_VENV") or HERE / ".venv")


def venv_status() -> str | None:
    """None when the server venv is ready, else why not."""
    venv = venv_dir()
    if not (venv / "bin" / "label-studio").exists():
        return f"no Label Studio venv at {venv}"
    if not (venv / f".installed-label-studio-{VERSION}").exists():
        return f"{venv} holds no finished install of label-studio {VERSION}"
    return None


def install(timeout: float = 900) -> str | None:
    """Run install.sh; None on success, else the end of its output (e.g. no network)."""
    try:
        done = subprocess.run(["bash", str(HERE / "install.sh")], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "LABEL_STUDIO_VENV": str(venv_dir()), "LABEL_STUDIO_VERSION": VERSION})
    except subprocess.TimeoutExpired:
        return f"install.sh ran past {timeout:.0f} s"
    if done.returncode != 0:
        return (done.stdout + done.stderr).strip()[-800:] or f"install.sh exited {done.returncode}"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabelStudioError(RuntimeError):
    pass


class LabelStudioServer:
    """Start `label-studio start` on 127.0.0.1:<free port>; stop it (and its children) on exit."""

    def __init__(self, data_dir: str | Path, port: int | None = None, start_timeout: float = 180):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self.log_path = self.data_dir / "server.log"

    def __enter__(self) -> "LabelStudioServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def environment(self) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("LABEL_STUDIO_", "DJANGO_")) and key not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env.update(HOME=str(self.data_dir), LABEL_STUDIO_BASE_DATA_DIR=str(self.data_dir / "data"),
                   LABEL_STUDIO_LATEST_VERSION_CHECK="false", LABEL_STUDIO_COLLECT_ANALYTICS="false",
                   LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true", LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
                   LABEL_STUDIO_USERNAME=USERNAME, LABEL_STUDIO_PASSWORD=PASSWORD, LABEL_STUDIO_USER_TOKEN=TOKEN,
                   PYTHONUNBUFFERED="1")
        return env

    def start(self) -> None:
        why = venv_status()
        if why:
            raise LabelStudioError(f"{why}: run tools/labelstudio/install.sh")
        venv = venv_dir()
        data = self.data_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        template = venv / f"template-{VERSION}.sqlite3"
        if template.exists() and not (data / "label_studio.sqlite3").exists():
            shutil.copyfile(template, data / "label_studio.sqlite3")  # migrated: starts in seconds
        command = [str(venv / "bin" / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
                   "--port", str(self.port), "--username", USERNAME, "--password", PASSWORD, "--user-token", TOKEN,
                   "--enable-legacy-api-token", "--log-level", "WARNING"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env=self.environment(), cwd=self.data_dir, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabelStudioError(f"label-studio exited {self.process.returncode} while starting:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/current-user/whoami")
                return
            except (OSError, LabelStudioError):
                time.sleep(0.5)
        self.stop()
        raise LabelStudioError(f"label-studio did not answer within {self.start_timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)  # its own session: this group is the server and its children only
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str, payload=None, params: dict | None = None, timeout: float = 60):
        """Call the API with the legacy token; the parsed JSON answer, or LabelStudioError."""
        url = self.url + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        body = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=body, method=method,
                                         headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            raise LabelStudioError(f"{method} {path}: HTTP {err.code}: {err.read()[:1000].decode(errors='replace')}") from None
        return json.loads(raw) if raw.strip() else None


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    data_dir = Path(argv[0]) if argv else HERE / ".data"

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)  # also when started in the background, where SIGINT is ignored
    signal.signal(signal.SIGTERM, interrupt)  # stop the server too, not only this wrapper
    with LabelStudioServer(data_dir, port=int(os.environ.get("LABEL_STUDIO_PORT", "8080"))) as server:
        print(f"Label Studio at {server.url} (user {USERNAME}, password {PASSWORD}, token {TOKEN}); "
              f"data in {data_dir}; Ctrl-C stops it", flush=True)
        try:
            while server.process and server.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
