"""`serve` in a real browser: Debian's chromium driven by selenium, against
`python build.py serve` run as a user runs it, on nine everyday notes, a note with
formulas and a hostile note. The overview draws its charts, a card shows as Anki renders
it, an edit on disk reaches the open page within 2 s, the night toggle sets Anki's class,
the console stays clean, no script from a note runs, and nothing outside the pages, the
notes' media and the outputs is served."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.serve.anki_template import cloze, render

from .conftest import FIXTURES, REPO, write_note

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
HOSTILE = """# Hostile

- Does a script run :: <script>window.pwned = 1</script>no
- Does a handler run :: <img src="x.png" onerror="window.pwned = 2"> no
- A link :: <a href="javascript:window.pwned=3">click</a>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp("serve")
    shutil.copytree(FIXTURES / "everyday", work / "notes")
    shutil.copytree(FIXTURES / "math" / "physics", work / "notes" / "physics")
    write_note(work / "notes", "hostile.md", HOSTILE)
    shutil.copy(FIXTURES / "every-construct/vault/attachments/diagram.png", work / "notes")
    shutil.copy(FIXTURES / "sound/spanish/audio/hola.wav", work / "notes")
    write_note(
        work / "notes",
        "picture.md",
        "# Picture\n\n- The diagram :: ![[diagram.png]]\n- Hello :: ![[hola.wav]]\n",
    )
    (work / "dist").mkdir()
    (work / "dist" / "notes.txt").write_text("an output\n")
    os.symlink("/etc/passwd", work / "dist" / "linked")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "build.py"), "serve", "--port", str(port)],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    deadline = time.monotonic() + 60
    url = ""
    while not url:
        line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        if line.startswith("serving "):
            url = line.split()[1]
    assert url == f"http://127.0.0.1:{port}/"  # only this computer by default
    try:
        yield url, work
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_nothing_outside_the_pages_media_and_outputs_is_served(served):
    url, _ = served
    with urllib.request.urlopen(url + "note/picture.md", timeout=10) as response:
        page = response.read().decode()
    (image,) = re.findall(r'<img[^>]*src="/media/([^"]+)"', page)
    assert status(url + f"media/{image}") == 200  # the notes' own media, by name
    sounds = re.findall(r'<audio controls preload="none" src="/media/([^"]+)">', page)
    assert sounds and all(status(url + f"media/{name}") == 200 for name in sounds)
    assert status(url + "outputs/notes.txt") == 200
    assert status(url + "static/serve.js") == 200
    for path in (
        "outputs/..%2Fnotes.lock.json",
        "outputs/../notes/overview.md",
        "outputs/%2e%2e/notes/overview.md",
        "outputs/linked",  # a link out of the output folder
        "outputs/.cache",
        "media/..%2Fnotes%2Foverview.md",
        "media/overview.md",
        "note/../../etc/passwd",
        "note/nowhere.md",
        "static/..%2F..%2Fcli.py",
        "static/%2e%2e/app.py",
        "notes/overview.md",
    ):
        assert status(url + path) == 404, path
    with urllib.request.urlopen(url, timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]


@pytest.mark.slow
@pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromedriver (apt)")
def test_a_browser_sees_every_card_live(served, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, work = served
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1400"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.get(url)
        charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
        assert len(charts) == 2 and "Cards per deck" in charts[0].text
        assert "Changes since the lock" in driver.page_source
        driver.save_screenshot(str(tmp_path / "overview.png"))

        driver.find_element(By.LINK_TEXT, "geography/rivers.md").click()
        WebDriverWait(driver, 10).until(lambda d: "Longest peninsular river" in d.page_source)
        cards = driver.find_elements(By.CSS_SELECTOR, ".pv-side .card")
        assert len(cards) == 12  # six cards, front and back
        assert "[...]" in driver.page_source  # the cloze's blank, as Anki writes it

        size = "return getComputedStyle(document.querySelector('.pv-side .card')).fontSize"
        assert driver.execute_script(size) == "20px"
        driver.find_element(By.ID, "pv-phone").click()
        assert driver.execute_script(size) == "18px"  # the card CSS's phone rules
        driver.find_element(By.ID, "pv-night").click()
        assert "nightMode" in cards[0].get_attribute("class")
        assert "night_mode" in cards[0].get_attribute("class")

        rivers = work / "notes/geography/rivers.md"
        text = rivers.read_text(encoding="utf-8")
        started = time.monotonic()
        rivers.write_text(text.replace(":: Godavari", ":: Godavari, edited live"), encoding="utf-8")
        WebDriverWait(driver, 2, poll_frequency=0.05).until(
            lambda d: "Godavari, edited live" in d.page_source
        )
        assert time.monotonic() - started < 2
        # Still in night mode after the page updated itself.
        card = driver.find_elements(By.CSS_SELECTOR, ".pv-side .card")[0]
        assert "nightMode" in card.get_attribute("class")

        driver.get(url + "note/hostile.md")
        WebDriverWait(driver, 10).until(lambda d: "Does a script run" in d.page_source)
        assert driver.execute_script("return window.pwned === undefined")
        driver.save_screenshot(str(tmp_path / "hostile.png"))

        driver.get(url + "note/physics/mech.md")
        WebDriverWait(driver, 10).until(lambda d: "Newton" in d.page_source)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()


def test_a_broken_note_shows_its_problem_at_its_line_and_its_last_good_cards(served):
    url, work = served
    budget = work / "notes/economy/budget.md"
    text = budget.read_text(encoding="utf-8")
    budget.write_text(text + "\n- broken {{cloze\n", encoding="utf-8")
    try:
        deadline = time.monotonic() + 20
        while True:
            with urllib.request.urlopen(url + "note/economy/budget.md", timeout=10) as r:
                page = r.read().decode()
            if "unclosed" in page or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert "notes/economy/budget.md:26:" in page and "unclosed" in page
        assert "Fiscal deficit" in page and "showing the last cards that built" in page
    finally:
        budget.write_text(text, encoding="utf-8")


def test_anki_templates_and_clozes_render_as_anki_does():
    fields = {"Front": "Q", "Back": "A", "Context": "", "Source": "s"}
    front = render("{{#Context}}<p>{{Context}}</p>{{/Context}}<div>{{Front}}</div>", fields, 1)
    assert front == "<div>Q</div>"
    assert render("{{FrontSide}}<hr>{{Back}}", fields, 1, front) == "<div>Q</div><hr>A"
    text = "The {{c1::Ganga}} and {{c2::Yamuna::river}} meet; \\(x = {{c1::2}}\\)"
    assert cloze(text, 2, False) == (
        'The <span class="cloze-inactive" data-ordinal="1">Ganga</span> and '
        '<span class="cloze" data-cloze="Yamuna" data-ordinal="2">[river]</span> meet; \\(x = 2\\)'
    )
    assert "\\class{cloze}{[...]}" in cloze(text, 1, False)
    assert "\\class{cloze}{2}" in cloze(text, 1, True)


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path):
    write_note(tmp_path / "notes", "a.md", "# A\n\n- Q :: A\n")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, str(REPO / "build.py"), "serve", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr and "Traceback" not in done.stderr
