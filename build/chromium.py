"""How this project starts Chromium: Debian's own build, headless, with nothing that calls home
(these machines reach only the package registries, and no test may leave 127.0.0.1)."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def launch(playwright, **options):
    """A headless Chromium from a started sync_playwright()."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **options
    )
