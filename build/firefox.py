"""How this project drives Firefox: Debian's firefox-esr, headless, over WebDriver BiDi (the W3C
protocol Firefox speaks itself on --remote-debugging-port; Playwright cannot download its own
Firefox build on these machines, and Debian has no geckodriver). A small synchronous client on
the `websockets` package: enough to open pages, evaluate script and collect console errors.

    with Firefox() as firefox:
        firefox.navigate("file:///tmp/book/index.html")
        firefox.evaluate("document.title")

The profile sets security.fileuri.strict_origin_policy to true, its default: remote automation
tends to turn it off, which lets a file:// page read its neighbours and hides exactly what the
book's folder edition must work without.
"""

import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from websockets.sync.client import connect

FIREFOX = shutil.which("firefox-esr") or "/usr/bin/firefox-esr"

PREFS = {
    # The point of testing from file://: each file is its own origin, as for a reader.
    "security.fileuri.strict_origin_policy": True,
    # Nothing that calls home (these machines reach only the package registries).
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "extensions.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
}

LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")


class BidiError(RuntimeError):
    pass


class Firefox:
    """One headless Firefox with a fresh profile, one tab. Errors the pages log (console errors,
    uncaught exceptions) collect in .errors."""

    def __init__(self, timeout: float = 60) -> None:
        self.timeout = timeout
        self.errors: list[str] = []
        self.profile = Path(tempfile.mkdtemp(prefix="lmlab-firefox-"))
        (self.profile / "user.js").write_text(
            "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in PREFS.items())
        )
        self.process = subprocess.Popen(
            [FIREFOX, "--headless", "--no-remote", "--profile", str(self.profile),
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.socket = connect(f"{self._endpoint()}/session", max_size=None, open_timeout=30,
                              legacy=True)  # a connection for the browser's life, not a block
        self.next_id = 0
        self.lock = threading.Lock()
        self.version = self._command("session.new", {"capabilities": {}})["capabilities"][
            "browserVersion"]
        self._command("session.subscribe", {"events": ["log.entryAdded"]})
        tree = self._command("browsingContext.getTree", {})
        self.context = tree["contexts"][0]["context"]

    def _endpoint(self) -> str:
        """The WebDriver BiDi address Firefox prints on stderr once it listens."""
        found: list[str] = []

        def read() -> None:
            for line in self.process.stderr:
                match = LISTENING.search(line)
                if match and not found:
                    found.append(match.group(1))
            # keep draining stderr so Firefox never blocks on a full pipe

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while not found:
            if self.process.poll() is not None:
                raise BidiError(f"firefox-esr exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise BidiError("firefox-esr did not start WebDriver BiDi")
            time.sleep(0.05)
        return found[0]

    def _command(self, method: str, params: dict) -> dict:
        with self.lock:
            self.next_id += 1
            ident = self.next_id
            self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
            while True:
                message = json.loads(self.socket.recv(timeout=self.timeout * 3))
                if message.get("type") == "event" or "method" in message:
                    self._event(message)
                elif message.get("id") == ident:
                    if message.get("type") == "error":
                        raise BidiError(f"{method}: {message['error']}: {message.get('message')}")
                    return message["result"]

    def _event(self, message: dict) -> None:
        if message.get("method") == "log.entryAdded" and message["params"]["level"] == "error":
            self.errors.append(message["params"].get("text") or json.dumps(message["params"]))

    def navigate(self, url: str) -> None:
        self._command("browsingContext.navigate",
                      {"context": self.context, "url": url, "wait": "complete"})

    def reload(self) -> None:
        self._command("browsingContext.reload", {"context": self.context, "wait": "complete"})

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (awaited if a promise), through JSON."""
        result = self._command("script.evaluate", {
            "expression": f"(async () => JSON.stringify(await ({expression})))()",
            "target": {"context": self.context}, "awaitPromise": True,
        })
        if result["type"] == "exception":
            details = result["exceptionDetails"]
            raise BidiError(f"{details.get('text')}\n{expression}")
        value = result["result"].get("value")
        return None if value is None else json.loads(value)

    def wait_for(self, expression: str, timeout: float = 90) -> object:
        """Polls the expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"not true within {timeout} s: {expression}")
            time.sleep(0.1)

    def press(self, *keys: str) -> None:
        """Keystrokes into the focused element, as a reader's keyboard sends them."""
        actions = [{"type": kind, "value": key} for key in keys for kind in ("keyDown", "keyUp")]
        self._command("input.performActions", {
            "context": self.context,
            "actions": [{"type": "key", "id": "keyboard", "actions": actions}],
        })

    def close(self) -> None:
        """Closes Firefox as a reader's quit would (it writes its storage to disk first)."""
        try:
            self._command("browser.close", {})
            self.process.wait(timeout=30)
        except Exception:  # noqa: BLE001 - gone already, or stuck: make sure it ends
            self.process.kill()
            self.process.wait()
        self.socket.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Firefox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
