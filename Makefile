# The README's first two commands: `make demo` and `make test`. Nothing else is needed first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test install system-tools lint messages bench clean

demo: $(STAMP)
	$(BIN)/carebridge demo

test: $(STAMP) system-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# System tools the tests drive: Debian's chromium, a CJK font so screenshots show Chinese
# rather than empty boxes, and DCMTK, the reference DICOM peer the listener is tested against. Installed when missing and we are root; with CI=true the tests
# themselves fail, never skip, if a tool is still missing.
system-tools:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$$missing fonts-wqy-microhei"; \
	command -v storescu >/dev/null 2>&1 || missing="$$missing dcmtk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages for the browser tests:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing$$missing and cannot install here: browser tests will not run"; fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

messages: $(STAMP)
	$(BIN)/python scripts/i18n.py update

bench: $(STAMP)
	$(BIN)/python bench/records.py

clean:
	rm -rf var .pytest_cache
