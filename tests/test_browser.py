"""The real app in a real browser: `streamlit run pages/app.py` on a free localhost port, driven by Playwright
with Debian's chromium. Screenshots of every page go to artifacts/screenshots/."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGES = {  # url path: (title, an element the page's own script draws)
    "": ("Teacher", "[data-testid=stDataFrame]"),
    "method": ("Method", "[data-testid=stCheckbox]"),
    "hyperparameters": ("Hyperparameters", "[data-testid=stMetric]"),
    "train": ("Train", "button:has-text('Start')"),
    "compare": ("Compare", "[data-testid=stAlert], [data-testid=stMultiSelect]"),
}
# Points drawn on the live loss chart whose trace names contain a text (plotly's own per-trace point counts).
LIVE_POINTS = """(text) => {
    const chart = document.querySelector('.st-key-live_loss .js-plotly-plot');
    if (!chart || !chart._fullData) return 0;
    return chart._fullData.filter(t => t.name.includes(text)).reduce((n, t) => n + (t._length || 0), 0);
}"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app served by `streamlit run` with its own runs and data folders."""
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = {
        **os.environ,
        "KDW_RUNS_DIR": str(folder / "runs"),
        "KDW_DATA_DIR": str(folder / "data"),
        "KDW_MAX_WORKERS": "1",
    }
    env.pop("KDW_EXECUTOR", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "pages/app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the app did not start within 60 s")
    yield url
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    tab = browser.new_page(viewport={"width": 1400, "height": 2400})
    tab.set_default_timeout(60_000)
    yield tab
    tab.close()


def open_app(page, url):
    page.goto(url)
    page.wait_for_selector("[data-testid=stApp]")
    page.wait_for_selector("h1")


def settle(page, seconds=0.5):
    """Wait until the script has stopped running, then a moment for the browser to draw."""
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=60_000)
    time.sleep(seconds)


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_every_page_opens_without_an_error(page, app_url):
    open_app(page, app_url)
    links = page.locator("[data-testid=stSidebarNav] a").all_inner_texts()
    assert {title for title, _ in PAGES.values()} <= {link.split("\n")[-1].strip() for link in links}  # after the icon
    for path, (title, content) in PAGES.items():
        page.locator("[data-testid=stSidebarNav] a").filter(has_text=title).click()
        page.wait_for_function("(title) => document.querySelector('h1')?.innerText === title", arg=title)
        page.locator(content).first.wait_for()
        settle(page)
        assert page.locator("[data-testid=stException]").count() == 0, title
        screenshot(page, path or "teacher")
        assert page.url.rstrip("/").endswith(path)


def test_moving_the_temperature_slider_updates_the_preview_and_the_url(page, app_url):
    open_app(page, f"{app_url}/hyperparameters")
    metric = page.locator("[data-testid=stMetricValue]")
    metric.wait_for()
    before = float(metric.inner_text().split()[0])
    slider = page.locator("[data-testid=stSlider]").filter(has_text="Temperature T").get_by_role("slider")
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_url("**temperature=6.0**")
    settle(page)
    assert float(metric.inner_text().split()[0]) > before
    screenshot(page, "hyperparameters-T6")


def test_a_one_epoch_digits_run_draws_live_points_and_shows_on_compare(page, app_url):
    open_app(page, f"{app_url}/train?epochs=1&train_subset=500&batch_size=8&seed=11")
    start = page.get_by_role("button", name="Start")
    start.wait_for()
    settle(page, 0.5)
    start.click()
    expected = 63 * 5  # 63 steps; kd draws ce, kd and loss, the baseline ce and loss
    counts = [page.evaluate(LIVE_POINTS, "seed 11")]
    deadline = time.monotonic() + 90
    while counts[-1] < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        counts.append(page.evaluate(LIVE_POINTS, "seed 11"))
    assert counts[0] == 0 and counts[-1] == expected, f"points seen on the live chart: {sorted(set(counts))}"
    page.locator("[data-testid=stMarkdownContainer]").filter(has_text="baseline · seed 11").filter(
        has_text="done"
    ).wait_for()
    time.sleep(1.5)  # one more refresh of the live panel
    screenshot(page, "train-live")
    open_app(page, f"{app_url}/compare")
    settle(page)
    table = page.locator("[data-testid=stDataFrame]").first
    table.wait_for()
    assert page.locator("[data-testid=stMultiSelect]").filter(has_text="kd · seed 11").count() == 1
    assert page.locator(".st-key-compare_curves .js-plotly-plot").count() == 1
    screenshot(page, "compare-run")


def test_a_reload_keeps_a_browsers_runs_and_another_browser_neither_sees_nor_cancels_them(browser, app_url):
    mine = browser.new_context(viewport={"width": 1400, "height": 2400})
    tab = mine.new_page()
    tab.set_default_timeout(60_000)
    open_app(tab, f"{app_url}/train?epochs=30&train_subset=0&batch_size=8&seed=21")
    tab.get_by_role("button", name="Start").click()
    tab.locator("[data-testid=stMarkdownContainer]").filter(has_text="kd · seed 21").wait_for()
    assert [c["value"] for c in mine.cookies() if c["name"] == "kdw_owner"], "no owner cookie was stored"
    tab.reload()
    tab.locator("[data-testid=stMarkdownContainer]").filter(has_text="kd · seed 21").wait_for()
    tab.get_by_role("button", name="Cancel all mine").wait_for()  # still this browser's runs after the reload

    theirs = browser.new_context(viewport={"width": 1400, "height": 1400})
    other = theirs.new_page()
    other.set_default_timeout(60_000)
    open_app(other, f"{app_url}/train")
    other.get_by_role("button", name="Start").wait_for()
    settle(other, 1.5)
    assert other.locator("[data-testid=stMarkdownContainer]").filter(has_text="seed 21").count() == 0
    assert other.get_by_role("button", name="Cancel").count() == 0
    screenshot(other, "train-another-browser")
    theirs.close()

    tab.get_by_role("button", name="Cancel all mine").click()
    tab.locator("[data-testid=stMarkdownContainer]").filter(has_text="kd · seed 21").filter(
        has_text="cancelled"
    ).wait_for()
    screenshot(tab, "train-cancelled-after-reload")
    mine.close()
