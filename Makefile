# The two commands a fresh machine needs are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test setup lint check bench clean chromium

CSS := themes/govuk/static/masterclass.css

setup: $(VENV)/.installed node_modules/.installed $(CSS) chromium

# The browser tests (tests/browser/) drive Debian's Chromium through Playwright, which never downloads a browser of
# its own. Where it is missing and we can (CI: root on a fresh Debian machine), install it; elsewhere the browser
# tests skip and say how to enable them (or point CHROMIUM_PATH at a Chromium).
chromium:
	@if [ ! -e /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# The theme's stylesheet is built from GOV.UK Frontend's Sass (with Arial), never committed. Sass writes its error
# into the output file, so it writes a temporary file that replaces the stylesheet only when the build succeeds.
$(CSS): themes/govuk/scss/masterclass.scss node_modules/.installed
	node_modules/.bin/sass --no-source-map --load-path=node_modules --style=compressed --quiet-deps $< $@.tmp
	mv $@.tmp $@

run: setup
	$(BIN)/masterclass serve

lint: setup
	$(BIN)/ruff check course engine tests bench
	$(BIN)/mypy course engine

check: setup
	$(BIN)/masterclass check content

test: setup lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/build_bench.py

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .mypy_cache .ruff_cache
