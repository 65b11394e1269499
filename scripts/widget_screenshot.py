"""Take the README's widget screenshot from a running demo (``make demo``).

    .venv/bin/python scripts/widget_screenshot.py [--shop http://127.0.0.1:8000]
        [--product red-t-shirt] [--photo var/demo/person.jpg]
        [--out docs/images/widget-result.png]

A shopper's real run: open the product page, tick the consent box, choose the photo,
wait for the result, then save a screenshot of the page with the result shown. Uses the
system Chromium (TRYON_CHROMIUM, else ``chromium`` on PATH) through Playwright; nothing is
downloaded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shop", default="http://127.0.0.1:8000")
    parser.add_argument("--product", default="red-t-shirt")
    parser.add_argument("--photo", default=str(ROOT / "var" / "demo" / "person.jpg"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "widget-result.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=860)
    args = parser.parse_args(argv)

    chromium = os.environ.get("TRYON_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        print("no Chromium: set TRYON_CHROMIUM or install chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(f"{args.shop.rstrip('/')}/products/{args.product}/")
        page.click("tryon-widget [data-tryon-part=open]")
        page.check("tryon-widget [data-tryon-part=consent]")
        with page.expect_file_chooser() as chooser:
            page.click("tryon-widget [data-tryon-part=choose]")
        chooser.value.set_files(args.photo)
        page.wait_for_selector("tryon-widget [data-tryon-step=result]", timeout=120_000)
        page.wait_for_function(
            "document.querySelector('tryon-widget [data-tryon-part=after]').naturalWidth > 0"
        )
        # Show the slider a little past the middle: more of the result than of the photo.
        page.eval_on_selector(
            "tryon-widget [data-tryon-part=slider]",
            "el => { el.value = 42; el.dispatchEvent(new Event('input')); }",
        )
        page.mouse.move(0, 0)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out)
        browser.close()
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
