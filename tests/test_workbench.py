"""Issue 9: the labelling workbench, driven as a person uses it, in a real headless Chromium.

The server runs as its own process (`rhi-nlp label FILE --no-browser`), so killing it is a real
kill. Chromium is Debian's, driven by Selenium through Debian's chromedriver; .ci/run installs them
and sets RHI_NLP_REQUIRE_BROWSER=1, so in CI a missing browser fails instead of skipping."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pandas as pd
import pytest

from rhi_nlp.foi import draw_sample, estimate_themes
from rhi_nlp.labels import LabelFile, journal_path

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and DRIVER) and not os.environ.get("RHI_NLP_REQUIRE_BROWSER"),
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)")


class Server:
    def __init__(self, path, *args, cwd):
        self.proc = subprocess.Popen([sys.executable, "-m", "rhi_nlp", "label", str(path), "--no-browser", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
        self.lines = []
        deadline = time.time() + 60
        self.url = None
        while time.time() < deadline and self.url is None:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"(http://127\.0\.0\.1:(\d+)/\?t=(\S+))", line)
            if m:
                self.url, self.port, self.token = m.group(1), int(m.group(2)), m.group(3)
        assert self.url, "".join(self.lines) + self.proc.stderr.read()

    def kill(self) -> str:
        self.proc.send_signal(signal.SIGKILL)
        out, err = self.proc.communicate(timeout=30)
        return "".join(self.lines) + out + err

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        return "".join(self.lines) + out + err


def _get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        with e:
            return e.code, "", dict(e.headers)


def _post(url, body, token):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"X-RHI-Token": token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def audit(demo_tagged, tmp_path):
    path = tmp_path / "audit.csv"
    draw_sample(demo_tagged, path, size=10, seed=7, id_col="rhi_id")
    return path


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,768"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def _requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def _wait_for(driver, predicate, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the page")


def _label_by_keyboard(driver, n, keys_for):
    """Label n narratives with the keyboard only; return {id: set of theme keys pressed}."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    pressed = {}
    for _ in range(n):
        _wait_for(driver, lambda: "id " in driver.find_element(By.ID, "pos").text)
        head = driver.find_element(By.ID, "pos").text
        item_id = re.search(r"id (\S+)", head).group(1)
        keys = keys_for(item_id)
        for k in keys:
            driver.switch_to.active_element.send_keys(k)
            _wait_for(driver, lambda: driver.find_element(By.ID, "saved").text == "Saved")
        before = driver.find_element(By.ID, "progress").text
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        _wait_for(driver, lambda: driver.find_element(By.ID, "progress").text != before)
        pressed[item_id] = keys
    return pressed


@needs_browser
def test_label_by_keyboard_kill_resume_nothing_lost(audit, tmp_path, demo_tagged, small_model_dir):
    from selenium.webdriver.common.by import By

    texts = pd.read_csv(audit, dtype=str, keep_default_na=False)["narrative"].tolist()
    keys_for = (lambda item_id: ["1", "3"] if int(re.sub(r"\D", "", item_id)) % 2 else ["9"])
    server = Server(audit, cwd=tmp_path)
    driver = _browser()
    try:
        driver.get(server.url)
        _wait_for(driver, lambda: "0 of 10 done" in driver.find_element(By.ID, "progress").text)
        assert "no model output" in driver.find_element(By.ID, "mode").text
        assert driver.find_elements(By.CSS_SELECTOR, ".cue") == []           # audit: no highlight
        first = _label_by_keyboard(driver, 4, keys_for)
        log1 = server.kill()                                                 # no goodbye, no flush
        for url in _requested_urls(driver):
            assert url.startswith(f"http://127.0.0.1:{server.port}/"), url
        server = Server(audit, cwd=tmp_path)                                 # resume
        driver.get(server.url)
        _wait_for(driver, lambda: "4 of 10 done" in driver.find_element(By.ID, "progress").text)
        second = _label_by_keyboard(driver, 6, keys_for)
        assert "10 of 10 done" in driver.find_element(By.ID, "progress").text
        for url in _requested_urls(driver):
            assert url.startswith(f"http://127.0.0.1:{server.port}/"), url
        log2 = server.stop()
    finally:
        driver.quit()
        if server.proc.poll() is None:
            server.kill()
    pressed = {**first, **second}
    assert len(pressed) == 10
    for log in (log1, log2):                                                 # no narrative text in logs
        assert not any(t[:40] in log for t in texts if t)
    df = pd.read_csv(audit, dtype=str, keep_default_na=False).set_index("rhi_id")
    key_theme = {"1": "parental_conflict", "3": "domestic_abuse", "9": "mental_health"}
    for item_id, keys in pressed.items():
        on = {key_theme[k] for k in keys}
        for t in key_theme.values():
            assert df.loc[item_id, t] == ("1" if t in on else "0"), (item_id, t)
        assert df.loc[item_id, "school_bullying"] == "0"
    r = estimate_themes(demo_tagged, themes=["mental_health"], audit_path=audit, id_col="rhi_id",
                        model_dir=small_model_dir)[0]
    assert r.estimate.n == 10 and r.estimate.x == sum("9" in k for k in pressed.values())


def test_token_host_and_headers_are_enforced(audit, tmp_path):
    server = Server(audit, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert _get(base + "/")[0] == 403
        assert _get(base + "/?t=wrong")[0] == 403
        assert _get(base + "/api/state")[0] == 403
        assert _get(base + "/api/state", {"X-RHI-Token": "wrong"})[0] == 403
        assert _get(server.url, {"Host": f"evil.example:{server.port}"})[0] == 403   # DNS rebinding
        status, body, headers = _get(server.url)
        assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert not re.search(r"(src|href)=\"(https?:)?//", body)                  # no outside assets
        status, body, _ = _get(base + "/api/state", {"X-RHI-Token": server.token})
        state = json.loads(body)
        assert state["mode"] == "audit" and len(state["themes"]) == 13
        status, body, _ = _get(base + "/api/item/0", {"X-RHI-Token": server.token})
        item = json.loads(body)
        assert "guess" not in item and "cues" not in item                         # audit: no model output
        req = urllib.request.Request(base + "/api/item/0", data=b"theme=x", method="POST",
                                     headers={"X-RHI-Token": server.token})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 415                                                # a form post is refused
        e.value.close()
        again = subprocess.run([sys.executable, "-m", "rhi_nlp", "label", str(audit), "--no-browser"],
                               capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert again.returncode != 0 and "already open for labelling" in again.stderr
    finally:
        server.stop()
    assert not audit.with_name(audit.name + ".lock").exists()


def test_two_labellers_blind_agreement_and_adjudication(audit, tmp_path, demo_tagged, small_model_dir):
    ids = pd.read_csv(audit, dtype=str, keep_default_na=False)["rhi_id"].tolist()
    a = Server(audit, "--labeller", "anna", cwd=tmp_path)
    try:
        for n in range(10):
            _post(f"http://127.0.0.1:{a.port}/api/item/{n}", {"done": True, "labels": {"parental_conflict": n % 2}},
                  a.token)
    finally:
        a.stop()
    b = Server(audit, "--labeller", "ben", cwd=tmp_path)
    try:
        _, body, _ = _get(f"http://127.0.0.1:{b.port}/api/item/1", {"X-RHI-Token": b.token})
        assert json.loads(body)["labels"] == {}                                  # blind to anna's labels
        for n in range(10):                                                      # ben differs on rows 0 and 1
            v = (n % 2) if n > 1 else 1 - (n % 2)
            _post(f"http://127.0.0.1:{b.port}/api/item/{n}", {"done": True, "labels": {"parental_conflict": v}},
                  b.token)
    finally:
        b.stop()
    df = pd.read_csv(audit, dtype=str, keep_default_na=False).set_index("rhi_id")
    assert df.loc[ids[0], "parental_conflict"] == "" and df.loc[ids[3], "parental_conflict"] == "1"
    out = subprocess.run([sys.executable, "-m", "rhi_nlp", "agreement", str(audit), "--format", "json"],
                         capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    agr = json.loads(out)
    assert agr["labellers"] == ["anna", "ben"] and agr["double_labelled"] == 10
    assert agr["themes"]["parental_conflict"]["agreement"] == 0.8
    assert [d["id"] for d in agr["disagreements"]] == ids[:2] and agr["unadjudicated"] == 2
    with pytest.raises(Exception):
        estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=audit, id_col="rhi_id")
    adj = Server(audit, "--adjudicate", cwd=tmp_path)
    try:
        _, body, _ = _get(f"http://127.0.0.1:{adj.port}/api/state", {"X-RHI-Token": adj.token})
        assert json.loads(body)["progress"]["total"] == 2
        _, body, _ = _get(f"http://127.0.0.1:{adj.port}/api/item/0", {"X-RHI-Token": adj.token})
        shown = json.loads(body)
        assert shown["others"]["anna"]["parental_conflict"] != shown["others"]["ben"]["parental_conflict"]
        for n in range(2):
            _post(f"http://127.0.0.1:{adj.port}/api/item/{n}", {"done": True, "labels": {"parental_conflict": 1}},
                  adj.token)
    finally:
        adj.stop()
    df = pd.read_csv(audit, dtype=str, keep_default_na=False).set_index("rhi_id")
    assert df.loc[ids[0], "parental_conflict"] == "1" and df.loc[ids[1], "parental_conflict"] == "1"
    r = estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=audit, id_col="rhi_id",
                        model_dir=small_model_dir)[0]
    assert r.estimate.n == 10 and r.estimate.x == 6                               # 4 odd rows + 2 adjudicated
    twice = [n for n in r.notes if "labelled twice, blind" in n]
    assert twice and "10 of 10" in twice[0] and "agreement on this theme 80%" in twice[0]
    assert LabelFile(audit).progress("anna")["done"] == 10 and journal_path(audit).exists()
