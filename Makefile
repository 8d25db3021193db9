# The two commands of the README:
#   make demo   set everything up, start the stack and the platform, stream demo data
#   make test   set everything up, start the stack, run lint, types and every test
.PHONY: demo up down status logs reset setup proto lint typecheck test test-unit test-integration bench

demo:
	scripts/demo

up:
	scripts/stack up

down:
	scripts/stack down

status:
	scripts/stack status

logs:
	scripts/stack logs

reset:
	scripts/stack reset

setup:
	scripts/stack setup

proto:
	uv run --frozen python -m shopee_codegen

lint:
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .

typecheck:
	uv run --frozen mypy

test:
	scripts/test

bench:
	uv run --frozen python -m bench.ingest
