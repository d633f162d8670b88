# One entry point. Every target does its own set-up (venv, packages, Go-built binaries) from nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## create .venv and install both packages with test extras
	@scripts/setup.sh

test: setup ## run every test (unit, schema, control plane, pulumi up/preview/destroy)
	@scripts/test.sh

.PHONY: help setup test
