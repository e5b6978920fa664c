"""The editor app served for real, once for the module, on a free localhost port with the suite's tiny pipeline:
a headless Chromium (Debian's chromium + chromium-driver, installed by launch/setup.sh) drives the page like a
person, and `gradio_client` drives the `/edit` endpoint."""

import io
import os
import shutil
import socket
import urllib.request

import numpy as np
import pytest
import soundfile as sf

from genie_audio.app import ui
from genie_audio.app.service import EditorService

pytest_plugins = ["fixtures_pipeline"]

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SPAN = (1.0, 1.2)                    # two steps of 0.1 s; samples [16000, 19200)
INSIDE = slice(16000, 19200)


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.fixture(scope="module")
def song_path(pipeline_runs):
  return str(pipeline_runs["dataset"] / "shards" / "fake003.wav")


@pytest.fixture(scope="module")
def app_url(pipeline_runs, tmp_path_factory):
  root = tmp_path_factory.mktemp("app")
  service = EditorService.load(pipeline_runs["dynamics"], output_dir=root / "out", cache_dir=root / "cache")
  demo = ui.build_app(service)
  port = free_port()
  ui.launch(demo, "127.0.0.1", port, [str(service.output_dir)], block=False)
  yield f"http://127.0.0.1:{port}/"
  demo.close()


def assert_edited_only_inside(path_or_bytes, song_path):
  edited, rate = sf.read(path_or_bytes, dtype="float32")
  original, _ = sf.read(song_path, dtype="float32")
  assert rate == 16000 and edited.shape == original.shape
  np.testing.assert_array_equal(edited[:INSIDE.start], original[:INSIDE.start])
  np.testing.assert_array_equal(edited[INSIDE.stop:], original[INSIDE.stop:])
  assert np.abs(edited[INSIDE] - original[INSIDE]).max() > 0


@pytest.fixture(scope="module")
def browser():
  if not (CHROMIUM and CHROMEDRIVER):
    pytest.fail("the browser test needs Debian's chromium and chromium-driver: run bash launch/setup.sh")
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  options = webdriver.ChromeOptions()
  for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1400,2300"):
    options.add_argument(arg)
  options.binary_location = CHROMIUM
  driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
  yield driver
  driver.quit()


def test_browser_selects_a_span_edits_it_keeps_it_and_makes_variations(app_url, browser, song_path, tmp_path):
  from selenium.webdriver.common.by import By
  from selenium.webdriver.common.keys import Keys
  from selenium.webdriver.support.ui import WebDriverWait

  find = lambda selector: browser.find_element(By.CSS_SELECTOR, selector)
  wait = WebDriverWait(browser, 240, poll_frequency=0.2)
  status = lambda: find("#status").text

  def wait_for(text):
    try:
      wait.until(lambda _: text in status())
    except Exception:
      browser.save_screenshot(str(tmp_path / "failed.png"))
      raise AssertionError(f"the page never said {text!r}; it says {status()!r} ({tmp_path / 'failed.png'})")

  def type_into(selector, text):
    box = find(selector)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(text), Keys.TAB)

  def choose(mode):
    browser.find_element(By.XPATH, f"//*[@id='mode']//label[contains(., '{mode}')]").click()

  browser.get(app_url)
  wait.until(lambda _: browser.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"))
  find("#upload input[type=file]").send_keys(song_path)
  wait_for("Opened fake003.wav")
  type_into("#start input", SPAN[0])
  type_into("#end input", SPAN[1])
  span_actions = lambda: find("#span_actions textarea, #span_actions input").get_attribute("value")
  wait.until(lambda _: span_actions().startswith("steps 10-11: "))
  # A wrong action count is answered in the page; the server keeps serving.
  choose("my actions")
  type_into("#actions textarea", "3")
  find("#generate").click()
  wait_for("give exactly 2")
  type_into("#actions textarea", "3,1")
  find("#generate").click()
  wait_for("Ready: 1 variation(s): edited 1-1.2 s, actions [3, 1]")
  wait.until(lambda _: find("#variation_0").is_displayed())
  find("#keep").click()
  wait_for("Kept variation 1: version 1.")
  href = wait.until(lambda _: find("#download_wav a[href]").get_attribute("href"))
  assert_edited_only_inside(io.BytesIO(urllib.request.urlopen(href, timeout=30).read()), song_path)
  # Two variations of a resample of the kept version, side by side.
  type_into("#count input[type=number]", 2)
  choose("resample")
  find("#generate").click()
  wait_for("Ready: 2 variation(s)")
  wait.until(lambda _: find("#variation_1").is_displayed())
  screenshot = tmp_path / "app.png"
  browser.save_screenshot(str(screenshot))
  print(f"screenshot: {screenshot}")
  assert screenshot.stat().st_size > 10_000


def test_gradio_client_drives_the_edit_endpoint(app_url, song_path):
  from gradio_client import Client, handle_file

  client = Client(app_url, verbose=False)
  with pytest.raises(Exception, match="give exactly 2"):   # a bad request: the client gets the sentence
    client.predict(handle_file(song_path), *SPAN, "3", 2.0, 0, api_name="/edit")
  edited = client.predict(handle_file(song_path), *SPAN, "3,1", 2.0, 0, api_name="/edit")
  assert os.path.isfile(edited)
  assert_edited_only_inside(edited, song_path)
