"""Browser tests (Chromium through Playwright, against the real server): a package, so that their browser and
server are package-scoped and stop when the last of them ends. Playwright's sync API keeps an event loop running
while it is open, which would break later tests that call asyncio.run()."""
