"""What the browser tests share: Chromium's flags, axe-core, reflow and focus checks, and two ways to drive a page.

A learner drives a page with a pointer (``PointerDriver``) or with the keyboard alone (``KeyboardDriver``):
the journeys are written once against the ``Driver`` interface and run both ways, with JavaScript on and off.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, ViewportSize, expect

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "content" / "innovation-masterclass"
SLUG = "innovation-masterclass"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PASSWORD = "correct horse battery staple"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
NARROW: ViewportSize = {"width": 320, "height": 720}
SNAPSHOT_PATH = "/__no-js-snapshot__"


def lesson(module: str, lesson_id: str) -> str:
    return f"/{SLUG}/{module}/{lesson_id}"


# ---------------------------------------------------------------------------------------------- accounts


def register_by_request(context: BrowserContext, base: str, email: str, name: str = "Test Learner") -> None:
    """A learner account made through the real form endpoint, with the context's own cookies (fast set-up)."""
    html = context.request.get(f"{base}/register").text()
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token on /register"
    response = context.request.post(f"{base}/register", form={
        "csrf_token": match.group(1), "name": name, "email": email, "department": "Cabinet Office",
        "password": PASSWORD, "next": "/"}, max_redirects=0)
    assert response.status == 303, response.text()


# ---------------------------------------------------------------------------------------------- axe-core

_AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html, summary: n.failureSummary})),
  }));
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 A/AA violations on a JavaScript-enabled page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):  # once per document
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(_AXE_RUN, AXE_TAGS)  # type: ignore[no-any-return]


class SnapshotTwin:
    """axe-core for pages with JavaScript off, which cannot run axe themselves.

    The DOM such a page rendered is served, scripts removed, to this JavaScript-enabled twin at the same origin
    and viewport (so with the same styles and layout), and axe runs there.
    """

    def __init__(self, context: BrowserContext) -> None:
        self.html = ""
        self.page = context.new_page()
        self.page.route("**" + SNAPSHOT_PATH, lambda route: route.fulfill(
            status=200, body=self.html, content_type="text/html; charset=utf-8"))

    def violations(self, page: Page) -> list[dict[str, Any]]:
        html = re.sub(r"<script\b.*?</script>", "", page.content(), flags=re.S | re.I).replace(' style=""', "")
        origin = re.match(r"https?://[^/]+", page.url)
        assert origin, page.url
        if page.viewport_size:
            self.page.set_viewport_size(page.viewport_size)
        if html != self.html or not self.page.url.startswith(origin.group(0)):  # else only the viewport changed
            self.html = html
            self.page.goto(origin.group(0) + SNAPSHOT_PATH)
        return axe_violations(self.page)


def page_violations(page: Page, twin: SnapshotTwin, *, javascript: bool) -> list[dict[str, Any]]:
    return axe_violations(page) if javascript else twin.violations(page)


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}\n  {v['helpUrl']}")
        for node in v["nodes"][:10]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    at {node['target']}\n      {node['html'][:300]}\n      {summary[:600]}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- layout

_OVERFLOW = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > width + 1 && getComputedStyle(e).visibility !== 'hidden')
    .filter(e => !e.closest('.govuk-visually-hidden, .govuk-skip-link'))
    .slice(0, 8)
    .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')}`
              + ` (right edge ${Math.round(e.getBoundingClientRect().right)})`);
  return {scrollWidth: root.scrollWidth, clientWidth: width, wide};
}"""


def horizontal_overflow(page: Page) -> str | None:
    """None when the page needs no horizontal scrolling; otherwise what sticks out."""
    found = page.evaluate(_OVERFLOW)
    if found["scrollWidth"] <= found["clientWidth"]:
        return None
    return (f"scrollWidth {found['scrollWidth']} > clientWidth {found['clientWidth']}; "
            f"widest elements: {', '.join(found['wide']) or '(none found)'}")


def resize_text(page: Page, percent: int) -> None:
    """Text-only zoom, as a browser's text size setting does: GOV.UK Frontend sizes type in rem. 100 undoes it."""
    page.evaluate("(p) => { document.documentElement.style.fontSize = p === 100 ? '' : p + '%' }", percent)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------------------------------------- focus

_FOCUS = """(targets) => {
  const el = document.activeElement;
  const reached = !!targets && targets.includes(el);
  if (!el || el === document.body || el === document.documentElement) return {reached, ok: true};
  const visible = (style) => {
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
      && !/rgba\\([^)]*,\\s*0\\)$/.test(style.outlineColor) && style.outlineColor !== 'transparent';
    const shadow = style.boxShadow && style.boxShadow !== 'none';
    return outline || shadow;
  };
  let ok = visible(getComputedStyle(el));
  // GOV.UK radios and checkboxes hide the native input and draw the focus ring on the label's ::before.
  if (!ok && el.matches('.govuk-radios__input, .govuk-checkboxes__input')) {
    const label = el.labels && el.labels[0];
    ok = !!label && visible(getComputedStyle(label, '::before'));
  }
  const style = getComputedStyle(el);
  const describe = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}`
    + `${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''}`
    + ` "${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40)}"`
    + ` (outline: ${style.outline}; box-shadow: ${style.boxShadow})`;
  return {reached, ok, describe};
}"""


def focus_problem(page: Page) -> str | None:
    """None when the focused element shows a visible focus indicator (an outline or a box-shadow)."""
    state = page.evaluate(_FOCUS, None)
    return None if state["ok"] else f"no visible focus indicator on {state['describe']}"


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("el => el === document.activeElement"))


# ---------------------------------------------------------------------------------------------- drivers


class Driver:
    """How a learner operates the page: the journeys call only these."""

    name = "driver"

    def __init__(self, page: Page) -> None:
        self.page = page

    def follow(self, target: Locator) -> None:
        """Follow a link or press a button."""
        raise NotImplementedError

    def type_into(self, field: Locator, text: str) -> None:
        raise NotImplementedError

    def choose(self, option: Locator) -> None:
        """Select a radio button or tick a checkbox."""
        raise NotImplementedError

    def select(self, field: Locator, label: str) -> None:
        raise NotImplementedError


class PointerDriver(Driver):
    name = "pointer"

    def follow(self, target: Locator) -> None:
        target.click()

    def type_into(self, field: Locator, text: str) -> None:
        field.fill(text)

    def choose(self, option: Locator) -> None:
        # The GOV.UK radio's label covers the native input: click the label, as a person does.
        option_id = option.get_attribute("id")
        self.page.locator(f'label[for="{option_id}"]').click()
        expect(option).to_be_checked()

    def select(self, field: Locator, label: str) -> None:
        field.select_option(label=label)


class KeyboardDriver(Driver):
    """Tab, Shift+Tab, arrows, Space and Enter only; every element tabbed through must show its focus."""

    name = "keyboard"
    MAX_TABS = 250

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.problems: list[str] = []

    def tab_to(self, target: Locator, *, accept: Locator | None = None) -> None:
        """Press Tab until ``target`` (or any of ``accept``) has focus, checking each stop's focus indicator."""
        target.wait_for(state="attached")
        targets = [target.element_handle(), *(accept.element_handles() if accept is not None else [])]
        state = self.page.evaluate(_FOCUS, targets)
        for _ in range(self.MAX_TABS):
            if state["reached"]:
                return
            self.page.keyboard.press("Tab")
            state = self.page.evaluate(_FOCUS, targets)
            if not state["ok"]:
                problem = f"{self.page.url}: no visible focus indicator on {state['describe']}"
                if problem not in self.problems:
                    self.problems.append(problem)
        raise AssertionError(f"{self.MAX_TABS} presses of Tab never reached {target} on {self.page.url}")

    def follow(self, target: Locator) -> None:
        self.tab_to(target)
        self.page.keyboard.press("Enter")

    def type_into(self, field: Locator, text: str) -> None:
        self.tab_to(field)
        self.page.keyboard.press("ControlOrMeta+A")
        self.page.keyboard.press("Delete")
        self.page.keyboard.type(text)
        expect(field).to_have_value(text)

    def choose(self, option: Locator) -> None:
        if option.get_attribute("type") == "radio":
            # Tab enters a radio group once, at its checked (or first) radio; the arrow keys move within it.
            name = option.get_attribute("name")
            group = option.locator(f"xpath=ancestor::form[1]//input[@type='radio'][@name='{name}']")
            self.tab_to(option, accept=group)
            for _ in range(group.count() + 1):
                if is_focused(option):
                    break
                self.page.keyboard.press("ArrowDown")
            assert is_focused(option), f"the arrow keys never reached {option}"
            if not option.is_checked():
                self.page.keyboard.press("Space")
        else:
            self.tab_to(option)
            if not option.is_checked():
                self.page.keyboard.press("Space")
        expect(option).to_be_checked()

    def select(self, field: Locator, label: str) -> None:
        self.tab_to(field)
        options = field.locator("option").all_inner_texts()
        assert label in options, f"{label!r} is not one of {options}"
        for _ in range(len(options)):
            if field.evaluate("el => el.options[el.selectedIndex].text") == label:
                break
            self.page.keyboard.press("ArrowDown")
        assert field.evaluate("el => el.options[el.selectedIndex].text") == label
