"""The app at projector sizes in a real browser (headless chromium, Playwright): every page at 1024×768 and
1280×720 without an error, nothing pushed past the page's width, method formulas inside their cards, no chart texts
on top of each other, whole-page screenshots (a 2000-pixel-tall window: Streamlit's main area scrolls) besides the
real-size ones in $KDW_SCREENSHOT_DIR (a temporary folder by default); and a default run's charts gaining points
while it trains, at 1024×768."""

import os
import time
from pathlib import Path

import pytest
from test_browser import CHROMIUM, LIVE_POINTS, app_url, browser, open_app, settle  # noqa: F401 (fixtures)

SIZES = [(1024, 768), (1280, 720)]
PAGES = {  # url path: (title, an element the page's own script draws)
    "method": ("Method", "[data-testid=stCheckbox]"),  # first: a deep link on a fresh server
    "": ("Teacher", "[data-testid=stDataFrame]"),
    "hyperparameters": ("Hyperparameters", "[data-testid=stMetric]"),
    "train": ("Train", "button:has-text('Start')"),
    "compare": ("Compare", "[data-testid=stAlert], [data-testid=stMultiSelect]"),
    "sweep": ("Sweep", "[data-testid=stMultiSelect]"),
}
# Elements wider than the box that holds them: the main area, formulas, buttons (a cut "C…" label).
OVERFLOWING = """() => {
    const wide = (el) => el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0;
    const main = document.querySelector('[data-testid=stMain]');
    const found = [];
    if (main && wide(main)) found.push('main area');
    for (const el of document.querySelectorAll('.katex-display')) {  // scrolls sideways when the formula is wider
        if (el.scrollWidth > el.clientWidth + 4 && el.clientWidth > 0)  // (a glyph's overhang of a pixel or two: fine)
            found.push('formula: ' + el.textContent.slice(0, 40));
    }
    for (const el of document.querySelectorAll('[data-testid=stMain] button')) {
        if (wide(el)) found.push('button: ' + el.innerText);
    }
    return found;
}"""
# Chart texts (titles, subplot titles, annotations) whose boxes meet, per chart.
COLLIDING = """() => {
    const found = [];
    for (const chart of document.querySelectorAll('.js-plotly-plot')) {
        const boxes = [...chart.querySelectorAll('.gtitle, .annotation-text')]
            .map(el => [el.textContent, el.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
        for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const [a, r] = boxes[i], [b, s] = boxes[j];
            if (r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom) found.push(a + ' / ' + b);
        }
    }
    return found;
}"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Where the screenshots go: $KDW_SCREENSHOT_DIR, or a temporary folder."""
    folder = Path(os.environ.get("KDW_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def problems_on(page):
    """What overflows or collides on the page as drawn now."""
    return page.evaluate(OVERFLOWING) + page.evaluate(COLLIDING)


@pytest.mark.parametrize("width,height", SIZES)
def test_every_page_reads_at_projector_sizes(browser, app_url, shots, width, height):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        for path, (title, content) in PAGES.items():
            page.set_viewport_size({"width": width, "height": height})
            open_app(page, f"{app_url}/{path}")
            page.wait_for_function("(title) => document.querySelector('h1')?.innerText === title", arg=title)
            page.locator(content).first.wait_for()
            assert page.locator("[data-testid=stSidebarNav]").count() == 1, f"{title}: no navigation (run on its own)"
            settle(page, 1.0)
            assert page.locator("[data-testid=stException]").count() == 0, title
            name = f"{path or 'teacher'}-{width}x{height}"
            page.screenshot(path=str(shots / f"{name}.png"))
            page.set_viewport_size({"width": width, "height": 2000})
            settle(page, 1.0)
            page.screenshot(path=str(shots / f"{name}-whole.png"))
            found = problems_on(page)
            tabs = page.locator("[data-testid=stTabs] [role=tab]")
            for index in range(tabs.count()):  # the Method page: every tab's cards
                tabs.nth(index).click()
                time.sleep(0.5)
                found += [f"tab {index}: {problem}" for problem in problems_on(page)]
                page.screenshot(path=str(shots / f"{name}-tab{index}.png"))
            assert not found, f"{title} at {width}×{height}: {found}"
    finally:
        context.close()


def test_a_default_run_draws_live_points_every_second_at_1024x768(browser, app_url, shots):  # noqa: F811
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        open_app(page, f"{app_url}/train?seed=7")
        start = page.get_by_role("button", name="Start")
        start.wait_for()
        settle(page, 1.0)
        start.click()
        page.locator(".st-key-live_loss .js-plotly-plot").first.wait_for()  # at Start (a redraw may hold two)
        done = page.locator("[data-testid=stMarkdownContainer]").filter(has_text="seed 7").filter(has_text="done")
        counts = []
        while done.count() < 2 and len(counts) < 180:  # while the kd run and its baseline train
            time.sleep(1.0)
            counts.append(page.evaluate(LIVE_POINTS, "seed 7"))
            if len(counts) == 8:  # mid-run: the whole page, charts and all
                page.set_viewport_size({"width": 1024, "height": 2000})
                page.screenshot(path=str(shots / "train-live-1024x768-whole.png"))
                page.set_viewport_size({"width": 1024, "height": 768})
        page.screenshot(path=str(shots / "train-live-1024x768.png"))
        gained = [later for earlier, later in zip(counts, counts[1:]) if later > earlier > 0]
        assert len(gained) >= 2, f"points on the live loss chart, a second apart: {counts}"
        assert not problems_on(page)
    finally:
        context.close()
