"""The demo's commands as the real command lines read them: `shopee-generator` (typer/click) and
`shopee-db` (argparse) parse the arguments compose and Kubernetes pass, without running anything.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from typing import Any

import typer

from shopee_db.cli import build_parser
from shopee_generator.cli import app as generator_app

# The options that define the generator's world: labels, history and stream must agree on them.
WORLD_OPTIONS = (
    "seed",
    "shops",
    "products_per_shop",
    "scale",
    "days",
    "end",
    "end_file",
    "no_incidents",
)


@dataclass(frozen=True)
class GeneratorCall:
    """A parsed `shopee-generator <command> ...`: the command and every option's value (defaults
    filled in)."""

    command: str
    params: dict[str, Any]

    def world(self) -> dict[str, Any]:
        return {name: self.params[name] for name in WORLD_OPTIONS}


def shell_words(words: list[str]) -> list[str]:
    """The words of `sh -c SCRIPT` (SCRIPT split as the shell would, for simple scripts), or the
    words themselves for an exec-form command."""
    if words[:2] == ["sh", "-c"]:
        (script,) = words[2:]
        return shlex.split(script)
    return words


def program_words(words: list[str], program: str) -> list[str]:
    """The `program ...` invocation inside `words`, up to the next shell operator."""
    words = shell_words(words)
    start = words.index(program)
    operators = {"&&", "||", ";", "|", "}", ">"}
    end = next((i for i in range(start, len(words)) if words[i] in operators), len(words))
    return words[start:end]


def parse_generator(words: list[str]) -> GeneratorCall:
    """Parse the `shopee-generator` call in `words` with the generator's own command line; a
    UsageError (unknown option, bad value) fails the test."""
    name, *options = program_words(words, "shopee-generator")[1:]
    commands = typer.main.get_group(generator_app).commands
    assert name in commands, f"shopee-generator has no command {name!r}"
    context = commands[name].make_context(f"shopee-generator {name}", options)
    return GeneratorCall(name, dict(context.params))


def parse_shopee_db(words: list[str]) -> argparse.Namespace:
    """Parse the `shopee-db` call in `words` with shopee-db's own argument parser."""
    arguments = program_words(words, "shopee-db")[1:]
    return build_parser().parse_args(arguments)
