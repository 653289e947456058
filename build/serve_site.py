"""Serves the built site on 127.0.0.1, by default with the COOP/COEP headers that make pages
cross-origin isolated (so Stop can interrupt Python in place).

    python build/serve_site.py [--port 8000] [--no-isolation] [--root _site] [--prefix /repo/]

--prefix serves the site under a sub-path, as GitHub Pages does for a project site.
"""

import argparse
import functools
import http.server
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".whl": "application/octet-stream", ".json": "application/json", ".woff2": "font/woff2"}


class Handler(http.server.SimpleHTTPRequestHandler):
    isolation = True
    prefix = "/"
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def translate_path(self, path: str) -> str:
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "__missing__")
        return super().translate_path("/" + path[len(self.prefix):])

    def end_headers(self) -> None:
        if self.isolation:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


def make_server(root: Path, port: int = 0, isolation: bool = True, prefix: str = "/"):
    """A threaded server for root on 127.0.0.1 (port 0: any free port)."""
    handler = type("SiteHandler", (Handler,), {"isolation": isolation, "prefix": prefix})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(handler, directory=str(root))
    )
    server.daemon_threads = True
    return server


def serve_in_background(root: Path, **options) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = make_server(root, **options)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    prefix = options.get("prefix", "/")
    return server, f"http://127.0.0.1:{server.server_address[1]}{prefix}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--root", type=Path, default=REPO / "_site")
    parser.add_argument("--prefix", default="/")
    parser.add_argument("--no-isolation", action="store_true")
    args = parser.parse_args()
    server = make_server(args.root, args.port, not args.no_isolation, args.prefix)
    print(f"LM Lab: http://127.0.0.1:{args.port}{args.prefix}  (Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
