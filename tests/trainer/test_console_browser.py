"""The web console in a real browser (Debian's Chromium driven by Playwright) against a real gateway, trainer,
Celery workers and inference service: sign in, start a job and watch its chart, chat, compare, models.

Screenshots are kept under `artifacts/console/` (CI keeps that folder).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis as redis_lib
from playwright.sync_api import Page, expect, sync_playwright

from shared.model_registry import ModelRegistry
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore
from tests.helpers.gateway import gateway_test_settings, served_gateway
from tests.helpers.inference import inference_server
from tests.helpers.smollm2 import smollm2_folder
from tests.helpers.workers import Workers

pytestmark = pytest.mark.slow
SMOLLM2 = "SmolLM2-135M-Instruct"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "console"
# Debian's package (`make test` installs it: scripts/install_browser.sh), or the one DISTRUST_CHROMIUM names.
CHROMIUM = os.environ.get("DISTRUST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def base_url(
    storage_settings: StorageSettings,
    redis_settings: RedisSettings,
    trainer_target: str,
    scorer_target: str,
    workers: Workers,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    workers.start()
    cache = tmp_path_factory.mktemp("inference-cache")
    with inference_server(redis_settings, storage_settings, cache) as inference_target:
        settings = gateway_test_settings(
            storage_settings,
            redis_settings,
            trainer_target=trainer_target,
            scorer_target=scorer_target,
            inference_target=inference_target,
        )
        with served_gateway(settings) as url:
            yield url


@pytest.fixture
def page() -> Iterator[Page]:
    assert CHROMIUM, "no Chromium: run `make browser` (Debian's chromium) or set DISTRUST_CHROMIUM"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 860})
        yield page
        browser.close()


def _training_file(base_url: str) -> str:
    rows = [
        {"text": f"Field notebook, day {i}: measured the river at dawn.", "auth_weight": 0.2, "prov_entropy": 6.0}
        for i in range(24)
    ]
    data = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
    response = httpx.post(
        f"{base_url}/v1/files",
        headers={"Authorization": "Bearer key-alice"},
        data={"purpose": "fine-tune"},
        files={"file": ("notebook.jsonl", data)},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def smollm2(redis_settings: RedisSettings, store: ObjectStore) -> str:
    """SmolLM2-135M-Instruct registered as a base model, for a readable answer in the playground."""
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    ModelRegistry(client, store).register_base(SMOLLM2, smollm2_folder("q4"))
    return SMOLLM2


def test_the_console_trains_chats_and_compares(base_url: str, page: Page, registered_model: str, smollm2: str) -> None:
    file_id = _training_file(base_url)
    page.goto(f"{base_url}/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    page.screenshot(path=str(SHOTS / "0-sign-in-refused.png"))

    page.get_by_label("API key").fill("key-alice")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Sections")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_hidden()

    form = page.locator("#job-form")
    form.get_by_label("Model").select_option(registered_model)
    form.get_by_label("Training file").select_option(file_id)
    form.get_by_label("Epochs").fill("3")
    form.get_by_label("Alias").fill("console-bot")
    form.get_by_role("button", name="Start job").click()
    expect(page.locator("#job-detail")).to_be_visible()
    chart = page.locator("#loss-chart")
    expect(chart).not_to_have_attribute("data-points", "0", timeout=120_000)  # the chart moves with the job
    page.screenshot(path=str(SHOTS / "1-job-training.png"))
    expect(page.locator("#job-status")).to_contain_text("succeeded", timeout=180_000)
    expect(chart).to_have_attribute("data-points", "18")  # 24 examples / batch 4 × 3 epochs, one point per step
    expect(page.locator('[data-control="resume"]')).to_be_disabled()
    expect(page.locator('[data-control="cancel"]')).to_be_disabled()
    fine_tuned = page.locator("#job-table tbody tr").first.locator("td").nth(4).inner_text()
    assert fine_tuned.startswith(f"ft:{registered_model}:")
    page.screenshot(path=str(SHOTS / "2-job-succeeded.png"), full_page=True)

    page.get_by_role("button", name="Chat", exact=True).click()
    chat = page.locator("#chat-form")
    chat.get_by_label("Model").select_option("ft:alias:console-bot")
    chat.get_by_label("Temperature").fill("0")
    chat.get_by_label("Max tokens").fill("8")
    chat.get_by_label("Message", exact=True).fill("Who measured the river?")
    chat.get_by_role("button", name="Send").click()
    answer = page.locator("#chat-log .turn span").nth(1)
    expect(answer).not_to_have_attribute("data-streaming", "true", timeout=60_000)
    assert answer.text_content(), "the streamed answer is empty"  # the tiny random model may stream blank tokens
    # A real model in the same playground: the conversation goes on with SmolLM2-135M-Instruct.
    chat.get_by_label("Model").select_option(smollm2)
    chat.get_by_label("Max tokens").fill("24")
    chat.get_by_label("System").fill("Answer in one short sentence.")
    chat.get_by_label("Message", exact=True).fill("What is the capital of France?")
    chat.get_by_role("button", name="Send").click()
    real = page.locator("#chat-log .turn span").nth(3)
    expect(real).not_to_have_attribute("data-streaming", "true", timeout=120_000)
    assert "Paris" in (real.text_content() or ""), real.text_content()
    page.screenshot(path=str(SHOTS / "3-chat.png"))

    page.get_by_role("button", name="Compare", exact=True).click()
    compare = page.locator("#compare-form")
    compare.get_by_label("Model 1").select_option(registered_model)
    compare.get_by_label("Model 2").select_option(fine_tuned)
    compare.get_by_label("Max tokens").fill("8")
    compare.get_by_label("Prompt").fill("The river at dawn")
    compare.get_by_role("button", name="Compare").click()
    columns = page.locator("#compare-out article pre")
    expect(columns).to_have_count(2)
    for i in range(2):
        expect(columns.nth(i)).not_to_have_attribute("data-streaming", "true", timeout=60_000)
        assert columns.nth(i).text_content()
    page.screenshot(path=str(SHOTS / "4-compare.png"))

    page.get_by_role("button", name="Models", exact=True).click()
    row = page.locator("#model-table tbody tr", has_text=fine_tuned).first
    expect(row).to_contain_text("ftjob-")
    expect(row).to_contain_text(file_id)
    expect(row).to_contain_text("ft:alias:console-bot")
    page.screenshot(path=str(SHOTS / "5-models.png"), full_page=True)

    headers = {"Authorization": "Bearer key-alice"}
    body = {"models": [fine_tuned], "tasks": [{"type": "source_preference", "limit": 4}], "include_base": True}
    created = httpx.post(f"{base_url}/v1/evals", headers=headers, json=body)
    assert created.status_code == 200, created.text
    eval_id = created.json()["id"]
    for _ in range(600):
        if httpx.get(f"{base_url}/v1/evals/{eval_id}", headers=headers).json()["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    page.get_by_role("button", name="Evaluations", exact=True).click()
    page.locator("#eval-table tbody tr", has_text=eval_id).click()
    expect(page.locator("#eval-title")).to_contain_text("succeeded")
    expect(page.locator("#eval-summary")).to_contain_text("source_preference.accuracy")
    expect(page.locator("#eval-summary thead")).to_contain_text(fine_tuned)
    expect(page.locator("#eval-chart")).to_be_visible()
    page.screenshot(path=str(SHOTS / "6-evaluation.png"), full_page=True)

    page.get_by_role("button", name="Files", exact=True).click()
    expect(page.locator("#file-table tbody")).to_contain_text("notebook.jsonl")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_console_page_holds_no_data_and_the_api_needs_the_key(base_url: str) -> None:
    page = httpx.get(f"{base_url}/console")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert httpx.get(f"{base_url}/console/static/console.js").status_code == 200
    assert httpx.get(f"{base_url}/v1/fine_tuning/jobs").status_code == 401
