"""Deterministic demo data for the Shopee analytics platform.

from shopee_generator import GeneratorConfig, generate_history, build_labels
"""

from shopee_generator.labels import Labels, build_labels
from shopee_generator.world import GeneratorConfig, World, build_world, generate_history, iter_world

__all__ = [
    "GeneratorConfig",
    "Labels",
    "World",
    "build_labels",
    "build_world",
    "generate_history",
    "iter_world",
]
