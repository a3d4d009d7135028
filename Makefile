# carrierwatch — build, test and install as a systemd service.
# See docs/operations.md. Override e.g. `make install PREFIX=/opt/carrierwatch`.

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= /etc/systemd/system
SYSUSERSDIR ?= /etc/sysusers.d
TMPFILESDIR ?= /etc/tmpfiles.d
CONFDIR     ?= /etc/carrierwatch
DESTDIR     ?=

BIN := bin/carrierwatch

.PHONY: all build test check-unit install uninstall clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.Version=$(VERSION)" -o $(BIN) ./cmd/carrierwatch

test:
	$(GO) test -race ./...

# Fails when the unit's systemd-analyze exposure is above 2.0.
check-unit:
	deploy/systemd/check-exposure.sh deploy/systemd/carrierwatch.service
	deploy/systemd/check-exposure.sh deploy/systemd/carrierwatch-backup.service

# Installs the binary, the unit, the system user and the config folder. The
# config is copied only if none exists; the service is not enabled or started.
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/carrierwatch
	sed 's|/usr/local/bin/carrierwatch|$(BINDIR)/carrierwatch|g; s|/etc/carrierwatch/config.yaml|$(CONFDIR)/config.yaml|g' \
		deploy/systemd/carrierwatch.service > $(BIN).service
	install -D -m 0644 $(BIN).service $(DESTDIR)$(UNITDIR)/carrierwatch.service
	sed 's|/usr/local/bin/carrierwatch|$(BINDIR)/carrierwatch|g; s|/etc/carrierwatch/config.yaml|$(CONFDIR)/config.yaml|g' \
		deploy/systemd/carrierwatch-backup.service > $(BIN)-backup.service
	install -D -m 0644 $(BIN)-backup.service $(DESTDIR)$(UNITDIR)/carrierwatch-backup.service
	install -D -m 0644 deploy/systemd/carrierwatch-backup.timer $(DESTDIR)$(UNITDIR)/carrierwatch-backup.timer
	install -D -m 0644 deploy/systemd/carrierwatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/carrierwatch.conf
	install -D -m 0644 deploy/systemd/carrierwatch.tmpfiles $(DESTDIR)$(TMPFILESDIR)/carrierwatch.conf
	install -d -m 0750 $(DESTDIR)$(CONFDIR)
	test -e $(DESTDIR)$(CONFDIR)/config.yaml || install -m 0640 config.yaml $(DESTDIR)$(CONFDIR)/config.yaml
	@if [ -z "$(DESTDIR)" ]; then \
		set -e; \
		systemd-sysusers carrierwatch.conf; \
		systemd-tmpfiles --create carrierwatch.conf; \
		chgrp carrierwatch $(CONFDIR) $(CONFDIR)/config.yaml; \
		systemctl daemon-reload 2>/dev/null || true; \
		echo "installed; edit $(CONFDIR)/config.yaml, put secrets in /etc/credstore/ (see docs/operations.md),"; \
		echo "then check it (docs/operations.md, Start) and: systemctl enable --now carrierwatch"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/carrierwatch $(DESTDIR)$(UNITDIR)/carrierwatch.service \
		$(DESTDIR)$(UNITDIR)/carrierwatch-backup.service $(DESTDIR)$(UNITDIR)/carrierwatch-backup.timer \
		$(DESTDIR)$(SYSUSERSDIR)/carrierwatch.conf $(DESTDIR)$(TMPFILESDIR)/carrierwatch.conf
	@echo "kept $(CONFDIR), /var/lib/carrierwatch and the carrierwatch user"

clean:
	rm -f $(BIN) $(BIN).service $(BIN)-backup.service
