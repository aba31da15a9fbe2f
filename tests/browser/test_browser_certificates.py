"""The certificate journey: a learner completes the course, opens and prints their certificate (one A4 page, landscape,
without the service's navigation), and its code verifies in a fresh browser with no one signed in."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from .browserkit import SLUG
from .capstonekit import CapstoneWorld
from .certificatekit import complete_course

pytestmark = pytest.mark.browser

A4_LANDSCAPE = (841.89, 595.28)  # points


def _page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's size in points, from the MediaBox of each page object (Chromium writes them uncompressed)."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]


def test_a_learner_prints_their_certificate_and_it_verifies_publicly(
        new_context: Callable[..., BrowserContext], capstone_world: CapstoneWorld) -> None:
    # Cat's team completed the capstone (capstonekit); the lessons are done by request, all but the last.
    context = new_context(javascript=True, state=capstone_world.states["cat"])
    context.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1 }")
    last = complete_course(context, leave_last=True)
    page = context.new_page()
    page.goto(f"/{SLUG}/")
    main = page.locator("#main-content")
    expect(main).to_contain_text("Course incomplete")
    expect(main.get_by_role("link", name="View and print your certificate")).to_have_count(0)

    page.goto(last)  # opening the last lesson completes the course, and earns the certificate
    page.goto(f"/{SLUG}/")
    expect(main).to_contain_text("Course completed")
    main.get_by_role("link", name="View and print your certificate").click()
    expect(page).to_have_url(re.compile(rf"/{SLUG}/certificate$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of completion")
    certificate = page.locator(".mc-certificate")
    expect(certificate).to_contain_text("Cat Hopper")
    expect(certificate).to_contain_text("Innovation Masterclass")
    code = certificate.locator(".mc-certificate__code").inner_text()
    assert re.fullmatch(r"MC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code), code
    expect(page.locator("[data-mc-print-instructions]")).to_be_hidden()

    page.get_by_role("button", name="Print this certificate").click()
    assert page.evaluate("window.__printed") == 1

    # As printed: the certificate alone, on one A4 page in landscape.
    page.emulate_media(media="print")
    expect(certificate).to_be_visible()
    for hidden in (".govuk-service-navigation", ".govuk-footer", ".mc-account-bar", ".govuk-back-link",
                   "[data-mc-print]"):
        expect(page.locator(hidden).first).to_be_hidden()
    sizes = _page_sizes(page.pdf(prefer_css_page_size=True, print_background=True))
    assert len(sizes) == 1, f"the certificate printed on {len(sizes)} pages"
    width, height = sizes[0]
    assert abs(width - A4_LANDSCAPE[0]) < 2 and abs(height - A4_LANDSCAPE[1]) < 2, sizes
    page.emulate_media(media="screen")

    # Checked by someone else, in a fresh browser with no one signed in.
    check = certificate.get_by_role("link").get_attribute("href")
    assert check == f"/certificates/{code}"
    stranger = new_context(javascript=True).new_page()
    stranger.goto("/certificates")
    stranger.get_by_label("Verification code").fill(code.lower().replace("-", " "))
    stranger.get_by_role("button", name="Check certificate").click()
    expect(stranger).to_have_url(re.compile(rf"/certificates/{code}$"))
    found = stranger.locator("#main-content")
    expect(found).to_contain_text("This certificate is genuine")
    expect(found).to_contain_text("Cat Hopper")
    expect(found).not_to_contain_text("Cabinet Office")
    expect(found).not_to_contain_text("@example.gov.uk")

    # Without JavaScript the page says how to print instead of offering a button that would do nothing.
    plain = new_context(javascript=False, state=capstone_world.states["cat"]).new_page()
    plain.goto(f"/{SLUG}/certificate")
    expect(plain.locator("[data-mc-print-instructions]")).to_be_visible()
    expect(plain.get_by_role("button", name="Print this certificate")).to_have_count(0)
